"""Draw the sample images in assets/samples/ with Pillow (same run, same files)."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "assets" / "samples"


def digit_7() -> Image.Image:
    """A black 7 on white paper, like a photo of a handwritten digit (grayscale PNG)."""
    img = Image.new("L", (112, 112), 245)
    draw = ImageDraw.Draw(img)
    draw.line([(30, 24), (84, 24), (52, 92)], fill=20, width=10, joint="curve")
    draw.line([(44, 58), (74, 58)], fill=20, width=8)
    return img


def digit_2() -> Image.Image:
    """A blue-ink 2 on cream paper, saved as JPEG (colour, lossy)."""
    img = Image.new("RGB", (120, 140), (250, 244, 225))
    draw = ImageDraw.Draw(img)
    ink = (30, 40, 120)
    draw.arc([(32, 18), (90, 74)], start=190, end=40, fill=ink, width=10)
    draw.line([(86, 56), (34, 118)], fill=ink, width=10)
    draw.line([(32, 116), (94, 116)], fill=ink, width=10)
    return img


def digit_0() -> Image.Image:
    """A dark 0 on a transparent sheet (RGBA PNG): alpha decides where the ink is."""
    img = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.ellipse([(26, 12), (70, 84)], outline=(10, 10, 10, 255), width=9)
    return img


def digit_4() -> Image.Image:
    """A white 4 on black, already MNIST's polarity (palette GIF)."""
    img = Image.new("L", (84, 84), 0)
    draw = ImageDraw.Draw(img)
    draw.line([(50, 10), (20, 54), (66, 54)], fill=255, width=7)
    draw.line([(52, 28), (52, 76)], fill=255, width=7)
    return img.convert("P")


def stripes(vertical: bool) -> Image.Image:
    """28x28 white stripes 3 pixels wide on black: edge filters light up on every boundary."""
    img = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(img)
    for start in range(2, 26, 7):
        box = [(start, 0), (start + 2, 27)] if vertical else [(0, start), (27, start + 2)]
        draw.rectangle(box, fill=255)
    return img


def checkerboard() -> Image.Image:
    """28x28 checkerboard of 7-pixel squares: edges in both directions (load with mnist=False)."""
    img = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(img)
    for row in range(4):
        for col in range(4):
            if (row + col) % 2 == 0:
                draw.rectangle([(col * 7, row * 7), (col * 7 + 6, row * 7 + 6)], fill=255)
    return img


SAMPLES = {
    "digit_7.png": digit_7,
    "digit_2.jpg": digit_2,
    "digit_0.png": digit_0,
    "digit_4.gif": digit_4,
    "stripes_vertical.png": lambda: stripes(True),
    "stripes_horizontal.png": lambda: stripes(False),
    "checkerboard.png": checkerboard,
}


def main(argv: list[str] | None = None) -> None:
    """Write every sample into the output directory (default assets/samples/)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help=f"output directory (default {OUT})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, draw in SAMPLES.items():
        path = args.out / name
        options = {"quality": 90} if name.endswith(".jpg") else {}
        draw().save(path, **options)
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
