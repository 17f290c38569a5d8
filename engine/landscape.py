"""Optimizers on a 2-D loss surface: a narrow valley where momentum and Adam beat plain SGD.

    surface = Valley()                       # f(a, b) = 0.5 * (a**2 + 50 * b**2), minimum at 0
    paths = {name: descend(name, surface, steps=40) for name in OPTIMIZER_NAMES}
    paths["adam"].points    # (steps + 1, 2): the weights after each step, the start first
    paths["adam"].losses    # (steps + 1,)
    paths["adam"].updates   # the optimizer's own explain() record of every step

Each path runs the engine's SGD or Adam on one 2-number Parameter, with the gradient of the
surface written into .grad by hand (no network), so the numbers are exactly the update rule's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.module import Parameter
from engine.optim import SGD, Adam

OPTIMIZER_NAMES = ("sgd", "momentum", "adam")
START = (-4.0, 0.5)
# SGD and momentum share one lr (near the largest SGD survives across the valley, 2/steep);
# Adam scales each coordinate by its own sqrt(v), so its lr is a step size in weight units.
SGD_LR, ADAM_LR = 0.036, 0.3


@dataclass(frozen=True)
class Valley:
    """f(a, b) = 0.5 * (a^2 + steep * b^2): steep across the valley (b), shallow along it (a)."""

    steep: float = 50.0

    def loss(self, w: np.ndarray) -> float:
        """The surface's height at w = (a, b)."""
        a, b = float(w[0]), float(w[1])
        return 0.5 * (a * a + self.steep * b * b)

    def grad(self, w: np.ndarray) -> np.ndarray:
        """(df/da, df/db) = (a, steep * b)."""
        return np.array([w[0], self.steep * w[1]], dtype=np.float64)

    def grid(self, a_range, b_range, cols: int, rows: int) -> np.ndarray:
        """Heights on a rows x cols grid (row 0 = the largest b), for drawing contours."""
        a = np.linspace(a_range[0], a_range[1], cols)
        b = np.linspace(b_range[1], b_range[0], rows)
        aa, bb = np.meshgrid(a, b)
        return 0.5 * (aa * aa + self.steep * bb * bb)  # (rows, cols)


@dataclass(frozen=True)
class Path:
    """One optimizer's walk over the surface."""

    name: str
    points: np.ndarray  # (steps + 1, 2) float64
    losses: np.ndarray  # (steps + 1,) float64
    updates: list[dict] = field(default_factory=list)  # optimizer.explain(0) after each step


def make(name: str, param: Parameter, lr: float | None = None):
    """The lesson's optimizers with their default learning rates for the valley."""
    if name == "sgd":
        return SGD([param], lr=SGD_LR if lr is None else lr)
    if name == "momentum":
        return SGD([param], lr=SGD_LR if lr is None else lr, momentum=0.9)
    if name == "adam":
        return Adam([param], lr=ADAM_LR if lr is None else lr)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")


def descend(
    name: str, surface: Valley | None = None, steps: int = 40, start=START, lr: float | None = None
) -> Path:
    """Run the engine's optimizer `name` for `steps` steps on the surface from `start`."""
    surface = surface or Valley()
    if not 0 <= steps <= 10_000:
        raise ValueError(f"descend: steps must be in 0..10000, got {steps}")
    param = Parameter(np.array(start, dtype=np.float64), name="w")
    opt = make(name, param, lr)
    opt.record = True
    points, losses, updates = [param.value.copy()], [surface.loss(param.value)], []
    for _ in range(steps):
        param.grad[...] = surface.grad(param.value)
        opt.step()
        updates.append(opt.explain(0))
        points.append(param.value.copy())
        losses.append(surface.loss(param.value))
    return Path(name, np.array(points), np.array(losses), updates)


def steps_to_reach(path: Path, level: float) -> int | None:
    """The first step at which the path's loss is below level (None if never)."""
    below = np.nonzero(path.losses < level)[0]
    return int(below[0]) if below.size else None
