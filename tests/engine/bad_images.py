"""Bad inputs as data: makers of bad or odd image files, each case paired with a regex the error
message must match, or with whether the picture is blank (tests/engine/test_bad_input.py,
tests/tui/test_cli_bad_input.py). Add a case by adding a line."""

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# -- images -----------------------------------------------------------------------------------


def saved_image(name: str, make_image, **save_args):
    def make(d: Path) -> Path:
        make_image().save(d / name, **save_args)
        return d / name

    return make


def written(name: str, data: bytes):
    def make(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name

    return make


def float_image(values) -> Image.Image:
    return Image.fromarray(np.asarray(values, dtype=np.float32), mode="F")


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width: int, height: int, idat: bytes | None = None) -> bytes:
    """A PNG of an 8-bit gray image of the given size whose data is one row of zeros."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes(min(width, 64) + 1)) if idat is None else idat
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def digit_png(d: Path) -> Path:
    arr = np.zeros((28, 28), np.uint8)
    arr[4:24, 12:16] = 255
    Image.fromarray(arr).save(d / "one.png")
    return d / "one.png"


def truncated_png(d: Path) -> Path:
    data = digit_png(d).read_bytes()
    (d / "cut.png").write_bytes(data[: len(data) // 2])
    return d / "cut.png"


IMAGE_ERRORS = [
    ("empty", written("e.png", b""), r"not an image file Pillow can read"),
    ("text", written("t.png", b"hello"), r"not an image file Pillow can read"),
    ("npz-as-image", written("m.png", b"PK\x03\x04" + bytes(100)), r"not an image file"),
    ("truncated-png", truncated_png, r"corrupt or truncated image"),
    ("garbage-pixels", written("g.png", png_header(64, 64, b"junk")), r"corrupt or truncated"),
    ("huge-png", written("big.png", png_header(100_000, 100_000)), r"decompression bomb"),
    ("over-limit-png", written("o.png", png_header(8_000, 8_000)), r"over the 40,000,000 limit"),
    ("wide-png", written("w.png", png_header(2**31 - 1, 1)), r"limit|corrupt|not an image"),
]

# (id, maker, blank?) — odd but valid pictures: a result, with a note exactly when no ink.
IMAGE_ODDITIES = [
    ("inf-tiff", saved_image("inf.tif", lambda: float_image(np.full((28, 28), np.inf))), True),
    ("nan-tiff", saved_image("nan.tif", lambda: float_image(np.full((9, 9), np.nan))), True),
    (
        "neg-inf-tiff",
        saved_image("ninf.tif", lambda: float_image(np.full((9, 9), -np.inf))),
        True,
    ),
    ("one-pixel", saved_image("px.png", lambda: Image.new("L", (1, 1), 200)), True),
    ("one-colour", saved_image("gray.png", lambda: Image.new("RGB", (40, 30), (9, 9, 9))), True),
    ("white", saved_image("white.jpg", lambda: Image.new("L", (30, 30), 255)), True),
    ("transparent", saved_image("clear.png", lambda: Image.new("RGBA", (30, 30))), True),
    ("digit", digit_png, False),
    (
        "inf-stroke-tiff",
        saved_image("stroke.tif", lambda: float_image(stroke(np.inf, 0.0))),
        False,
    ),
    (
        "nan-background",
        saved_image("nanbg.tif", lambda: float_image(stroke(5.0, np.nan))),
        False,
    ),
    ("int32-range", saved_image("i.tif", lambda: gray(2**31 - 1, -(2**31), np.int32)), False),
    ("mode-1", saved_image("bw.png", lambda: gray(1, 0, bool)), False),
    ("cmyk-jpeg", saved_image("c.jpg", lambda: gray(255, 0, np.uint8).convert("CMYK")), False),
    ("i16-png", saved_image("d.png", lambda: gray(60000, 0, np.uint16)), False),
    ("lab-tiff", saved_image("lab.tif", lambda: gray(255, 0, np.uint8).convert("LAB")), False),
    ("ycbcr-jpeg", saved_image("y.jpg", lambda: gray(255, 0, np.uint8).convert("YCbCr")), False),
    ("rgba-ink", saved_image("ink.png", lambda: gray(255, 0, np.uint8).convert("RGBA")), False),
    ("la-png", saved_image("la.png", lambda: gray(255, 0, np.uint8).convert("LA")), False),
    (
        "palette-transparency",
        saved_image("p.png", lambda: gray(255, 0, np.uint8).convert("P"), transparency=0),
        False,
    ),
    ("animated-gif", saved_image("a.gif", lambda: gray(255, 0, np.uint8), save_all=True), False),
]


def stroke(ink, paper, dtype=np.float64) -> np.ndarray:
    """A 28x28 plane of paper with a vertical bar of ink (a '1')."""
    arr = np.full((28, 28), paper, dtype=dtype)
    arr[4:24, 12:16] = ink
    return arr


def gray(ink, paper, dtype) -> Image.Image:
    return Image.fromarray(stroke(ink, paper, dtype))
