"""Hashes of the footprint chain's outputs on the benchmark input, to compare two checkouts.

For each AOI case of ``bench.bench_footprint --reference --scene realistic`` (or the flat
scenes), the fused chain's class rasters (every variable's bytes, dtype and shape) and the
footprint frame (per row: geometry WKB, every attribute, in order) are hashed; run it in two
worktrees (``PYTHONPATH=. .venv/bin/python -m bench.footprint_hashes``) and compare the lines.

Run: ``python -m bench.footprint_hashes [--model FILE] [--scene realistic|flat] [--default]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
from pathlib import Path

import dask
import numpy as np
import shapely

from bench import bench_footprint as bf
from bench.imagery import CASES, THREADS, _aoi, catalog
from geomon.classify import classify, load_model
from geomon.imagery import Query, StaticCatalogSource


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    """Print one hash line per case and output."""
    parser = argparse.ArgumentParser(prog="python -m bench.footprint_hashes")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--scene", choices=("flat", "realistic"), default="realistic")
    parser.add_argument(
        "--default",
        action="store_true",
        help="the benchmark's default input (24 scenes of 2048 px over 59 days: two monthly "
        "periods, the full-band model) instead of the reference one",
    )
    a = parser.parse_args(argv)
    items, size, span, end = (24, 2048, 59, 28) if a.default else (4, 4096, 28, 31)
    source = StaticCatalogSource(catalog(items, size, span, a.scene))
    reduced = not a.default
    model = load_model(a.model) if a.model else bf._model(source, None, reduced)
    print(f"model {model.model_id}")
    for case in CASES:
        query = Query(_aoi(source, case), dt.date(2023, 1, 1), dt.date(2023, 1 + a.default, end))
        with dask.config.set(scheduler="threads", num_workers=THREADS):
            lazy = bf._composite(query, source, 1024, model)
            aoi = query.aoi.projected(str(lazy.attrs["crs"]))
            classes = classify(lazy, model).compute()
        for name in sorted(str(k) for k in classes.data_vars):
            v = np.ascontiguousarray(classes[name].values)
            print(f"{case} classes.{name} {v.dtype} {v.shape} {_digest(v.tobytes())}")
        fp = bf._trace(classes, aoi)
        wkb = shapely.to_wkb(np.asarray(fp.geometry.values), hex=False)
        rows = [str(list(fp.columns)).encode()]
        for i in range(len(fp)):
            attrs = fp.drop(columns="geometry").iloc[i].tolist()
            rows.append(repr(attrs).encode() + wkb[i])
        print(f"{case} footprint rows {len(fp)} {_digest(*rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
