"""OptimizerPane: the last update of one parameter element, term by term, from opt.explain(i)."""

from __future__ import annotations

import numpy as np
from rich.segment import SegmentLines
from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

from tui.widgets.linediff import laid_out, repaint_changed


def _at(value, flat: int):
    """One element of an array (flat index), or the float itself for scalars."""
    if isinstance(value, np.ndarray):
        return float(value.reshape(-1)[flat]) if value.size else float("nan")
    return value


def fmt(x) -> str:
    """Compact number: 4 significant digits, exponent only when it must."""
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.4g}"


def describe(opt) -> str:
    """The optimizer and its hyperparameters in one line."""
    name = type(opt).__name__
    wd = getattr(opt, "weight_decay", 0.0)
    if name == "Adam":
        b1, b2 = opt.betas
        return f"Adam lr {fmt(opt.lr)} β1 {b1:g} β2 {b2:g} ε {opt.eps:g} L2 {wd:g}"
    mom = getattr(opt, "momentum", 0.0)
    label = "SGD+momentum" if mom else "SGD"
    return f"{label} lr {fmt(opt.lr)}" + (f" μ {mom:g}" if mom else "") + f" L2 {wd:g}"


def update_rows(opt, rec: dict, flat: int) -> list[tuple[str, str, str]]:
    """(term, formula, value) rows for one element of a recorded update, in the order computed."""
    g = _at(rec["grad"], flat)
    rows = [("learning rate", "η", fmt(rec["lr"])), ("gradient", "g = ∂L/∂w", fmt(g))]
    if "l2_term" in rec:
        rows.append(("L2 term", "λ·w (added to g)", fmt(_at(rec["l2_term"], flat))))
    if "m" in rec:  # Adam
        b1, b2 = opt.betas
        rows += [
            ("step", "t", fmt(rec["step"])),
            ("1st moment", f"m = {b1:g}·m + {1 - b1:.3g}·g", fmt(_at(rec["m"], flat))),
            ("2nd moment", f"v = {b2:g}·v + {1 - b2:.3g}·g²", fmt(_at(rec["v"], flat))),
            ("bias corr. 1", "1 - β1^t", fmt(rec["bias_correction1"])),
            ("bias corr. 2", "1 - β2^t", fmt(rec["bias_correction2"])),
            ("corrected m", "m̂ = m / (1 - β1^t)", fmt(_at(rec["m_hat"], flat))),
            ("corrected v", "v̂ = v / (1 - β2^t)", fmt(_at(rec["v_hat"], flat))),
        ]
        step = "w - η·m̂/(√v̂+ε)"
    elif "momentum_buffer" in rec:
        mom = getattr(opt, "momentum", 0.0)
        rows.append(("momentum buf", f"b = {mom:g}·b + g", fmt(_at(rec["momentum_buffer"], flat))))
        step = "w - η·b"
    else:
        step = "w - η·g"
    before, after = _at(rec["value_before"], flat), _at(rec["value_after"], flat)
    rows += [("value before", "w", fmt(before)), ("value after", f"w' = {step}", fmt(after))]
    return rows


# Rows that may go when the pane is short, least needed first: the bias corrections reappear
# as numbers in the m̂ and v̂ formulas, t joins the "where" line, lr is in the title line.
# The gradient and the value before and after always stay.
DROPPABLE = ("bias corr. 1", "bias corr. 2", "step", "learning rate", "1st moment", "2nd moment")


def fit_rows(rows: list[tuple[str, str, str]], max_rows: int) -> tuple[list, list[str]]:
    """At most max_rows rows, dropping DROPPABLE ones in order; also the notes they leave.

    A dropped bias correction is folded into its corrected moment's formula ("m̂ = m / 0.1"),
    a dropped step becomes the note "t = 3" (for the header).
    """
    rows, notes = list(rows), []
    by_term = {term: value for term, _, value in rows}
    for term in DROPPABLE:
        if len(rows) <= max_rows:
            break
        if term not in by_term:
            continue
        rows = [row for row in rows if row[0] != term]
        if term == "step":
            notes.append(f"t = {by_term[term]}")
        elif term.startswith("bias corr."):
            k = term[-1]
            target = "corrected m" if k == "1" else "corrected v"
            symbol = "m̂ = m" if k == "1" else "v̂ = v"
            rows = [
                (t, f"{symbol} / {by_term[term]}", v) if t == target else (t, f, v)
                for t, f, v in rows
            ]
    return rows, notes


class OptimizerPane(Widget, can_focus=True):
    """Left/right pick the parameter, up/down the element; o/+/- on the screen change optimizer."""

    BINDINGS = [
        Binding("left", "param(-1)", "param", show=False),
        Binding("right", "param(1)", "param", show=False),
        Binding("up", "element(-1)", "element", show=False),
        Binding("down", "element(1)", "element", show=False),
    ]

    param_index: reactive[int] = reactive(0)
    element: reactive[int] = reactive(0)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Optimizer"
        self.opt = None
        self.names: list[str] = []
        self.note = ""
        self._shown = None  # what show() last displayed
        self._drawn = None  # the lines last drawn (see repaint_changed)

    def show(self, opt, names: list[str], param_index: int | None = None, version=None,
             note: str = "") -> None:  # fmt: skip
        """Display `opt`; `names` label opt.params; optionally jump to one parameter.

        version: anything that changes when the numbers may have (e.g. where the stepper
        stands); with the same optimizer, names, settings and note the pane is not repainted.
        note: a line under the title about the model's regularization (its dropout).
        """
        key = (id(opt), tuple(names), describe(opt) if opt is not None else "", version, note)
        if param_index is not None and param_index != self.param_index:
            self.param_index, self.element = param_index, 0
        elif version is not None and key == self._shown:
            return
        self.opt, self.names, self.note, self._shown = opt, list(names), note, key
        self._clamp()
        seen = self._seen()
        if seen != self._seen_last:  # a forward step changes none of what the pane shows
            self._seen_last = seen
            self._drawn = repaint_changed(self, self._drawn)

    _seen_last = None
    _record_held = None

    def _seen(self) -> tuple:
        """What the pane shows, in brief: the optimizer and its settings, the element's value
        and gradient, its last update record, the pane's size. Laying out the pane's table
        is most of a step's time, so a step that changes none of these draws nothing."""
        opt = self.opt
        if opt is None or not opt.params:
            return (id(opt),)
        i, flat = self.param_index, self.element
        p = opt.params[i]
        try:
            record = opt.explain(i).get("value_after")  # read-only, replaced by each update
        except ValueError:
            record = None
        self._record_held = record  # alive while its id is kept below: no reuse of the id
        grad = None if p.grad is None else float(p.grad.flat[flat])
        return (id(opt), describe(opt), tuple(self.names), self.note, i, flat, p.requires_grad,
                float(p.value.flat[flat]), grad, id(record), self.content_size)  # fmt: skip

    def _clamp(self) -> None:
        n = len(self.opt.params) if self.opt is not None else 0
        self.param_index = min(max(self.param_index, 0), max(n - 1, 0))
        size = self.opt.params[self.param_index].value.size if n else 1
        self.element = min(max(self.element, 0), size - 1)

    def action_param(self, delta: int) -> None:
        """Select the previous/next parameter tensor."""
        self.param_index += delta
        self.element = 0
        self._clamp()

    def action_element(self, delta: int) -> None:
        """Select the previous/next element of the parameter."""
        self.element += delta
        self._clamp()

    def render(self) -> Text | Table | SegmentLines:
        """Header, selected element, then the update's terms (or why there are none yet)."""
        if (lines := laid_out(self)) is not None:
            return lines
        opt = self.opt
        if opt is None or not opt.params:
            return Text("no optimizer yet")
        i, flat = self.param_index, self.element
        p = opt.params[i]
        name = self.names[i] if i < len(self.names) else f"params[{i}]"
        idx = ",".join(map(str, np.unravel_index(flat, p.value.shape))) if p.value.ndim else ""
        # Narrow panes drop the words and keep the formulas, which carry the same meaning.
        wide = self.content_size.width >= 48
        table = Table.grid(padding=(0, 1))
        if wide:
            table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_column(justify="right", no_wrap=True)
        title = Text(describe(opt), style="bold")
        where = Text(f"{name}[{idx}]  ({flat + 1} of {p.value.size})")
        try:
            rec = opt.explain(i)
        except ValueError as exc:
            rec, reason = None, str(exc)
        if rec is None:
            note = "frozen" if "frozen" in reason else "no update yet: u applies one"
            rows = [("value", "w", fmt(_at(p.value, flat)))]
            rows += [("gradient", "g = ∂L/∂w", fmt(_at(p.grad, flat))), ("", note, "")]
        else:
            # A short pane (80x24) must still show w': rows give way, not the result.
            width = max(self.content_size.width, 1)
            head = -(-title.cell_len // width) + -(-where.cell_len // width)
            head += -(-len(self.note) // width) if self.note else 0
            rows, notes = fit_rows(update_rows(opt, rec, flat), self.content_size.height - head)
            if notes:
                where.append("  " + "  ".join(notes))
        for term, formula, value in rows:
            table.add_row(*((term,) if wide else ()), formula, value)
        grid = Table.grid()
        grid.add_row(title)
        if self.note:
            grid.add_row(Text(self.note))
        grid.add_row(where)
        grid.add_row(table)
        return grid
