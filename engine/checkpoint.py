"""Checkpoints: atomic .npz files with a model's spec, input shape, metadata and parameters."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from engine.files import NotARegularFile, open_regular, remove_stale_temp_files
from engine.limits import (
    MAX_TEXT_BYTES,
    LimitError,
    check_input_shape,
    check_model_shapes,
    check_spec,
)
from engine.model import from_spec, named_parameters
from engine.module import Module
from engine.npz import Archive, ArchiveError
from engine.npz import write as write_npz

FORMAT = "cnn-tui-checkpoint"
VERSION = 1
_ZIP_MAGIC = b"PK\x03\x04"


class CheckpointError(ValueError):
    """A checkpoint could not be saved or loaded; the message names the file and the problem."""


def _shape_tuple(model: Module, input_shape, path) -> tuple[int, ...]:
    try:
        model.output_shape(tuple(input_shape))
        return tuple(int(d) for d in input_shape)
    except (TypeError, ValueError) as e:
        raise CheckpointError(
            f"{path}: input shape {input_shape!r} does not fit the model: {e}"
        ) from e


def _umask() -> int:
    """The process umask (reading it means setting it; put it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def save(path, model: Module, input_shape, meta=None) -> Path:
    """Write model + input_shape + meta to path atomically (temp file in the same dir, replace)."""
    path = Path(path)
    shape = _shape_tuple(model, input_shape, path)
    try:
        spec_json = json.dumps(model.spec(), allow_nan=False)
        meta_json = json.dumps({} if meta is None else meta, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot save: spec or meta is not JSON-able ({e})") from e
    named = named_parameters(model)
    for name, p in named:
        if not np.all(np.isfinite(p.value)):
            raise CheckpointError(f"{path}: cannot save: parameter {name} contains NaN or inf")
    arrays = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "spec": np.array(spec_json),
        "input_shape": np.array(shape, dtype=np.int64),
        "meta": np.array(meta_json),
        "names": np.array(json.dumps([name for name, _ in named])),
    }
    arrays.update({f"p{i}": p.value for i, (_, p) in enumerate(named)})
    remove_stale_temp_files(path)
    tmp = None
    try:
        # The writer's pid in the name lets a later save tell a crashed writer's file (removed)
        # from one still being written (kept).
        prefix = f".{path.name}.{os.getpid()}."
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            write_npz(f, arrays)  # fixed timestamps: the same model gives the same bytes
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a saved file is an ordinary file
        os.replace(tmp, path)
    except BaseException as e:  # KeyboardInterrupt too: never leave the temp file behind
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if not isinstance(e, Exception):
            raise
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        kept = "the old file is unchanged" if os.path.exists(path) else "nothing was written"
        raise CheckpointError(f"{path}: could not save ({reason}); {kept}") from e
    return path


def save_or_rescue(path, model: Module, input_shape, meta=None, rescue_dirs=None):
    """(written path, None) after save(path, ...); if that fails, (a new rescue file in the
    current or temp directory, the CheckpointError): a trained model is never just lost.
    CheckpointError when no directory takes it, or the model itself cannot be saved."""
    try:
        return save(path, model, input_shape, meta), None
    except CheckpointError as e:
        failure = e
        if not isinstance(e.__cause__, OSError):
            raise  # the model or meta is at fault: no other place would help
    path = Path(path)
    folders = rescue_dirs if rescue_dirs is not None else (Path.cwd(), tempfile.gettempdir())
    for folder in folders:
        rescue = None
        try:  # a fresh name: never overwrite a file the user has
            fd, rescue = tempfile.mkstemp(prefix=f"{path.stem}.rescued-", suffix=".npz", dir=folder)
            os.close(fd)
            return save(rescue, model, input_shape, meta), failure
        except (OSError, CheckpointError):
            if rescue is not None and os.path.exists(rescue):
                os.unlink(rescue)
    raise CheckpointError(f"{failure}; no rescue directory could take the model either")


_TEXT = ("format", "spec", "meta", "names")
_REQUIRED = ("format", "version", "spec", "input_shape", "meta")


def _member_allowed(name: str) -> bool:
    return name in _REQUIRED or name == "names" or (name[:1] == "p" and name[1:].isdigit())


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _json(path, data: dict, key: str):
    """A JSON member decoded; CheckpointError for bad JSON, NaN/Infinity or deep nesting."""
    try:
        return json.loads(str(data[key]), parse_constant=_no_constant)
    except RecursionError:
        raise CheckpointError(f"{path}: {key} JSON is nested too deeply") from None
    except ValueError as e:
        raise CheckpointError(f"{path}: corrupt {key} JSON ({e})") from None


def _read(path) -> dict:
    """Every field of a checkpoint file, checked for format and size; CheckpointError otherwise.

    Only regular files are opened; the archive's directory and each member's .npy header are
    checked against engine.limits before a byte is inflated or an array allocated.
    """
    path = Path(path)
    try:
        f = open_regular(path, "checkpoint file")
    except NotARegularFile as e:
        raise CheckpointError(str(e)) from None
    with f:
        try:
            head = f.read(4)
            f.seek(0)
        except OSError as e:
            raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from None
        if not head:
            raise CheckpointError(f"{path}: empty file, not a checkpoint")
        if head != _ZIP_MAGIC:
            raise CheckpointError(f"{path}: not a checkpoint (not an .npz archive)")
        try:
            archive = Archive(f)
            missing = [k for k in _REQUIRED if k not in archive.infos]
            if missing:
                raise CheckpointError(f"{path}: not a cnn-tui checkpoint (missing {missing})")
            extra = [k for k in archive.infos if not _member_allowed(k)]
            if extra:
                raise CheckpointError(f"{path}: unexpected member {extra[0] + '.npy'!r}")
            data = {k: archive.read(k, MAX_TEXT_BYTES) for k in _TEXT if k in archive.infos}
            data["version"] = archive.read("version", 1024)
            data["input_shape"] = archive.read("input_shape", 4096)
            _check_header(path, data)
            spec = _json(path, data, "spec")
            check_spec(spec)  # sizes in the spec, before any layer exists
            shape = _input_shape(path, data["input_shape"])
            n = sum(1 for k in archive.infos if k.startswith("p"))
            for i in range(n):
                if f"p{i}" not in archive.infos:
                    raise CheckpointError(f"{path}: parameter p{i} is missing")
            params = [archive.read(f"p{i}") for i in range(n)]
        except (ArchiveError, LimitError) as e:
            raise CheckpointError(f"{path}: {e}") from None
    return {
        "spec": spec,
        "meta": _json(path, data, "meta"),
        "names": _json(path, data, "names") if "names" in data else None,
        "params": params,
        "input_shape": shape,
    }


def _check_header(path, data: dict) -> None:
    fmt = data["format"]
    if fmt.shape != () or fmt.dtype.kind != "U" or str(fmt) != FORMAT:
        raise CheckpointError(f"{path}: not a cnn-tui checkpoint (format {str(fmt)[:40]!r})")
    version = data["version"]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != VERSION:
        raise CheckpointError(f"{path}: format version {version!r} is not {VERSION}")
    for key in _TEXT:
        if key in data and (data[key].shape != () or data[key].dtype.kind != "U"):
            raise CheckpointError(f"{path}: {key} is {data[key].dtype} {data[key].shape}, not text")


def _input_shape(path, shape: np.ndarray) -> tuple[int, ...]:
    if shape.ndim != 1 or shape.dtype.kind not in "iu" or len(shape) not in (1, 3):
        raise CheckpointError(f"{path}: corrupt input_shape {shape!r}")
    return check_input_shape(tuple(int(d) for d in shape))


def _check_params(path, model: Module, data: dict) -> None:
    """Every stored array matches the model's parameter in count, shape, and is finite float."""
    named, stored = named_parameters(model), data["params"]
    if len(named) != len(stored):
        raise CheckpointError(
            f"{path}: the file holds {len(stored)} parameters, the model has {len(named)}"
        )
    for (name, p), arr in zip(named, stored, strict=True):
        if arr.shape != p.value.shape:
            raise CheckpointError(
                f"{path}: parameter {name} has shape {arr.shape} in the file, the model "
                f"expects {p.value.shape}"
            )
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)):
            raise CheckpointError(f"{path}: parameter {name} is not finite floating point")


def _spec_diff(a, b, where: str = "model") -> str | None:
    """The first place where the file's spec a differs from the model's spec b."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=lambda k: (k != "type", str(k))):  # type first
            if k not in a or k not in b:
                x, y = a.get(k, "<missing>"), b.get(k, "<missing>")
                return f"{where}.{k}: {_short(x)} in the file, {_short(y)} in the model"
            found = _spec_diff(a[k], b[k], f"{where}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):  # the first differing layer
            found = _spec_diff(x, y, f"{where}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            return f"{where}: {len(a)} layers in the file, {len(b)} in the model"
        return None
    return None if a == b else f"{where}: {_short(a)} in the file, {_short(b)} in the model"


def _short(value, width: int = 60) -> str:
    """repr(value), cut to width characters: a whole spec would bury the message."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def load(path) -> tuple[Module, tuple[int, ...], object]:
    """(model, input_shape, meta) rebuilt from a checkpoint; CheckpointError if anything is off."""
    data = _read(path)
    try:
        model = from_spec(data["spec"], rng=np.random.default_rng(0))  # weights replaced below
    except (ValueError, TypeError, RecursionError) as e:
        raise CheckpointError(f"{path}: invalid model spec ({e})") from None
    shape = _shape_tuple(model, data["input_shape"], path)
    try:
        check_model_shapes(model, shape)  # what predict would allocate, per layer
    except LimitError as e:
        raise CheckpointError(f"{path}: {e}") from None
    _check_params(path, model, data)
    for p, arr in zip(model.parameters(), data["params"], strict=True):
        p.value = np.ascontiguousarray(arr)
        p.grad = np.zeros_like(p.value)
    return model, shape, data["meta"]


def load_into(model: Module, path) -> tuple[tuple[int, ...], object]:
    """Copy a checkpoint's parameters into model (same spec); all checks run before any write."""
    data = _read(path)
    mine = json.loads(json.dumps(model.spec()))  # tuples -> lists, as stored
    diff = _spec_diff(data["spec"], mine)
    if diff:
        raise CheckpointError(f"{path}: the file's model does not match this model: {diff}")
    shape = _shape_tuple(model, data["input_shape"], path)
    _check_params(path, model, data)
    for p, arr in zip(model.parameters(), data["params"], strict=True):
        np.copyto(p.value, arr, casting="same_kind")  # in place, in the model's dtype
        p.zero_grad()  # gradients of the old weights mean nothing for the new ones
    return shape, data["meta"]
