"""The base of every layer: Parameter, Module, and the seeded random generator they share."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

DEFAULT_DTYPE = np.float32

_rng = np.random.default_rng(0)


def manual_seed(seed: int) -> None:
    """Reseed the generator used for weight init, dropout masks and shuffling (like torch)."""
    global _rng
    _rng = np.random.default_rng(seed)


def rng() -> np.random.Generator:
    """The engine's shared random generator."""
    return _rng


@contextmanager
def preserved_rng(start: dict | None = None) -> Iterator[None]:
    """Draws inside the block (from `start`, a saved state, if given) leave rng() as it was."""
    state = copy.deepcopy(rng().bit_generator.state)
    try:
        if start is not None:
            rng().bit_generator.state = copy.deepcopy(start)
        yield
    finally:
        rng().bit_generator.state = state


class Parameter:
    """A trainable array with its gradient of the same shape."""

    def __init__(self, value: np.ndarray, name: str = ""):
        self.value = np.ascontiguousarray(value)
        self.grad = np.zeros_like(self.value)
        self.name = name
        self.requires_grad = True  # False = frozen: optimizers skip it

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    def zero_grad(self) -> None:
        """Set the gradient to zero in place."""
        self.grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.value.shape}, dtype={self.value.dtype})"


class Module:
    """A layer: forward(x) -> y, backward(grad_out) -> grad_input, parameters(), spec()."""

    training = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def children(self) -> list[Module]:
        """Sub-modules (for containers); leaves have none."""
        return []

    def named_children(self) -> list[tuple[str, Module]]:
        """(name, child) pairs for parameter names like "3.weight"; children by index here."""
        return [(str(i), child) for i, child in enumerate(self.children())]

    def own_parameters(self) -> list[Parameter]:
        """This module's own parameters, not its children's."""
        return []

    def parameters(self) -> list[Parameter]:
        """Every parameter of this module and its children, in a stable order."""
        params = list(self.own_parameters())
        for child in self.children():
            params.extend(child.parameters())
        return params

    def zero_grad(self) -> None:
        """Zero every parameter's gradient."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout on); returns self."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)

    def to(self, dtype) -> Module:
        """Cast every parameter (and its gradient) to dtype in place; returns self."""
        for p in self.parameters():
            p.value = p.value.astype(dtype)
            p.grad = p.grad.astype(dtype)
        return self

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Per-sample output shape for a per-sample input shape; ValueError if impossible."""
        return tuple(input_shape)

    def spec(self) -> dict:
        """A JSON-able description from which engine.model.from_spec rebuilds this layer."""
        return {"type": type(self).__name__}

    def num_parameters(self) -> int:
        """Total count of scalar parameters."""
        return int(sum(p.value.size for p in self.parameters()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.spec().items() if k not in ("type", "layers"))
        return f"{type(self).__name__}({args})"
