"""GradFlowScreen: per layer, ||dL/dx|| and ||dL/dW|| after a backward pass, for any model."""

from __future__ import annotations

import copy

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.colormode import use_color
from tui.safety import Guarded
from tui.widgets.gradflow import flow_table

GUIDE = (
    "Each row is a top-level layer: the norm of the gradient of the loss with respect to its "
    "input (dL/dx, as a log-scale bar) and to its weights (dL/dW). A layer is flagged "
    "vanishing when its dL/dx is below 1/1000 of the loss gradient's, exploding above 1000x."
)


def flow_snapshot(stepper) -> tuple[list, str]:
    """The stepper's own flow when its backward pass reached layer 0, else one on copies.

    Call with the session's lock held: the copies are taken from the live model.
    """
    from engine.gradflow import flow_from_stepper, gradient_flow

    if all(g is not None for g in stepper.grads):
        return flow_from_stepper(stepper), (
            f"after the backward pass of iteration {stepper.iteration + 1}"
        )
    model, loss = copy.deepcopy(stepper.model), copy.deepcopy(stepper.loss)
    flow = gradient_flow(model, loss, stepper.x, stepper.targets)
    return flow, (
        "one forward and backward pass of the current batch, on a copy (the backward pass "
        "here has not reached layer 0 yet; the explorer's state is unchanged)"
    )


class GradFlowScreen(Guarded, ModalScreen[None]):
    """The gradient-flow table of the explorer's model; escape closes it."""

    BINDINGS = [Binding("escape,q,G", "dismiss", "close")]

    def __init__(self, flow: list, note: str) -> None:
        super().__init__()
        self.flow, self.note = flow, note

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="gf-table")
            yield Static(Text(f"{self.note}\n{GUIDE}\nescape closes", style="dim"), id="gf-note")

    def on_mount(self) -> None:
        self.border_title = "gradient flow"
        self.query_one(VerticalScroll).border_title = "gradient flow"
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        """The table at the current width."""
        width = max(40, self.query_one(VerticalScroll).size.width - 2)
        table = flow_table(self.flow, width, color=use_color(self.app))
        flagged = [f for f in self.flow if f.status != "ok"]
        summary = Text(
            f"\n{len(flagged)} layer(s) flagged: "
            + ", ".join(f"{f.index} {f.status}" for f in flagged)
            if flagged
            else "\nno layer flagged",
            style="bold",
        )
        self.query_one("#gf-table", Static).update(table + summary)
