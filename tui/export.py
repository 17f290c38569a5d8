"""Exports: a tensor as .npy/.csv, its heatmap as .png, curves as .csv; new files only, atomically.

The protocol: a screen that has something to export implements `exportables()` and returns a
list of `TensorExport` / `CurvesExport` records (what it shows now, as the engine computed it).
The app turns each into files with `formats()` and `write_new()`; nothing here needs an app.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui.render import colors

PNG_TARGET = 512  # the heatmap's longer side in pixels, about: big enough for a slide
MAX_BLOCK = 64
MAX_SUFFIX = 999  # name-1 ... name-999, then give up rather than loop forever


@dataclass(frozen=True)
class TensorExport:
    """A tensor a screen shows: (C, H, W), (H, W) or (F,); `channel` is the one on screen."""

    name: str  # what it is, e.g. "layer 2 output sample 1"; the file stem comes from it
    array: np.ndarray
    channel: int = 0
    signed: bool | None = None  # None: as the screen decides (diverging when any value < 0)


@dataclass(frozen=True)
class CurvesExport:
    """Curves as a table: one row per point, e.g. ("iteration", "loss", "accuracy")."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]


Exportable = TensorExport | CurvesExport


def slug(name: str) -> str:
    """A file stem from a description: "layer 2 ∂L/∂y · sample 1" -> "layer-2-l-y-sample-1"."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return text[:80].rstrip("-") or "export"


def npy_bytes(array: np.ndarray) -> bytes:
    """The array in NumPy's .npy format (no pickles), dtype and shape kept."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def _number(v) -> str:
    """The shortest text that reads back to the same value in its own precision: a float32
    0.1 is "0.1" (its float64 expansion would be 0.10000000149011612)."""
    return str(v) if isinstance(v, np.floating) else repr(float(v))


def tensor_csv(array: np.ndarray) -> str:
    """A header, then one line per row: "channel,row,col0.." for (C,H,W), "row,col0.." for (H,W),
    "index,value" for (F,); values round-trip exactly."""
    a = np.asarray(array)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if a.ndim == 1:
        w.writerow(["index", "value"])
        w.writerows([k, _number(v)] for k, v in enumerate(a))
    elif a.ndim == 2:
        w.writerow(["row", *(f"col{j}" for j in range(a.shape[1]))])
        w.writerows([i, *map(_number, row)] for i, row in enumerate(a))
    elif a.ndim == 3:
        w.writerow(["channel", "row", *(f"col{j}" for j in range(a.shape[2]))])
        for c, plane in enumerate(a):
            w.writerows([c, i, *map(_number, row)] for i, row in enumerate(plane))
    else:
        raise ValueError(f"a tensor to export has 1, 2 or 3 dimensions, got shape {a.shape}")
    return out.getvalue()


def curves_csv(columns: Sequence[str], rows: Sequence[Sequence]) -> str:
    """The curves' table as CSV: a header, then the rows (None as an empty cell)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow(["" if v is None else _number(v) if isinstance(v, float) else v for v in row])
    return out.getvalue()


def heatmap_plane(item: TensorExport) -> tuple[np.ndarray, bool]:
    """The (H, W) plane the screen draws (a vector as one row) and whether its scale is signed."""
    a = np.asarray(item.array, dtype=np.float64)
    maps = {1: lambda: a.reshape(1, 1, -1), 2: lambda: a[None], 3: lambda: a}[a.ndim]()
    signed = colors.auto_signed(maps) if item.signed is None else bool(item.signed)
    return maps[min(max(item.channel, 0), maps.shape[0] - 1)], signed


def block_size(h: int, w: int) -> int:
    """Pixels per element: about PNG_TARGET on the longer side, at least 1."""
    return max(1, min(MAX_BLOCK, PNG_TARGET // max(h, w, 1)))


def heatmap_rgb(plane: np.ndarray, signed: bool, block: int) -> np.ndarray:
    """(H*block, W*block, 3) uint8: each element a block in the screen's colour scale."""
    lo, hi = colors.domain(plane, signed)
    rgb = colors.palette(signed)[colors.level_codes(plane, lo, hi)]  # (H, W, 3); NaN: black
    return np.repeat(np.repeat(rgb, block, axis=0), block, axis=1)


def heatmap_png(item: TensorExport) -> bytes:
    """The heatmap of the channel on screen as PNG bytes."""
    from PIL import Image  # here: only an export needs Pillow

    plane, signed = heatmap_plane(item)
    rgb = heatmap_rgb(plane, signed, block_size(*plane.shape))
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(buf, format="PNG")
    return buf.getvalue()


def formats(item: Exportable) -> list[tuple[str, str, Callable[[], bytes]]]:
    """(label, file name, bytes maker) for each file an exportable gives."""
    stem = slug(item.name)
    if isinstance(item, CurvesExport):
        data = curves_csv(item.columns, item.rows).encode()
        return [(f"{item.name} ({len(item.rows)} points) as .csv", f"{stem}.csv", lambda: data)]
    shape = "×".join(map(str, np.shape(item.array)))
    channel = f"c{item.channel}" if np.ndim(item.array) == 3 else ""
    which = f" channel {item.channel + 1}" if channel else ""
    return [
        (f"{item.name} ({shape}) as .npy", f"{stem}.npy", lambda: npy_bytes(item.array)),
        (f"{item.name} ({shape}) as .csv", f"{stem}.csv", lambda: tensor_csv(item.array).encode()),
        (f"heatmap of {item.name}{which} as .png", f"{stem}{'-' if channel else ''}{channel}.png",
         lambda: heatmap_png(item)),
    ]  # fmt: skip


def candidates(filename: str):
    """filename, then name-1.ext, name-2.ext, ...: the names tried so nothing is overwritten."""
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    yield filename
    for k in range(1, MAX_SUFFIX + 1):
        yield f"{stem}-{k}{dot}{ext}"


def write_new(
    directory: Path, filename: str, data: bytes, resolve: Callable[[str], Path] | None = None
) -> Path:
    """Write data to a new file in directory (adding -1, -2 ... when the name is taken).

    Atomic: the bytes go to a temporary file beside the target, which is then hard-linked to
    a free name (a link never replaces an existing file, so a race cannot overwrite either) and
    removed; a reader never sees half a file and no temporary file is left behind.
    resolve maps each candidate path to the real one, refusing it (ValueError) when outside
    what may be written (the served session's sandbox); the caller resolves the directory.
    """
    resolve = resolve or Path
    if not directory.is_dir():
        raise ValueError(f"not a directory: {directory}")
    fd, tmp = tempfile.mkstemp(prefix=".cnn-tui-", suffix=".part", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an export is an ordinary file
        for name in candidates(filename):
            target = resolve(str(directory / name))
            try:
                os.link(tmp, target)  # fails on any existing name, a dangling symlink too
            except FileExistsError:
                continue
            except OSError:  # no hard links here (FAT, some network file systems)
                try:  # reserve the name, then move the finished file onto the reservation
                    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                except FileExistsError:
                    continue
                os.replace(tmp, target)
            return target
        raise ValueError(f"{filename} and {MAX_SUFFIX} numbered names exist in {directory}")
    finally:
        Path(tmp).unlink(missing_ok=True)
