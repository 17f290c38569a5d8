"""The stepper's records: Op, Record, ParamUpdate, Trace (what engine.stepper returns)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

OP_KINDS = ("forward", "loss", "loss_backward", "backward", "update")


@dataclass(frozen=True)
class Op:
    """One operation of an iteration: kind (OP_KINDS), top-level layer index or None, label."""

    kind: str
    layer: int | None
    label: str  # e.g. "forward 2: MaxPool2d(2)"


@dataclass(frozen=True, eq=False)
class ParamUpdate:
    """One parameter's update: index in optimizer.params, owner layer, name, optimizer.explain."""

    index: int
    layer: int | None  # top-level layer index owning the parameter
    name: str  # "0.weight", "2.1.bias" (path through the layers)
    info: dict  # optimizer.explain(index): lr, grad, value_before, value_after, ...; {} if frozen
    frozen: bool = False


@dataclass(frozen=True, eq=False)
class Record:
    """What one op read and produced (arrays are the trace's own; do not modify them)."""

    op: Op
    iteration: int
    input: np.ndarray | None = None  # forward, backward: the layer's input; loss: logits
    output: np.ndarray | None = None  # forward, backward: the layer's output
    grad_out: np.ndarray | None = None  # backward: dL/d(layer output)
    grad_input: np.ndarray | None = None  # backward: dL/d(layer input); loss_backward: dL/dlogits
    loss: float | None = None  # loss, loss_backward, update: the iteration's loss value
    updates: tuple[ParamUpdate, ...] = ()  # update: one per optimizer parameter
    ctx: object = None  # forward, loss: the Context the op returned (what backward reads)


@dataclass(eq=False)
class Trace:
    """Everything one iteration computed so far."""

    iteration: int
    x: np.ndarray  # (N, ...) the batch
    targets: np.ndarray
    activations: list  # L + 1 entries, None until computed
    grads: list  # L + 1 entries, None until computed
    loss_value: float | None
    records: list
    ctxs: list  # L entries: the Context of each layer's forward, None until computed
    loss_ctx: object = None  # the loss's Context, after the loss op

    def copy(self) -> Trace:
        """A copy whose lists can change without touching this one (arrays are shared)."""
        lists = dict(activations=list(self.activations), grads=list(self.grads),
                     ctxs=list(self.ctxs))  # fmt: skip
        return replace(self, records=list(self.records), **lists)


@dataclass
class Snapshot:
    """The state before one op, for undo (arrays are private copies, never modified)."""

    op: Op | None
    values: list
    grads: list
    opt_state: dict
    rng_state: dict  # the run's generator (dropout masks)
    trace: Trace
    position: int
    done: bool
    nbytes: int


def own(a) -> np.ndarray:
    """A private C-contiguous copy: layers may return views or reuse workspace buffers."""
    return np.array(a, copy=True, order="C")


def nbytes(obj) -> int:
    """Total bytes of the arrays in obj (nested dicts, lists, tuples)."""
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, dict):
        return sum(nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(nbytes(v) for v in obj)
    return 0


class TraceView:
    """Read-only views of the current Trace (a base of Stepper)."""

    _trace: Trace

    @property
    def iteration(self) -> int:
        """0-based index of the iteration the trace belongs to."""
        return self._trace.iteration

    @property
    def trace(self) -> Trace:
        """The current iteration's Trace."""
        return self._trace

    @property
    def activations(self) -> list:
        """activations[i] = input of layer i (activations[0] = x, [L] = logits) or None."""
        return self._trace.activations

    @property
    def grads(self) -> list:
        """grads[i] = dL/d activations[i], or None until computed."""
        return self._trace.grads

    @property
    def loss_value(self) -> float | None:
        """The loss of the current iteration, once the loss op ran."""
        return self._trace.loss_value

    @property
    def records(self) -> list[Record]:
        """Records of the current iteration's ops, in order."""
        return self._trace.records

    @property
    def x(self) -> np.ndarray:
        """The batch of the current iteration."""
        return self._trace.x

    @property
    def targets(self) -> np.ndarray:
        """The targets of the current iteration."""
        return self._trace.targets

    @property
    def current(self) -> Record | None:
        """The last Record of the current iteration, or None at its start."""
        return self._trace.records[-1] if self._trace.records else None
