"""The base of every layer: Parameter, Context (what a forward saves for its backward), Module.

A layer's forward_ctx(x) returns its output and a Context; backward_ctx(ctx, grad_out) and the
explain_* methods read only that record, never state left on the module, so several forward
passes (a Stepper's trace, an explanation) can be kept and revisited in any order.
forward(x) / backward(grad_out) are the familiar PyTorch-like pair on top: forward keeps the
last context in `module.ctx` (and in each child's), backward uses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_DTYPE = np.float32
# The largest array a layer allocates (weights, a batch's output): beyond it, the layer refuses
# before allocating, naming itself and the bytes it would need, instead of a bare MemoryError.
MAX_ARRAY_BYTES = 2 * 2**30


def check_size(owner: str, what: str, shape, dtype=DEFAULT_DTYPE) -> None:
    """ValueError naming owner if an array of this shape would exceed MAX_ARRAY_BYTES."""
    need = math.prod(int(d) for d in shape) * np.dtype(dtype).itemsize
    if need > MAX_ARRAY_BYTES:
        raise ValueError(
            f"{owner}: {what} {tuple(int(d) for d in shape)} would need {need:,} bytes "
            f"({need / 2**30:,.1f} GiB), over the {MAX_ARRAY_BYTES / 2**30:g} GiB limit per array"
        )


def generator(rng: np.random.Generator | None) -> np.random.Generator:
    """The generator to draw from: rng when given, else a fresh unseeded one.

    The engine has no shared random state: every run (an explorer session, a training run, a
    test) makes a numpy Generator from its seed and passes it to what draws (rng= of the layer
    constructors, presets and from_spec; Module.set_rng or forward_ctx(x, rng) for dropout;
    batches). Nothing passed means fresh entropy, as with numpy.random.default_rng().
    """
    return rng if rng is not None else np.random.default_rng()


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


@dataclass(frozen=True, eq=False)
class Context:
    """What one forward call saved for its backward and explanations (arrays never modified).

    Each operation fills the fields it needs; the others stay None.
    """

    x: np.ndarray  # the input as the operation used it: (N, C, H, W) or (N, F); loss: pred
    out_shape: tuple[int, ...]  # (N, ...) of the output
    weight: np.ndarray | None = None  # Conv2d, Linear: copies of the parameter values used
    bias: np.ndarray | None = None
    xp: np.ndarray | None = None  # Conv2d: the zero-padded input, (N, C, H + 2p, W + 2p)
    argmax: np.ndarray | None = None  # MaxPool2d: each window's winner in its H*W plane
    mask: np.ndarray | None = None  # ReLU: x > 0; Dropout: the scaled keep-mask (None: identity)
    y: np.ndarray | None = None  # Sigmoid, Tanh: the output (their derivatives use it)
    parts: tuple = ()  # containers: the children's contexts, in children() order
    targets: np.ndarray | None = None  # losses: the targets
    probs: np.ndarray | None = None  # CrossEntropyLoss: softmax of the logits (N, K)
    diff: np.ndarray | None = None  # MSELoss: pred - target

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays the operation made for this context (x belongs to the caller);
        the Stepper's undo budget counts them."""
        own = (self.weight, self.bias, self.xp, self.argmax, self.mask, self.y, self.probs,
               self.diff)  # fmt: skip
        return sum(a.nbytes for a in own if a is not None) + sum(p.nbytes for p in self.parts)


class Module:
    """A layer: forward_ctx(x) -> (y, ctx), backward_ctx(ctx, grad_out) -> grad_input, explain."""

    training = True
    ctx: Context | None = None  # the context of the last forward() (what backward() uses)
    rng: np.random.Generator | None = None  # random layers draw from it (set_rng)

    def forward_ctx(self, x: np.ndarray, rng=None) -> tuple[np.ndarray, Context]:
        """(y, ctx): the output and what backward_ctx and explain need; rng for random layers."""
        if type(self).forward is Module.forward:
            raise NotImplementedError(f"{type(self).__name__} defines no forward_ctx")
        y = self.forward(x)  # a module written the classic way keeps its own state
        return y, Context(np.asarray(x), np.shape(y))

    def backward_ctx(self, ctx: Context, grad_out: np.ndarray, accumulate: bool = True):
        """grad_input from a forward's ctx; accumulate=False leaves parameter .grad untouched."""
        if type(self).backward is Module.backward:
            raise NotImplementedError(f"{type(self).__name__} defines no backward_ctx")
        return self.backward(grad_out)  # classic: from its last forward, whatever ctx says

    def explain_forward(self, ctx: Context, index):
        """How output element `index` of the forward that made ctx was computed."""
        raise ValueError(f"explain: {self!r} has no forward explanation; explain one layer")

    def explain_backward(self, ctx: Context, grad_out, index, wrt: str = "input"):
        """How element `index` of dL/d(input) or of a parameter's gradient (wrt) was computed."""
        raise ValueError(f"explain: {self!r} has no backward explanation; explain one layer")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """y for input x; keeps the context (in this module and its children) for backward()."""
        y, ctx = self.forward_ctx(x)
        self.keep(ctx)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """grad_input for the last forward(); accumulates the parameters' gradients."""
        if self.ctx is None:
            raise RuntimeError(f"{self!r}: backward() called before forward()")
        return self.backward_ctx(self.ctx, grad_out)

    def set_rng(self, rng: np.random.Generator) -> Module:
        """Make this module's random draws (dropout masks) and its children's come from rng."""
        self.rng = rng
        for child in self.children():
            child.set_rng(rng)
        return self

    def keep(self, ctx: Context) -> None:
        """Make ctx (and its parts, for the children) the one backward() uses."""
        self.ctx = ctx
        for child, part in zip(self.children(), ctx.parts, strict=False):
            child.keep(part)

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
