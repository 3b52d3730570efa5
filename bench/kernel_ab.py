"""Compiled classification kernels of several model files, alternated in one process.

The machine these benchmarks run on is shared: ``bench.bench_footprint`` gave the same model
103 and 142 ns of CPU per pixel an hour apart (stop 20), so figures from separate runs cannot
rank models a few percent apart. Here every model classifies the same realistic blocks
(:func:`bench.landscape.realistic_reflectance`, 1,024 px with the models' halo, one thread,
:func:`~geomon.classify._fused.classify_fused`) in turn, round after round; printed per model:
the fastest and median ns per pixel and the median of its per-round ratio to the last model
(paired rounds share the machine's state). For a two-stage model, the share of the pixels its
first stage sends on. At stop 20 (two blocks, 10-15 rounds each, three runs):
``geomon-shared-reduced-v10`` 1.16-1.21x and v9 1.30-1.35x its first stage alone (v7); their
first stages send 3.6 % and 6.5 % of these blocks' pixels on. At stop 21 (after the second
stage's queue and the layer kernels were reworked): v10 1.16-1.17x. At stop 22 (the queue's send flags
made a span at a time, runs of eight that send nothing skipped): v10 1.14-1.15x, against
1.16-1.18x for the previous code in three runs alternated with it. At stop 24 (v11: v10's stages
in 8 bits): v10 took 1.09x and 1.18x v11's time in two runs. To compare two versions of
the code rather than two models, run this in a ``git worktree`` of each, in turn.

    python -m bench.kernel_ab MODEL.gmodel [MODEL.gmodel ...] [--rounds 15] [--blocks 2]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from bench.landscape import BANDS, realistic_reflectance
from geomon.classify import load_model
from geomon.classify._fused import classify_fused
from geomon.classify.features import single_observation
from geomon.classify.model import PixelModel

SIDE = 1024


def _inputs(model: PixelModel, seed: int) -> np.ndarray:
    """The model's inputs ``(n_inputs, 1, y, x)`` of a realistic block with its halo (a single
    scene: its ``ndvi_max`` and ``ndvi_max_late`` are its NDVI)."""
    n = SIDE + 2 * model.features.halo
    _, cube = realistic_reflectance((n, n), seed=seed)
    values = single_observation({b: cube[i] for i, b in enumerate(BANDS)}, model.features)
    return np.ascontiguousarray(np.stack([values[k] for k in model.features.inputs])[:, None])


def _run(model: PixelModel, inputs: np.ndarray) -> tuple[np.ndarray, ...]:
    halo = model.features.halo
    window = (slice(halo, halo + SIDE), slice(halo, halo + SIDE))
    plan = model.fused_plan
    if plan is None:
        raise SystemExit(f"model {model.model_id} has no row-fused path (no spatial context)")
    out = classify_fused(model._kernel_model, plan, inputs, None, window)
    if out is None:
        raise SystemExit("the generated block has a non-finite input; report this as a bug")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.kernel_ab", description=__doc__)
    parser.add_argument("models", nargs="+", help="model files (the last is the reference)")
    parser.add_argument("--rounds", type=int, default=15, help="rounds per block (default 15)")
    parser.add_argument("--blocks", type=int, default=2, help="generated blocks (default 2)")
    args = parser.parse_args(argv)
    models = [load_model(p) for p in args.models]
    if len({(m.features.inputs, m.features.halo) for m in models}) > 1:
        raise SystemExit("the models must read the same inputs with the same halo")
    times: dict[int, list[float]] = {i: [] for i in range(len(models))}
    sent: dict[int, list[float]] = {i: [] for i in range(len(models))}
    for seed in range(1, args.blocks + 1):
        inputs = _inputs(models[0], seed)
        for i, m in enumerate(models):
            _run(m, inputs)  # compiles, and warms the caches
            if m.refine is not None:  # by the first stage's own answers
                code, prob, _ = _run(replace(m, refine=None), inputs)
                sent[i].append(float((prob < m.refine.thresholds[code]).mean()))
        for _ in range(args.rounds):
            for i, m in enumerate(models):
                t0 = time.perf_counter()
                _run(m, inputs)
                times[i].append((time.perf_counter() - t0) / SIDE**2 * 1e9)
    ref = np.array(times[len(models) - 1])
    print(f"{args.blocks} realistic blocks of {SIDE} px, {args.rounds} rounds each, one thread")
    for i, m in enumerate(models):
        t = np.array(times[i])
        note = f"; first stage sends {100 * np.mean(sent[i]):.1f} %" if sent[i] else ""
        print(
            f"  {m.model_id:34s} fastest {t.min():6.1f}  median {np.median(t):6.1f} ns/px; "
            f"paired ratio to {models[-1].model_id}: {np.median(t / ref):.3f}{note}"
        )


if __name__ == "__main__":
    main()
