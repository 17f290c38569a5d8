"""Your own pictures as model input: any Pillow image -> an MNIST-like white-on-black digit."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.files import NotARegularFile, open_regular

MAX_PIXELS = 40_000_000  # far above any photo of a digit; larger files are refused as bombs
MNIST_BOX, MNIST_SIZE = 20, 28  # MNIST fits each digit in 20x20 and centres it in 28x28
_HIGH_BIT_MODES = {"I;16": 65535.0, "I;16L": 65535.0, "I;16B": 65535.0, "I;16N": 65535.0}


NO_INK_NOTE = (
    "no ink found: the image is blank (one colour, fully transparent or without finite "
    "pixels), so the prediction below says nothing about a digit"
)


class ImageError(ValueError):
    """An image file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class PreparedImage:
    """An image converted to model input, with what was done to it."""

    pixels: np.ndarray  # (H, W) float32 in [0, 1], white digit on black, centred by mass
    inverted: bool  # True when a dark-on-light picture was flipped to light-on-dark
    source_size: tuple[int, int]  # (width, height) after EXIF rotation
    source_mode: str  # Pillow mode of the file, e.g. "RGBA", "P", "I;16"
    path: Path | None = None
    blank: bool = False  # no ink found (one colour, transparent, 1x1, NaN): nothing to classify

    @property
    def note(self) -> str:
        """A warning to show beside a prediction, or "" when the image has ink."""
        return NO_INK_NOTE if self.blank else ""

    def as_input(self, channels: int = 1) -> np.ndarray:
        """A batch of one, (1, C, H, W) float32, repeating the gray plane over C channels."""
        return np.repeat(self.pixels[None, None], channels, axis=1).astype(np.float32)


def open_image(path: str | Path) -> Image.Image:
    """Open, fully decode and EXIF-rotate an image file, or raise ImageError naming it."""
    path = Path(path)
    try:
        f = open_regular(path, "image file")  # never blocks on a FIFO or reads a device
    except NotARegularFile as e:
        raise ImageError(str(e)) from None
    try:
        with f, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(f) as img:
                w, h = img.size
                if w < 1 or h < 1:
                    raise ImageError(f"{path}: the image is {w}x{h}: it has no pixels")
                if w * h > MAX_PIXELS:
                    raise ImageError(
                        f"{path}: {w}x{h} pixels is over the {MAX_PIXELS:,} limit "
                        "(possible decompression bomb)"
                    )
                img.seek(0)  # first frame of an animated GIF/WebP
                img.load()
                return ImageOps.exif_transpose(img) or img.copy()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{path}: refused as a possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageError(f"{path}: corrupt or truncated image ({exc})") from None


def _stretch(arr: np.ndarray) -> np.ndarray:
    """Integer or float samples -> [0, 1] over their finite range. +inf is the brightest
    value, -inf and NaN the darkest; finite pixels of a single value are bright when there
    are darker (NaN, -inf) pixels, else dark (one colour)."""
    finite = np.isfinite(arr)
    out = np.where(arr == np.inf, 1.0, 0.0)  # NaN and -inf: 0
    if finite.any():
        lo, hi = float(arr[finite].min()), float(arr[finite].max())
        if hi > lo:
            out[finite] = (arr[finite] - lo) / (hi - lo)
        else:
            out[finite] = 1.0 if (np.isnan(arr) | (arr == -np.inf)).any() else 0.0
    return out.astype(np.float32)


def to_gray(img: Image.Image) -> np.ndarray:
    """Luminance in [0, 1], (H, W) float32, for any mode; transparency shows the far side."""
    mode = img.mode
    if mode in _HIGH_BIT_MODES:
        return (np.asarray(img, dtype=np.float32) / np.float32(_HIGH_BIT_MODES[mode])).clip(0, 1)
    if mode in ("I", "F"):
        return _stretch(np.asarray(img, dtype=np.float64))
    if mode == "LAB":  # L is lightness already; Pillow converts LAB to nothing else
        return np.asarray(img.getchannel("L"), dtype=np.float32) / np.float32(255.0)
    try:
        return _gray_of(img, mode)
    except (ValueError, OSError) as exc:  # a mode Pillow cannot convert, e.g. LAB or HSV
        raise ImageError(f"images in mode {mode} cannot be converted to gray ({exc})") from None


def _gray_of(img: Image.Image, mode: str) -> np.ndarray:
    """Luminance of an 8-bit mode; strokes on a transparent sheet go on a contrasting sheet."""
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if not has_alpha:
        return np.asarray(img.convert("L"), dtype=np.float32) / np.float32(255.0)
    rgba = img.convert("RGBA")
    gray = np.asarray(rgba.convert("L"), dtype=np.float32) / np.float32(255.0)
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / np.float32(255.0)
    # Strokes on a transparent sheet: put them on the background that contrasts with them.
    ink = float((gray * alpha).sum() / alpha.sum()) if alpha.sum() > 0 else 0.0
    background = 1.0 if ink < 0.5 else 0.0
    return (gray * alpha + background * (1.0 - alpha)).astype(np.float32)


def _border(gray: np.ndarray) -> np.ndarray:
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def _resize(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Antialiased resize of a float plane to (width, height)."""
    img = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(img.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)


def _shift(arr: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Translate with zero fill (no wrap-around)."""
    out = np.zeros_like(arr)
    h, w = arr.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = arr[ys, xs]
    return out


def mnist_like(gray: np.ndarray, size: tuple[int, int] = (28, 28), invert: bool | None = None):
    """(H, W) luminance -> ((h, w) white-on-black digit in a box, centred by mass; inverted?)."""
    out_h, out_w = size
    if invert is None:  # a light border means dark ink on paper
        invert = bool(np.median(_border(gray)) > 0.5)
    ink = 1.0 - gray if invert else gray
    background = float(np.median(_border(ink)))
    ink = np.clip(ink - background, 0.0, None)
    peak = float(ink.max())
    if not peak > 1e-6:  # a blank picture: nothing to centre (see is_blank)
        return np.zeros(size, dtype=np.float32), invert
    ink = ink / peak
    rows, cols = np.nonzero(ink > 0.1)  # ignore faint noise when finding the bounding box
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    box = max(1, round(min(out_h, out_w) * MNIST_BOX / MNIST_SIZE))
    scale = box / max(ink.shape)
    fit_h, fit_w = max(1, round(ink.shape[0] * scale)), max(1, round(ink.shape[1] * scale))
    digit = np.clip(_resize(ink, (fit_w, fit_h)), 0.0, 1.0)
    canvas = np.zeros(size, dtype=np.float32)
    top, left = (out_h - fit_h) // 2, (out_w - fit_w) // 2
    canvas[top : top + fit_h, left : left + fit_w] = digit
    # MNIST puts the centre of mass at pixel (14, 14) of 28x28, i.e. at size / 2.
    ys, xs = np.mgrid[:out_h, :out_w]
    mass = canvas.sum()
    dy = round(out_h / 2 - float((ys * canvas).sum() / mass))
    dx = round(out_w / 2 - float((xs * canvas).sum() / mass))
    return _shift(canvas, dy, dx), invert


def fit(gray: np.ndarray, size: tuple[int, int] = (28, 28)) -> np.ndarray:
    """(H, W) -> size, keeping the aspect ratio and padding with black (no crop, no centring)."""
    out_h, out_w = size
    scale = min(out_h / gray.shape[0], out_w / gray.shape[1])
    fit_h = max(1, round(gray.shape[0] * scale))
    fit_w = max(1, round(gray.shape[1] * scale))
    plane = gray if (fit_h, fit_w) == gray.shape else _resize(gray, (fit_w, fit_h))
    canvas = np.zeros(size, dtype=np.float32)
    top, left = (out_h - fit_h) // 2, (out_w - fit_w) // 2
    canvas[top : top + fit_h, left : left + fit_w] = np.clip(plane, 0.0, 1.0)
    return canvas


def prepare_image(
    source: str | Path | Image.Image,
    size: tuple[int, int] = (28, 28),
    invert: bool | None = None,
    mnist: bool = True,
) -> PreparedImage:
    """A file or Pillow image -> PreparedImage; mnist=False only fits it (patterns, not digits)."""
    if isinstance(source, Image.Image):
        img, path = source, None
    else:
        path = Path(source)
        img = open_image(path)
    try:
        gray = to_gray(img)
    except ImageError as exc:
        raise ImageError(f"{path or 'image'}: {exc}") from None
    if mnist:
        pixels, inverted = mnist_like(gray, size, invert)
    else:
        inverted = bool(invert)
        pixels = fit(1.0 - gray if inverted else gray, size)
    blank = not float(gray.max() - gray.min()) > 1e-6 or not float(pixels.max()) > 1e-6
    return PreparedImage(pixels, inverted, img.size, img.mode, path, blank)


def image_to_input(
    source: str | Path | Image.Image,
    input_shape: tuple[int, int, int] = (1, 28, 28),
    invert: bool | None = None,
    mnist: bool = True,
) -> np.ndarray:
    """An image as a model's input batch of one, (1, C, H, W) float32."""
    if len(input_shape) != 3:
        raise ValueError(f"image input needs a (C, H, W) model input shape, got {input_shape}")
    channels, h, w = input_shape
    return prepare_image(source, (h, w), invert, mnist).as_input(channels)
