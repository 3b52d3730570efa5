"""Safe model files: a zip of one JSON header and float32 ``.npy`` arrays, nothing executable.

A model file a user hands to geomon must not be able to run code when loaded, so geomon never
unpickles. The loader accepts exactly the entries the header announces, reads every array with
``allow_pickle=False`` and insists on little-endian float32, caps every entry's size, and checks
that the parts fit together (:class:`~geomon.classify.model.PixelModel`). Anything else — a pickle,
a skops or joblib file, an object array, an unknown entry — raises :class:`ModelError`.

Writing is deterministic (fixed entry order and timestamps), so the same model gives the same
bytes and the same SHA-256, which the model card records.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from geomon.classify._quant import EightBit
from geomon.classify.features import ContextFeature, FeatureSet
from geomon.classify.model import PixelModel, Refinement, Route
from geomon.errors import GeomonError, ModelError

__all__ = [
    "FORMAT",
    "FORMAT_CONTEXT",
    "FORMAT_INT8",
    "FORMAT_ROUTE",
    "FORMAT_STAGES",
    "FORMAT_TEMPORAL",
    "file_format",
    "file_sha256",
    "format_of",
    "load_model",
    "save_model",
]

#: format tag of per-pixel models (version 1; files without spatial context keep it)
FORMAT = "geomon-pixel-model/1"
#: format tag of models with spatial context (header field ``context``); older geomon refuses them
FORMAT_CONTEXT = "geomon-pixel-model/2"
#: format tag of models reading temporal statistics of the period (header field ``temporal``,
#: with or without ``context``); older geomon refuses them
FORMAT_TEMPORAL = "geomon-pixel-model/3"
#: format tag of two-stage models (header field ``refine``, arrays under ``arrays/refine/``);
#: older geomon refuses them rather than run the first stage alone
FORMAT_STAGES = "geomon-pixel-model/4"
#: format tag of models with a stage that runs its hidden layers in 8 bits from calibrated
#: tables (header field ``int8`` of the model or of ``refine``, arrays under ``arrays/int8/`` or
#: ``arrays/refine/int8/``), with or without a second stage, context or temporal statistics;
#: older geomon refuses them rather than run them in 16 bits
FORMAT_INT8 = "geomon-pixel-model/5"
#: format tag of models that route some pixels to another model (header field ``route``: the
#: rule and the other model's header without features and labels, arrays under
#: ``arrays/route/``; since stop 30); older geomon refuses them rather than run one model alone
FORMAT_ROUTE = "geomon-pixel-model/6"
_FORMATS = (FORMAT, FORMAT_CONTEXT, FORMAT_TEMPORAL, FORMAT_STAGES, FORMAT_INT8, FORMAT_ROUTE)
#: the fields of a route's header
_ROUTE_KEYS = {"minuend", "subtrahend", "margin", "model"}
#: the fields of a routed model's header (its features and labels are the routing model's)
_ROUTED_KEYS = {"model_id", "n_layers", "info"}
_ROUTED_OPTIONAL = {"int8", "refine"}
#: the fields of a second stage's header: its features and labels are the first stage's
_REFINE_KEYS = {"model_id", "accept", "min_probability", "n_layers", "info"}
#: optional in ``refine`` (since stop 20): accepted classes' own minimum probabilities
_REFINE_OPTIONAL = {"class_min_probability", "int8"}
_HEADER = "model.json"
_MAX_HEADER_BYTES = 1 << 20
_MAX_ARRAY_BYTES = 64 << 20
#: all arrays of a file together (the shipped models hold under 0.1 MiB): a crafted two-stage
#: file of 72 entries at the per-entry cap would otherwise have 4.5 GiB read before any check
_MAX_TOTAL_BYTES = 256 << 20
_MAX_LAYERS = 16
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_VECTORS = ("lower", "upper", "mean", "scale")


def _array_names(n_layers: int, stage: str = "") -> list[str]:
    layers = [f"{kind}{i}" for i in range(n_layers) for kind in ("w", "b")]
    return [f"arrays/{stage}{name}.npy" for name in (*_VECTORS, *layers)]


def _int8_names(n_layers: int, stage: str = "") -> list[str]:
    layers = [f"{kind}{i}" for i in range(n_layers) for kind in ("w", "d", "c")]
    inputs = [f"s{i}" for i in range(1, n_layers)]
    return [f"arrays/{stage}int8/{name}.npy" for name in (*layers, *inputs)]


def _all_array_names(header: dict[str, Any], stage: str = "") -> list[str]:
    """The array entries of a model's header, in :meth:`PixelModel.arrays` order."""
    names = _array_names(header["n_layers"], stage)
    if "int8" in header:
        names += _int8_names(header["int8"]["n_layers"], stage)
    if "refine" in header:
        names += _array_names(header["refine"]["n_layers"], f"{stage}refine/")
        if "int8" in header["refine"]:
            names += _int8_names(header["refine"]["int8"]["n_layers"], f"{stage}refine/")
    if "route" in header and not stage:
        names += _all_array_names(header["route"]["model"], "route/")
    return names


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ascontiguousarray(arr, dtype="<f4"), allow_pickle=False)
    return buf.getvalue()


def save_model(model: PixelModel, path: str | Path) -> str:
    """Write ``model`` to ``path`` atomically; return the file's SHA-256."""
    path = Path(path)
    header = {"format": file_format(model), **model.header()}
    entries = [(_HEADER, json.dumps(header, sort_keys=True, indent=1).encode())]
    entries += list(zip(_all_array_names(header), map(_npy_bytes, model.arrays()), strict=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w") as zf:
            for name, data in entries:
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data, compresslevel=9)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return file_sha256(path)


def file_format(model: PixelModel) -> str:
    """The format tag :func:`save_model` writes for ``model``."""
    if model.route is not None:
        return FORMAT_ROUTE
    if any(stage.eight_bit is not None for stage in model.stages):
        return FORMAT_INT8
    return FORMAT_STAGES if model.refine else format_of(model.features)


def format_of(features: FeatureSet) -> str:
    """The oldest format that holds ``features`` (older geomon still reads older models)."""
    if features.temporal:
        return FORMAT_TEMPORAL
    return FORMAT_CONTEXT if features.context else FORMAT


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_model(path: str | Path, *, sha256: str | None = None) -> PixelModel:
    """Load a model file safely; with ``sha256``, also refuse a file whose hash differs."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {path} not found; pass a path from models/ or train one")
    if sha256 is not None and file_sha256(path) != sha256.lower():
        raise ModelError(f"model file {path} does not match its expected SHA-256; re-download it")
    if not zipfile.is_zipfile(path):
        raise ModelError(
            f"{path} is not a geomon model file (zip with {_HEADER}); geomon never loads pickle, "
            "joblib or skops files: retrain with 'geomon train'"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            return _read_zip(zf, path)
    except GeomonError:
        raise
    except (
        zipfile.BadZipFile, ValueError, KeyError, TypeError, OSError, EOFError, OverflowError,
        RecursionError,  # a header nested past the JSON parser's depth
    ) as exc:  # fmt: skip
        raise ModelError(f"{path} is not a valid geomon model file ({exc}); retrain it") from exc


def _read_zip(zf: zipfile.ZipFile, path: Path) -> PixelModel:
    header = _read_header(zf, path)
    expected = {_HEADER, *_all_array_names(header)}
    names = set(zf.namelist())
    if names != expected:
        extra = sorted(names - expected) or sorted(expected - names)
        raise ModelError(
            f"{path} has unexpected or missing entry {extra[0]!r}; refusing to load it"
        )
    entries = sorted(expected - {_HEADER})
    if sum(zf.getinfo(name).file_size for name in entries) > _MAX_TOTAL_BYTES:
        raise ModelError(
            f"{path}: its arrays are larger than {_MAX_TOTAL_BYTES >> 20} MiB together; "
            "refusing to load it"
        )
    arrays = {name: _read_array(zf, name, path) for name in entries}
    try:
        return _build(header, arrays)
    except ModelError as exc:
        raise ModelError(f"{path}: {exc}") from None


def _read_header(zf: zipfile.ZipFile, path: Path) -> dict[str, Any]:
    try:
        info = zf.getinfo(_HEADER)
    except KeyError:
        raise ModelError(f"{path} has no {_HEADER}; it is not a geomon model file") from None
    if info.file_size > _MAX_HEADER_BYTES:
        raise ModelError(f"{path}: {_HEADER} is larger than 1 MiB; refusing to load it")
    header = json.loads(zf.read(info).decode("utf-8"), object_pairs_hook=_unique_keys)
    if not isinstance(header, dict) or header.get("format") not in _FORMATS:
        raise ModelError(
            f"{path} is not in format {' or '.join(_FORMATS)}; retrain it with this geomon version"
        )
    fmt = header.get("format")
    if fmt == FORMAT_CONTEXT and not header.get("context"):
        raise ModelError(f"{path}: format {FORMAT_CONTEXT} needs spatial context; retrain it")
    if fmt == FORMAT and header.get("context"):
        raise ModelError(f"{path}: only formats {FORMAT_CONTEXT}+ have spatial context; retrain it")
    free = fmt in (FORMAT_STAGES, FORMAT_INT8, FORMAT_ROUTE)  # may hold any features
    if (fmt == FORMAT_ROUTE) != ("route" in header):
        raise ModelError(
            f"{path}: format {FORMAT_ROUTE}, and only it, routes pixels to another model "
            "(header field 'route'); rebuild it with 'geomon route'"
        )
    routed = header.get("route")
    if routed is not None:
        _check_route(routed, path)
    if not free and (fmt == FORMAT_TEMPORAL) != bool(header.get("temporal")):
        raise ModelError(
            f"{path}: only format {FORMAT_TEMPORAL} has temporal statistics; retrain it"
        )
    if fmt == FORMAT_STAGES and "refine" not in header:
        raise ModelError(
            f"{path}: format {FORMAT_STAGES} needs a second stage (header field 'refine'); "
            "rebuild it with 'geomon cascade'"
        )
    if not free and "refine" in header:
        raise ModelError(f"{path}: only format {FORMAT_STAGES}+ has a second stage; retrain it")
    _check_layer_count(header.get("n_layers"), path)
    models = [header, *([routed["model"]] if routed is not None else [])]
    stages = []
    for model in models:
        if "refine" in model:
            _check_refine(model["refine"], path)
        stages += [model, *([model["refine"]] if "refine" in model else [])]
    tables = [stage["int8"] for stage in stages if "int8" in stage]
    if fmt != FORMAT_ROUTE and (fmt == FORMAT_INT8) != bool(tables):
        raise ModelError(
            f"{path}: format {FORMAT_INT8}, and only it, has 8-bit tables (header field 'int8'); "
            "rebuild it with 'geomon quantize'"
        )
    for int8 in tables:
        if not (isinstance(int8, dict) and set(int8) == {"n_layers", "info"}
                and isinstance(int8["info"], dict)):  # fmt: skip
            raise ModelError(
                f"{path}: header field 'int8' needs n_layers and info, and nothing else; "
                "rebuild it with 'geomon quantize'"
            )
        _check_layer_count(int8["n_layers"], path)
    for key in ("bands", "indices", "labels", "label_classes", "label_covers", "temporal"):
        value = header.get(key, [] if key == "temporal" else None)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ModelError(f"{path}: header field {key!r} must be a list of strings; retrain it")
    if not isinstance(header.get("model_id"), str) or not isinstance(header.get("info"), dict):
        raise ModelError(f"{path}: header needs a string model_id and an info object; retrain it")
    context = header.get("context", [])
    if not isinstance(context, list) or not all(_is_context_entry(c) for c in context):
        raise ModelError(
            f"{path}: header field 'context' must be a list of [feature, window, stat]; retrain it"
        )
    return header


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object's members, refusing a key given twice (``json`` keeps the last silently:
    a header could show one threshold and route by another)."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise ModelError(f"the header names {key!r} twice; rebuild the file")
        seen.add(key)
    return dict(pairs)


def _check_layer_count(n_layers: object, path: Path) -> None:
    if not isinstance(n_layers, int) or not 1 <= n_layers <= _MAX_LAYERS:
        raise ModelError(f"{path}: n_layers must be an integer 1..{_MAX_LAYERS}; retrain it")


def _check_refine(refine: object, path: Path) -> None:
    ok = (
        isinstance(refine, dict)
        and _REFINE_KEYS <= set(refine) <= _REFINE_KEYS | _REFINE_OPTIONAL
        and isinstance(refine.get("model_id"), str)
        and isinstance(refine.get("info"), dict)
        and isinstance(refine.get("accept"), list)
        and all(isinstance(c, str) for c in refine["accept"])
        and type(refine.get("min_probability")) in (int, float)
        and isinstance(own := refine.get("class_min_probability", {}), dict)
        and all(isinstance(c, str) and type(p) in (int, float) for c, p in own.items())
    )
    if not ok:
        raise ModelError(
            f"{path}: header field 'refine' needs model_id, accept, min_probability, n_layers "
            "and info (and may have class_min_probability and int8), and nothing else; rebuild it with "
            "'geomon cascade'"
        )
    assert isinstance(refine, dict)
    _check_layer_count(refine.get("n_layers"), path)


def _check_route(route: object, path: Path) -> None:
    model = route.get("model") if isinstance(route, dict) else None
    ok = (
        isinstance(route, dict)
        and set(route) == _ROUTE_KEYS
        and isinstance(route["minuend"], str)
        and isinstance(route["subtrahend"], str)
        and type(route["margin"]) in (int, float)
        and isinstance(model, dict)
        and _ROUTED_KEYS <= set(model) <= _ROUTED_KEYS | _ROUTED_OPTIONAL
        and isinstance(model.get("model_id"), str)
        and isinstance(model.get("info"), dict)
    )
    if not ok:
        raise ModelError(
            f"{path}: header field 'route' needs minuend, subtrahend, margin and model (with "
            "model_id, n_layers and info, and maybe int8 and refine), and nothing else; "
            "rebuild it with 'geomon route'"
        )
    assert isinstance(model, dict)
    _check_layer_count(model.get("n_layers"), path)


def _is_context_entry(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 3
        and isinstance(entry[0], str)
        and type(entry[1]) is int
        and isinstance(entry[2], str)
    )


def _read_array(zf: zipfile.ZipFile, name: str, path: Path) -> np.ndarray:
    info = zf.getinfo(name)
    if info.file_size > _MAX_ARRAY_BYTES:
        raise ModelError(f"{path}: entry {name} is larger than 64 MiB; refusing to load it")
    with zf.open(info) as fh:
        data = io.BytesIO(fh.read(_MAX_ARRAY_BYTES + 1))
    try:
        arr = np.lib.format.read_array(data, allow_pickle=False)
    except ValueError as exc:
        raise ModelError(f"{path}: entry {name} is not a plain numeric array ({exc})") from exc
    if arr.dtype != np.dtype("<f4"):
        raise ModelError(f"{path}: entry {name} has dtype {arr.dtype}, expected float32")
    return arr


def _build(header: dict[str, Any], arrays: dict[str, np.ndarray], stage: str = "") -> PixelModel:
    def get(name: str) -> np.ndarray:
        return arrays[f"arrays/{stage}{name}.npy"].astype(np.float32, copy=False)

    refine = header.get("refine") if not stage.endswith("refine/") else None
    shared = {k: v for k, v in header.items() if k not in ("int8", "refine", "route")}
    second = None
    if refine is not None:  # the first stage's features and labels; the second's own numbers
        own = {k: refine[k] for k in ("model_id", "n_layers", "info", "int8") if k in refine}
        second = Refinement(
            _build({**shared, **own}, arrays, f"{stage}refine/"),
            tuple(refine["accept"]),
            float(refine["min_probability"]),
            refine.get("class_min_probability", {}),
        )
    n = header["n_layers"]
    eight_bit = None
    if "int8" in header:
        n8 = header["int8"]["n_layers"]
        eight_bit = EightBit(
            tuple(get(f"int8/w{i}") for i in range(n8)),
            tuple(get(f"int8/d{i}") for i in range(n8)),
            tuple(get(f"int8/s{i}") for i in range(1, n8)),
            tuple(get(f"int8/c{i}") for i in range(n8)),
            header["int8"]["info"],
        )
    return PixelModel(
        model_id=header["model_id"],
        features=FeatureSet(
            tuple(header["bands"]),
            tuple(header["indices"]),
            tuple(ContextFeature(s, n, stat) for s, n, stat in header.get("context", [])),
            tuple(header.get("temporal", [])),
        ),
        labels=tuple(header["labels"]),
        label_classes=tuple(header["label_classes"]),
        label_covers=tuple(header["label_covers"]),
        lower=get("lower"),
        upper=get("upper"),
        mean=get("mean"),
        scale=get("scale"),
        weights=tuple(get(f"w{i}") for i in range(n)),
        biases=tuple(get(f"b{i}") for i in range(n)),
        info=header["info"],
        refine=second,
        eight_bit=eight_bit,
        route=_build_route(header.get("route") if not stage else None, shared, arrays),
    )


def _build_route(
    route: dict[str, Any] | None, shared: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Route | None:
    """The routed model of a header's ``route`` field (its features and labels: ``shared``)."""
    if route is None:
        return None
    other = _build({**shared, **route["model"]}, arrays, "route/")
    return Route(other, route["minuend"], route["subtrahend"], float(route["margin"]))
