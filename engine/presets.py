"""Ready-made models: the article's 5x5 example, a LeNet-style CNN, a small ResNet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.activations import ReLU
from engine.linear import Flatten, Linear
from engine.losses import CrossEntropyLoss, MSELoss
from engine.model import Sequential
from engine.module import DEFAULT_DTYPE
from engine.residual import Residual

# The article's filter: +1 left column, 0 middle, -1 right column (a vertical-edge detector).
VERTICAL_EDGE_KERNEL = np.array([[1, 0, -1]] * 3, dtype=DEFAULT_DTYPE)  # (3, 3)


@dataclass
class Preset:
    """A named model with its per-sample input shape, loss and a one-paragraph description."""

    name: str
    title: str
    model: Sequential
    input_shape: tuple[int, ...]
    loss: object
    description: str


def article_input() -> np.ndarray:
    """The article's 5x5 image, every row [4, 3, 2, 1, 0], as a batch (1, 1, 5, 5)."""
    row = np.array([4, 3, 2, 1, 0], dtype=DEFAULT_DTYPE)
    return np.tile(row, (5, 1)).reshape(1, 1, 5, 5)


def article_target() -> np.ndarray:
    """The article preset's MSE target: zeros shaped like its 3x3 output, (1, 1, 3, 3)."""
    return np.zeros((1, 1, 3, 3), dtype=DEFAULT_DTYPE)


def article(rng=None) -> Preset:
    """Conv2d(1, 1, 3) with the vertical-edge kernel and bias 0: every output is 4 + 0 - 2 (x3)."""
    from engine.conv import Conv2d

    conv = Conv2d(1, 1, 3, rng=rng)  # its values are replaced just below
    conv.weight.value[...] = VERTICAL_EDGE_KERNEL  # (1, 1, 3, 3) <- (3, 3)
    conv.bias.value[...] = 0
    return Preset(
        name="article",
        title="The article's 5x5 example",
        model=Sequential(conv),
        input_shape=(1, 5, 5),
        loss=MSELoss(),
        description=(
            "A 3x3 vertical-edge filter slides over a 5x5 image whose rows are 4 3 2 1 0. "
            "Each output sums 4*1 + 3*0 + 2*(-1) over three rows: 6 (the article prints 10; "
            "the terms add up to 6)."
        ),
    )


def lenet(rng=None) -> Preset:
    """conv(1->8,3,p1)-ReLU-maxpool2-conv(8->16,3,p1)-ReLU-maxpool2-Flatten-Linear(784,10)."""
    from engine.conv import Conv2d
    from engine.pool import MaxPool2d

    model = Sequential(
        Conv2d(1, 8, 3, padding=1, rng=rng),  # (8, 28, 28)
        ReLU(),
        MaxPool2d(2),  # (8, 14, 14)
        Conv2d(8, 16, 3, padding=1, rng=rng),  # (16, 14, 14)
        ReLU(),
        MaxPool2d(2),  # (16, 7, 7)
        Flatten(),  # (784,)
        Linear(784, 10, rng=rng),  # (10,)
    )
    return Preset(
        name="lenet",
        title="LeNet-style CNN for MNIST",
        model=model,
        input_shape=(1, 28, 28),
        loss=CrossEntropyLoss(),
        description=(
            "Two convolution + ReLU + 2x2 max-pool stages turn a 28x28 digit into 16 maps of "
            "7x7; a linear layer maps those 784 numbers to 10 class scores (cross-entropy)."
        ),
    )


def resnet(rng=None) -> Preset:
    """A small residual net: an identity block at 28x28, a projection block down to 7x7."""
    from engine.conv import Conv2d
    from engine.pool import MaxPool2d

    model = Sequential(
        Conv2d(1, 8, 3, padding=1, rng=rng),  # (8, 28, 28)
        ReLU(),
        Residual(  # identity skip: the body keeps (8, 28, 28)
            Conv2d(8, 8, 3, padding=1, rng=rng),
            ReLU(),
            Conv2d(8, 8, 3, padding=1, rng=rng),
            rng=rng,
        ),
        ReLU(),
        MaxPool2d(2),  # (8, 14, 14)
        Residual(  # 1x1 stride-2 projection skip: 8 -> 16 channels, 14 -> 7 pixels
            Conv2d(8, 16, 3, stride=2, padding=1, rng=rng),  # (16, 7, 7)
            ReLU(),
            Conv2d(16, 16, 3, padding=1, rng=rng),
            rng=rng,  # the projection's init
        ),
        ReLU(),
        Flatten(),  # (784,)
        Linear(784, 10, rng=rng),  # (10,)
    )
    return Preset(
        name="resnet",
        title="Small ResNet for MNIST",
        model=model,
        input_shape=(1, 28, 28),
        loss=CrossEntropyLoss(),
        description=(
            "Residual blocks add their input back: y = F(x) + x. The first block keeps its "
            "shape (identity skip); the second halves the resolution and doubles the channels, "
            "so its skip is a 1x1 convolution with stride 2 (a projection)."
        ),
    )


PRESETS: dict[str, Callable[..., Preset]] = {"article": article, "lenet": lenet, "resnet": resnet}
# The presets that classify 28x28 digits: the ones `cnn-tui train` and the training lab offer.
MNIST_PRESETS = ("lenet", "resnet")


def build_preset(name: str, rng: np.random.Generator | None = None) -> Preset:
    """PRESETS[name](rng): weights drawn from rng (a numpy Generator; None: fresh entropy),
    with a ValueError listing the known names for an unknown preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (known: {', '.join(PRESETS)})")
    return PRESETS[name](rng)
