"""Write composites as Cloud-Optimized GeoTIFFs, one period at a time, atomically."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import xarray as xr

from geomon.errors import ConfigError
from geomon.imagery._bands import BANDS

__all__ = ["write_composites"]

_MANIFEST = "composites.json"


def _write_cog(path: Path, data: np.ndarray, ds: xr.Dataset, names: list[str], nodata: Any) -> None:
    geobox = ds.odc.geobox
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tif")
    profile = {
        "driver": "COG",
        "width": data.shape[-1],
        "height": data.shape[-2],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": str(geobox.crs),
        "transform": geobox.affine,
        "nodata": nodata,
        "compress": "DEFLATE",
        "blocksize": 512,
    }
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(data)
            dst.descriptions = tuple(names)
            dst.update_tags(**_tags(ds))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _tags(ds: xr.Dataset) -> dict[str, str]:
    keep = ("aoi", "source", "sensor", "crs", "resolution", "mask", "period")
    tags = {f"geomon_{k}": str(ds.attrs[k]) for k in keep if k in ds.attrs}
    if "item_ids" in ds.coords:
        tags["geomon_item_ids"] = str(ds["item_ids"].values)
    return tags


def _period(step: xr.Dataset, folder: Path, prefix: str) -> dict[str, Any]:
    label = str(step["period"].values)
    bands = [b for b in BANDS if b in step]
    data = np.stack([step[b].values for b in bands]).astype(np.float32)
    image, count = folder / f"{prefix}_{label}.tif", folder / f"{prefix}_{label}_clear_count.tif"
    _write_cog(image, data, step, bands, float("nan"))
    _write_cog(count, step["clear_count"].values[None].astype(np.int16), step, ["clear_count"], -1)
    return {
        "period": label,
        "low_coverage": bool(step["low_coverage"]),
        "clear_fraction": round(float(step["clear_fraction"]), 4),
        "image": image.name,
        "clear_count": count.name,
        "item_ids": str(step["item_ids"].values).split(",") if "item_ids" in step.coords else [],
    }


def write_composites(comp: xr.Dataset, folder: str | Path, *, progress: bool = False) -> Path:
    """Compute and write each period of ``comp`` (from ``load_composite``) as a COG of its bands
    plus a clear-count COG; returns the ``composites.json`` manifest listing them.

    Everything is written into a temporary sibling folder first and moved into place at the end,
    so an interrupted or failed run (Ctrl-C, a read error) leaves no partial COGs behind: a new
    ``folder`` appears whole by one rename; into an existing ``folder`` the files are moved one
    by one (each move atomic) with ``composites.json`` last. The temporary folder is removed on
    failure."""
    out = Path(folder)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; pass a folder for the composites")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()  # not mkdtemp: the folder keeps the umask's permissions once renamed
    try:
        _write_all(comp, tmp, progress)
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out / _MANIFEST


def _write_all(comp: xr.Dataset, out: Path, progress: bool) -> None:
    from tqdm import tqdm

    prefix = str(comp.attrs.get("aoi", "aoi"))
    keep = [v for v in (*BANDS, "clear_count", "low_coverage", "clear_fraction") if v in comp]
    periods = []
    steps = tqdm(range(comp.sizes["time"]), desc="composites", unit="period", disable=not progress)
    for i in steps:
        step = comp[keep].isel(time=i).compute()
        step.attrs = comp.attrs
        periods.append(_period(step, out, prefix))
    attrs = {
        k: v if isinstance(v, str | int | float | list) else str(v) for k, v in comp.attrs.items()
    }
    doc = json.dumps({**attrs, "periods": periods}, indent=2)
    (out / _MANIFEST).write_text(doc, encoding="utf-8")


def _move_into_place(tmp: Path, out: Path) -> None:
    """A new (or empty) ``out`` by one rename; else file by file, the manifest last."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        tmp.rename(out)
        return
    names = sorted(p.name for p in tmp.iterdir() if p.name != _MANIFEST)
    for name in [*names, _MANIFEST]:
        os.replace(tmp / name, out / name)
    tmp.rmdir()
