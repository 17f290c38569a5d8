"""Run one training iteration an operation at a time, keep a trace of every number, undo.

    s = Stepper(model, loss, optimizer, x, targets)   # model: Sequential of L top-level layers
    s.ops          # one iteration: forward 0..L-1, loss, loss_backward, backward L-1..0, update
    s.next_op      # the Op the next step() runs
    rec = s.step() # run it; returns its Record (rec.op, rec.input, rec.output, rec.grad_out, ...)
    s.activations  # [x, out of layer 0, ..., logits]: activations[i] is layer i's input (None
                   # until computed); s.grads[i] = dL/d activations[i]; s.loss_value
    s.trace.ctxs   # ctxs[i]: the Context layer i's forward returned (what its backward and
                   # explanations read); trace.loss_ctx the loss's
    s.undo()       # back one op: params, grads, optimizer state, the run's generator, trace
    s.reset()      # back to construction (keeps the current batch); s.set_data(x, targets)
    s.explain_forward(i, (n, c, h, w)) / s.explain_backward(i, index, wrt="input"|"weight"|"bias"
                   # or a parameter inside a block: "0.weight", "projection.bias")
    s.explain_loss(index=None, grad=False)  # the layers' and loss's explain on the trace's ctxs

Iterations: `position` counts the ops done in the current iteration `iteration` (0-based);
after the update `done` is True and the trace stays visible; the next step() starts iteration + 1
with a fresh trace (undo crosses that boundary too). loss_backward zeroes every parameter's .grad
first (like optimizer.zero_grad() before loss.backward()), so the last iteration's gradients stay
visible until then. The update runs with optimizer.record on and stores optimizer.explain(i) per
parameter in the Record. The trace is a tape: each forward op keeps the Context its layer
returned (its input, masks, argmax, the parameter values it used), and the backward ops and
every explanation read those records, so after undo, or after the update, they show exactly the
numbers of that iteration; nothing is recomputed or replayed.

Errors: an exception inside an op leaves the stepper exactly as before the op and propagates. A
DivergenceError (non-finite loss) is re-raised as a DivergenceError naming the op, the iteration
and the position the stepper stayed at; fix the cause (lower lr, undo, reset) and step again.

Randomness: dropout masks are drawn from `rng` (a numpy Generator the run owns, given to the
constructor). Its state is part of the run's state: undo restores it with the parameters, so
stepping again after undo draws the same masks.

Undo history: a snapshot (copies of params, grads, optimizer state, generator state; the trace
and the optimizer's read-only update records by reference) is kept before each op, at most
`max_history` ops (default 256) and about `max_history_bytes` (default 128 MiB) of them; the
oldest are dropped first, so undo stops there.
reset() needs no history.

Ownership: between steps, leave the model to the stepper. Build a new Stepper after changing the
layers, loading parameters or training with another loop (snapshots would restore the old
values); use a deep copy to run the model on other data. A Stepper is not thread-safe: call it
from one thread (a worker) at a time. Records and trace arrays are shared, never modify them.
"""

from __future__ import annotations

import copy
from collections import deque

import numpy as np

from engine.losses import DivergenceError
from engine.model import named_parameters
from engine.module import generator
from engine.stepper_records import (
    OP_KINDS,
    Op,
    ParamUpdate,
    Record,
    Snapshot,
    Trace,
    TraceView,
    nbytes,
    own,
)

__all__ = ["OP_KINDS", "Op", "ParamUpdate", "Record", "Stepper", "Trace"]


class Stepper(TraceView):
    """Execute model + loss + optimizer one op at a time, with a trace and undo."""

    def __init__(self, model, loss, optimizer, x, targets, *, rng=None, max_history: int = 256,
                 max_history_bytes: int = 128 * 2**20):  # fmt: skip
        if not hasattr(model, "layers"):
            raise ValueError(f"Stepper: model must be a Sequential, got {type(model).__name__}")
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.rng = generator(rng)  # dropout masks; undo restores its state
        self.layers = list(model.layers)
        L = len(self.layers)
        self.ops: list[Op] = (
            [Op("forward", i, f"forward {i}: {layer!r}") for i, layer in enumerate(self.layers)]
            + [Op("loss", None, f"loss: {loss!r}"), Op("loss_backward", None, "loss backward")]
            + [Op("backward", i, f"backward {i}: {self.layers[i]!r}") for i in reversed(range(L))]
            + [Op("update", None, f"update: {optimizer!r}")]
        )
        named = named_parameters(model)
        seen = {id(p) for _, p in named}
        extra = [p for p in optimizer.params if id(p) not in seen]
        self._params = [p for _, p in named] + extra
        self._owner = {id(p): (int(n.split(".")[0]), n) for n, p in named}
        self.max_history = max(int(max_history), len(self.ops) + 1)
        self.max_history_bytes = int(max_history_bytes)
        self._history: deque[Snapshot] = deque()
        self._history_bytes = 0
        x, targets = self._check_data(x, targets)
        self._trace = self._new_trace(0, x, targets)
        self.position, self.done = 0, False
        self._initial = self._capture(None)

    # ---- state -------------------------------------------------------------------------
    @property
    def next_op(self) -> Op:
        """The Op the next step() runs (forward 0 of a new iteration once done)."""
        return self.ops[0] if self.done else self.ops[self.position]

    @property
    def can_undo(self) -> bool:
        """Whether undo() has a snapshot to go back to."""
        return bool(self._history)

    @property
    def history_size(self) -> int:
        """How many ops undo() can go back."""
        return len(self._history)

    def __repr__(self) -> str:
        return (f"Stepper(iteration={self.iteration}, position={self.position}/{len(self.ops)}, "
                f"next={self.next_op.label!r})")  # fmt: skip

    # ---- stepping ----------------------------------------------------------------------
    def step(self) -> Record:
        """Run next_op and return its Record; after the update this starts a new iteration."""
        snapshot = self._capture(self.next_op)
        try:
            if self.done:
                self._begin_iteration()
            op = self.ops[self.position]
            record = self._run(op)
        except DivergenceError as e:
            self._restore(snapshot)
            raise DivergenceError(
                f"{snapshot.op.label} diverged in iteration {self.iteration}: {e}. Nothing "
                f"changed: the stepper is still before that op (position {self.position}); "
                "lower the learning rate, undo or reset.",
                e.value,
            ) from e
        except BaseException:
            self._restore(snapshot)
            raise
        self._trace.records.append(record)
        self.position += 1
        self.done = self.position == len(self.ops)
        snapshot.nbytes += nbytes([record.output, record.grad_input])
        snapshot.nbytes += record.ctx.nbytes if record.ctx is not None else 0
        snapshot.nbytes += nbytes([u.info for u in record.updates])
        self._push(snapshot)
        return record

    def run_iteration(self) -> float:
        """Finish the current iteration (a whole new one when done) and return its loss."""
        if self.done:
            self.step()
        while not self.done:
            self.step()
        return self._trace.loss_value

    def undo(self) -> Op | None:
        """Go back one op (across iterations too); returns the op undone, None at the start."""
        if not self._history:
            return None
        snapshot = self._history.pop()
        self._history_bytes -= snapshot.nbytes
        self._restore(snapshot)
        return snapshot.op

    def reset(self, keep_data: bool = True) -> None:
        """Back to the construction state (params, grads, optimizer, rng, trace); clears undo.

        keep_data=True keeps the batch last given to set_data (the one the user is looking at).
        """
        x, targets = self._trace.x, self._trace.targets
        self._restore(self._initial)
        self._history.clear()
        self._history_bytes = 0
        if keep_data:
            self._put_data(x, targets)

    def set_data(self, x, targets) -> None:
        """Use a new batch: the current iteration restarts (or the next begins) with it.

        Mid-iteration the ops done so far are undone first; after the update a new iteration
        starts. Not itself undoable: undo from here goes to earlier states with their own data.
        """
        x, targets = self._check_data(x, targets)
        while self.position > 0 and not self.done:
            if self.undo() is None:
                break
        if self.done:
            self._begin_iteration()
        elif self.position > 0:  # the history no longer reaches the iteration start
            self._trace = self._new_trace(self.iteration, x, targets)
            self.position = 0
        self._put_data(x, targets)

    # ---- explanations with the trace's numbers ------------------------------------------
    def explain_forward(self, layer: int, index):
        """Layer `layer`'s explain_forward at output index, from its context in the trace."""
        self._need(self.activations[layer + 1], f"forward {layer}")
        return self.layers[layer].explain_forward(self._trace.ctxs[layer], index)

    def explain_backward(self, layer: int, index, wrt: str = "input"):
        """Layer `layer`'s explain_backward, from its traced context and grad_out."""
        self._need(self.grads[layer + 1], f"the gradient into layer {layer} (its grad_out)")
        t = self._trace
        return self.layers[layer].explain_backward(t.ctxs[layer], t.grads[layer + 1], index, wrt)

    def explain_loss(self, index=None, grad: bool = False):
        """The loss's explain on the traced logits and targets (after the loss op)."""
        self._need(self._trace.loss_value, "the loss")
        return self.loss.explain(self._trace.loss_ctx, index, grad=grad)

    def _need(self, value, what: str) -> None:
        if value is None:
            raise ValueError(f"{what} has not been computed yet in iteration {self.iteration}")

    # ---- machinery -----------------------------------------------------------------------
    def _check_data(self, x, targets) -> tuple[np.ndarray, np.ndarray]:
        x, targets = own(x), own(targets)
        if x.ndim not in (2, 4) or x.shape[0] == 0:
            raise ValueError(f"Stepper: x must be a batch (N, C, H, W) or (N, F), got {x.shape}")
        if targets.ndim == 0 or targets.shape[0] != x.shape[0]:
            raise ValueError(
                f"Stepper: {x.shape[0]} samples in x but targets have shape {targets.shape}"
            )
        return x, targets

    def _put_data(self, x: np.ndarray, targets: np.ndarray) -> None:
        """Give the (not yet started) current iteration this batch."""
        self._trace.x, self._trace.targets = x, targets
        self._trace.activations[0] = x

    def _new_trace(self, iteration: int, x, targets) -> Trace:
        L = len(self.layers)
        return Trace(iteration, x, targets, [x] + [None] * L, [None] * (L + 1), None, [],
                     [None] * L)  # fmt: skip

    def _begin_iteration(self) -> None:
        t = self._trace
        self._trace = self._new_trace(t.iteration + 1, t.x, t.targets)
        self.position, self.done = 0, False

    def _run(self, op: Op) -> Record:
        t, i, it = self._trace, op.layer, self._trace.iteration
        if op.kind == "forward":
            y, ctx = self.layers[i].forward_ctx(t.activations[i], self.rng)
            t.activations[i + 1], t.ctxs[i] = own(y), ctx
            return Record(op, it, input=t.activations[i], output=t.activations[i + 1], ctx=ctx)
        if op.kind == "loss":
            loss, t.loss_ctx = self.loss.forward_ctx(t.activations[-1], t.targets)
            t.loss_value = float(loss)
            return Record(op, it, input=t.activations[-1], loss=t.loss_value, ctx=t.loss_ctx)
        if op.kind == "loss_backward":
            for p in self._params:
                p.zero_grad()
            t.grads[-1] = own(self.loss.backward_ctx(t.loss_ctx))
            return Record(op, it, grad_input=t.grads[-1], loss=t.loss_value)
        if op.kind == "backward":
            t.grads[i] = own(self.layers[i].backward_ctx(t.ctxs[i], t.grads[i + 1]))
            return Record(op, it, input=t.activations[i], output=t.activations[i + 1],
                          grad_out=t.grads[i + 1], grad_input=t.grads[i])  # fmt: skip
        recording, self.optimizer.record = self.optimizer.record, True
        try:
            self.optimizer.step()
        finally:
            self.optimizer.record = recording
        return Record(op, it, loss=t.loss_value, updates=self._updates())

    def _updates(self) -> tuple[ParamUpdate, ...]:
        out = []
        for k, p in enumerate(self.optimizer.params):
            layer, name = self._owner.get(id(p), (None, p.name or f"param{k}"))
            frozen = not p.requires_grad
            info = {} if frozen else self.optimizer.explain(k)
            out.append(ParamUpdate(k, layer, name, info, frozen))
        return tuple(out)

    def _capture(self, op: Op | None) -> Snapshot:
        values = [p.value.copy() for p in self._params]
        grads = [p.grad.copy() for p in self._params]
        opt_state = self.optimizer.state_dict()
        state = copy.deepcopy(self.rng.bit_generator.state)
        # The optimizer's records are shared, and counted once, by the update op that made them.
        size = nbytes(values) + nbytes(grads) + nbytes(opt_state["state"])
        return Snapshot(op, values, grads, opt_state, state, self._trace.copy(),
                        self.position, self.done, size)  # fmt: skip

    def _restore(self, s: Snapshot) -> None:
        for p, v, g in zip(self._params, s.values, s.grads, strict=True):
            np.copyto(p.value, v)
            np.copyto(p.grad, g)
        self.optimizer.load_state_dict(s.opt_state)  # copies the state: s stays pristine
        self.rng.bit_generator.state = copy.deepcopy(s.rng_state)
        self._trace = s.trace.copy()
        self.position, self.done = s.position, s.done

    def _push(self, snapshot: Snapshot) -> None:
        self._history.append(snapshot)
        self._history_bytes += snapshot.nbytes
        while len(self._history) > 1 and (
            len(self._history) > self.max_history or self._history_bytes > self.max_history_bytes
        ):
            self._history_bytes -= self._history.popleft().nbytes
