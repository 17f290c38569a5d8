"""Checkpoints: atomic .npz files with a model's spec, input shape, metadata and parameters."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from engine.model import from_spec, named_parameters
from engine.module import Module

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
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())  # the data is on disk before the name points at it
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a saved file is an ordinary file
        os.replace(tmp, path)
    except Exception as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise CheckpointError(
            f"{path}: could not save ({reason}); the old file is unchanged"
        ) from e
    return path


def _read(path) -> dict:
    """Every field of a checkpoint file, checked for format; CheckpointError otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file")
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read ({e.strerror or e})") from e
    if not head:
        raise CheckpointError(f"{path}: empty file, not a checkpoint")
    if head != _ZIP_MAGIC:
        raise CheckpointError(f"{path}: not a checkpoint (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}  # reading every member surfaces CRC errors here
    except Exception as e:
        raise CheckpointError(f"{path}: truncated or corrupt archive ({e})") from e
    missing = [k for k in ("format", "version", "spec", "input_shape", "meta") if k not in data]
    if missing or data["format"].shape != () or str(data["format"]) != FORMAT:
        raise CheckpointError(f"{path}: not a cnn-tui checkpoint (missing {missing or 'format'})")
    version = data["version"]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != VERSION:
        raise CheckpointError(f"{path}: format version {version!r} is not {VERSION}")
    try:
        spec = json.loads(str(data["spec"]))
        meta = json.loads(str(data["meta"]))
        names = json.loads(str(data["names"])) if "names" in data else None
    except ValueError as e:
        raise CheckpointError(f"{path}: corrupt spec or meta JSON ({e})") from e
    shape = data["input_shape"]
    if shape.ndim != 1 or shape.dtype.kind not in "iu":
        raise CheckpointError(f"{path}: corrupt input_shape {shape!r}")
    n = sum(1 for k in data if k.startswith("p") and k[1:].isdigit())
    params = []
    for i in range(n):
        if f"p{i}" not in data:
            raise CheckpointError(f"{path}: parameter p{i} is missing")
        params.append(data[f"p{i}"])
    return {
        "spec": spec,
        "meta": meta,
        "names": names,
        "params": params,
        "input_shape": tuple(int(d) for d in shape),
    }


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
                return f"{where}.{k}: {x!r} in the file, {y!r} in the model"
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
    return None if a == b else f"{where}: {a!r} in the file, {b!r} in the model"


def load(path) -> tuple[Module, tuple[int, ...], object]:
    """(model, input_shape, meta) rebuilt from a checkpoint; CheckpointError if anything is off."""
    data = _read(path)
    try:
        model = from_spec(data["spec"], rng=np.random.default_rng(0))  # weights replaced below
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: invalid model spec ({e})") from e
    shape = _shape_tuple(model, data["input_shape"], path)
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
