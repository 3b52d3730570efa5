"""Two models' ``geomon evaluate --footprint`` outputs on the same seeds, mine by mine.

Reads the per-mine rows (``mine@seed  AOI ha  new ha  truth ha  error%  ...``) of two saved
outputs and prints, for the runs both hold: each model's mean and median per-mine |error|, its
count within 5 %, the runs within 5 % with one model only, and the exact one-sided McNemar p of
the second model being better on that count by chance (and the first); then the runs where the two
differ most. Errors are recomputed from the hectare columns (2 decimals), not the rounded
error column. The rule in ``docs/model-choice.md`` (stop 37) reads its points 4 and 5 from it.

    python -m bench.paired_mines FIRST.txt SECOND.txt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import binomtest

from geomon.report.model_card import MINE_ROW


def per_mine_errors(text: str) -> dict[str, float]:
    """``{mine@seed: (new - truth) / truth}`` from an evaluate output's per-mine rows (runs
    without truly new area left out)."""
    out: dict[str, float] = {}
    for run, _aoi, new, truth, _rounded in MINE_ROW.findall(text):
        if float(truth) > 0:
            out[run] = (float(new) - float(truth)) / float(truth)
    return out


def one_sided_mcnemar(better: int, worse: int) -> float:
    """Exact p of at least ``better`` of the ``better + worse`` discordant runs falling one way
    when each falls either way with even odds (1.0 when none is discordant)."""
    n = better + worse
    return float(binomtest(better, n, 0.5, alternative="greater").pvalue) if n else 1.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args(argv)
    a = per_mine_errors(args.first.read_text())
    b = per_mine_errors(args.second.read_text())
    runs = sorted(a.keys() & b.keys())
    if not runs:
        raise SystemExit("no mine@seed rows the two outputs share: give two `geomon evaluate "
                         "--footprint` outputs of the same seeds")  # fmt: skip
    ea = np.array([abs(a[r]) for r in runs])
    eb = np.array([abs(b[r]) for r in runs])
    for name, e in ((args.first.name, ea), (args.second.name, eb)):
        print(f"{name:40s} mean |error| {100 * e.mean():5.2f} %  median {100 * np.median(e):5.2f} %"
              f"  within 5 %: {int((e <= 0.05).sum())} of {len(runs)}")  # fmt: skip
    only_a = int(((ea <= 0.05) & (eb > 0.05)).sum())
    only_b = int(((eb <= 0.05) & (ea > 0.05)).sum())
    print(f"within 5 % with {args.first.name} only: {only_a}; with {args.second.name} only: "
          f"{only_b}")  # fmt: skip
    print(f"exact one-sided McNemar p, {args.first.name} better: {one_sided_mcnemar(only_a, only_b):.3f}; "
          f"{args.second.name} better: {one_sided_mcnemar(only_b, only_a):.3f}")  # fmt: skip
    print(f"mean |error| {args.second.name} minus {args.first.name}: "
          f"{100 * (eb.mean() - ea.mean()):+.2f} points")  # fmt: skip
    print("largest differences in |error| (first, second):")
    for r in sorted(runs, key=lambda r: -abs(abs(b[r]) - abs(a[r])))[:8]:
        print(f"  {r:28s}{100 * a[r]:+7.1f} %{100 * b[r]:+7.1f} %")


if __name__ == "__main__":
    main()
