"""Where the bundled assets live, for editable and installed copies alike."""

from __future__ import annotations

from pathlib import Path

# `assets` is installed as a package next to `engine`, so this holds editable and installed.
ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
MNIST_DIR = ASSETS_DIR / "mnist"
SAMPLES_DIR = ASSETS_DIR / "samples"
PRETRAINED_DIR = ASSETS_DIR / "pretrained"

MNIST_IMAGES = MNIST_DIR / "t10k-images-idx3-ubyte.gz"
MNIST_LABELS = MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
PRETRAINED_LENET = PRETRAINED_DIR / "lenet.npz"
PRETRAINED_LENET_0_4 = PRETRAINED_DIR / "lenet_digits0-4.npz"


def samples() -> list[Path]:
    """The bundled sample images, sorted by name."""
    if not SAMPLES_DIR.is_dir():
        return []
    exts = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
    return sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in exts)
