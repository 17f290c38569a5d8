"""RunSteps: engine.train's loop stepping the explorer's Stepper: a run is traced, undoable."""

from __future__ import annotations

from engine.runner import PlainSteps

FORWARD = ("forward", "loss")


class RunSteps(PlainSteps):
    """engine.train's step, op by op through the session's Stepper (each op traced, curves fed).

    A divergence undoes the Stepper back to the last good point (weights, optimizer state and
    trace); when its undo history does not reach that far, the weights and optimizer state are
    put back by copy and a fresh Stepper starts from them.
    """

    def __init__(self, session) -> None:
        super().__init__(session.model, session.loss, session.optimizer)
        self.session = session

    def use_rng(self, rng) -> None:
        """Nothing to do: the Stepper draws dropout masks from the session's generator."""

    def forward(self, x, y):
        """The batch's forward ops and the loss; (loss, logits)."""
        s = self.session
        s.stepper.set_data(x, y)  # a new iteration (an unfinished one restarts with it)
        while s.next_kind in FORWARD:
            s._step(by_run=True)
        return s.stepper.loss_value, s.stepper.activations[-1]

    def backward_update(self) -> None:
        """The backward ops and the optimizer update (the curves get the iteration)."""
        s = self.session
        while not s.stepper.done:
            s._step(by_run=True)

    def mark(self, reuse=None):
        """Where the Stepper is, and the copies PlainSteps keeps for the fallback."""
        st = self.session.stepper
        return (st.iteration, st.position, st.done), super().mark(reuse and reuse[1])

    def restore(self, point) -> None:
        """Undo to the mark (the loss measured there stays on the curves), or copy it back."""
        where, copies = point
        s = self.session
        while s._where() != where and s.stepper.undo() is not None:
            pass
        if s._where() != where:
            super().restore(copies)
            s._new_stepper(s.stepper.x, s.stepper.targets)
        s.sel.follow(s.stepper.current.op if s.stepper.current else None)
