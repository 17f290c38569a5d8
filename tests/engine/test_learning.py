"""End to end: a small CNN learns vertical vs horizontal bars (speed is in benchmarks/)."""

import numpy as np

from engine.activations import ReLU
from engine.conv import Conv2d
from engine.linear import Flatten, Linear
from engine.losses import CrossEntropyLoss
from engine.model import Sequential
from engine.optim import SGD, Adam
from engine.pool import MaxPool2d

SIZE = 8


def bars(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (count, 1, 8, 8) with one bright bar plus noise; label 0 vertical, 1 horizontal."""
    r = np.random.default_rng(seed)
    labels = r.integers(0, 2, count)
    images = 0.1 * r.standard_normal((count, 1, SIZE, SIZE))
    for img, label, pos in zip(images, labels, r.integers(0, SIZE, count), strict=True):
        if label == 0:
            img[0, :, pos] += 1.0  # a vertical bar: one bright column
        else:
            img[0, pos, :] += 1.0  # a horizontal bar: one bright row
    return images.astype(np.float32), labels


def bars_model(rng) -> Sequential:
    return Sequential(
        Conv2d(1, 4, 3, padding=1, rng=rng),  # (4, 8, 8)
        ReLU(),
        MaxPool2d(2),  # (4, 4, 4)
        Flatten(),  # (64,)
        Linear(64, 2, rng=rng),
    )


def train(model, opt, images, labels, steps):
    loss_fn, losses = CrossEntropyLoss(), []
    for _ in range(steps):
        opt.zero_grad()
        losses.append(loss_fn.forward(model.forward(images), labels))
        model.backward(loss_fn.backward())
        opt.step()
    return losses


def accuracy(model, images, labels) -> float:
    return float(np.mean(model.forward(images).argmax(axis=1) == labels))


def test_a_small_cnn_learns_bars_with_adam():
    g = np.random.default_rng(0)
    model = bars_model(rng=g)
    images, labels = bars(64, seed=1)
    losses = train(model, Adam(model.parameters(), lr=0.02), images, labels, steps=150)
    assert losses[0] > 0.5  # it starts near log 2 = 0.69
    assert losses[-1] < 0.05, losses[::10]
    test_images, test_labels = bars(200, seed=2)
    assert accuracy(model, test_images, test_labels) == 1.0


def test_sgd_with_momentum_learns_bars_too():
    g = np.random.default_rng(3)
    model = bars_model(rng=g)
    images, labels = bars(64, seed=4)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    losses = train(model, opt, images, labels, steps=200)
    assert losses[-1] < 0.05, losses[::10]
    assert accuracy(model, *bars(200, seed=5)) == 1.0
