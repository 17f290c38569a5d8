"""MNIST from the bundled IDX files: a validating loader, the fixed 8,000/2,000 split, batches."""

from __future__ import annotations

import gzip
import mmap
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from engine import paths
from engine.module import generator as run_generator

TRAIN_SIZE = 8000  # the first 8,000 digits of the bundled set train
HELD_OUT_SIZE = 2000  # the last 2,000 are never trained on
HELD_OUT_NOTE = "2000 held-out digits"  # say this wherever an accuracy is shown
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049

# IDX type codes (third magic byte) -> big-endian dtype
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DataError(ValueError):
    """A data file is missing, truncated or not what it claims to be; the message names it."""


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from None


def read_idx(path: str | Path, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (optionally gzipped), checking its magic number and exact size."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise DataError(f"{path}: magic number {found}, expected {magic}")
    if data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES or data[3] == 0:
        raise DataError(f"{path}: not an IDX file (magic number {found})")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} of {header} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        shape = "x".join(map(str, dims))
        raise DataError(
            f"{path}: {len(data) - header} data bytes, expected {expected} for shape {shape}"
            + (" (truncated)" if len(data) - header < expected else " (trailing bytes)")
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


@dataclass(frozen=True)
class Dataset:
    """Images (N, 1, 28, 28) float32 in [0, 1], white digit on black, with int64 labels (N,)."""

    images: np.ndarray  # (N, 1, H, W) float32
    labels: np.ndarray  # (N,) int64
    name: str = "mnist"

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray | slice, name: str | None = None) -> Dataset:
        """The examples selected by an index array, a boolean mask or a slice."""
        return Dataset(self.images[index], self.labels[index], name or self.name)

    def digits(self, classes: tuple[int, ...] | list[int]) -> Dataset:
        """Only the examples whose label is in classes (labels keep their digit values)."""
        mask = np.isin(self.labels, list(classes))
        label = "".join(str(c) for c in sorted(classes))
        return self.subset(mask, f"{self.name}[{label}]")

    def class_counts(self, num_classes: int = 10) -> np.ndarray:
        """How many examples of each class, (num_classes,) int64."""
        return np.bincount(self.labels, minlength=num_classes).astype(np.int64)


@lru_cache(maxsize=4)
def _load_cached(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, IMAGES_MAGIC)  # (N, 28, 28) uint8
    labels = read_idx(labels_path, LABELS_MAGIC)  # (N,) uint8
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(f"{images_path}: expected N x H x W uint8 images, got {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DataError(f"{labels_path}: expected N uint8 labels, got shape {labels.shape}")
    if len(images) != len(labels):
        raise DataError(
            f"{images_path}: {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{labels_path}: label {labels.max()} outside 0-9")
    labels.setflags(write=False)
    return shared(images), labels


def shared(a: np.ndarray) -> np.ndarray:
    """A read-only copy of `a` in shared memory (an anonymous MAP_SHARED mapping).

    Why: a forked process (a served session) inherits shared pages without counting them in its
    RSS until it reads them (fork copies no page-table entries of shared mappings), whereas an
    ordinary array's pages count in every child's RSS: 39 MB of digits in each served session,
    most of which never looks at them. The numbers are the same, only where they live differs.
    """
    if a.nbytes == 0:
        out = a.copy()
    else:
        out = np.frombuffer(mmap.mmap(-1, a.nbytes), dtype=a.dtype).reshape(a.shape)
        out[...] = a
    out.setflags(write=False)
    return out


def load_mnist_raw(
    images_path: str | Path | None = None, labels_path: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits as read-only uint8 images (N, 28, 28) and labels (N,)."""
    return _load_cached(*_resolve(images_path, labels_path))


def _resolve(images_path, labels_path) -> tuple[Path, Path]:
    """Absolute paths (the cache keys), the bundled files by default."""
    return (
        Path(images_path or paths.MNIST_IMAGES).resolve(),
        Path(labels_path or paths.MNIST_LABELS).resolve(),
    )


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) -> float32 (N, 1, H, W) in [0, 1]: the scale every model here sees."""
    return (images.astype(np.float32) / np.float32(255.0))[:, None]


@lru_cache(maxsize=4)
def _load_float_cached(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    # One float copy per process (31 MB for the bundled set), shared by every caller and by the
    # processes forked from this one (see shared): read-only.
    images, labels = _load_cached(images_path, labels_path)
    images, labels = shared(to_float(images)), labels.astype(np.int64)
    labels.setflags(write=False)
    return images, labels


def load_mnist(
    images_path: str | Path | None = None, labels_path: str | Path | None = None
) -> Dataset:
    """All bundled digits as one Dataset (read-only arrays, converted once per process)."""
    images, labels = _load_float_cached(*_resolve(images_path, labels_path))
    return Dataset(images, labels, "mnist")


def mnist_split(
    images_path: str | Path | None = None, labels_path: str | Path | None = None
) -> tuple[Dataset, Dataset]:
    """(train, held_out): the first 8,000 digits and the last 2,000, always the same ones."""
    full = load_mnist(images_path, labels_path)
    if len(full) < TRAIN_SIZE + HELD_OUT_SIZE:
        raise DataError(
            f"{images_path or paths.MNIST_IMAGES}: {len(full)} digits, "
            f"need {TRAIN_SIZE + HELD_OUT_SIZE} for the 8,000/2,000 split"
        )
    train = full.subset(slice(0, TRAIN_SIZE), "mnist-train")
    held_out = full.subset(slice(len(full) - HELD_OUT_SIZE, len(full)), "mnist-held-out")
    return train, held_out


def batches(
    dataset: Dataset, batch_size: int, shuffle: bool = True, generator: np.random.Generator = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of (x (B, C, H, W), y (B,)) mini-batches; order drawn from generator (the
    run's numpy Generator; None: fresh entropy)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    n = len(dataset)
    order = run_generator(generator).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        yield dataset.images[idx], dataset.labels[idx]
