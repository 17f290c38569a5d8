"""What each pane shows for a session: the tensor, its explanation, the layer rows, the summary."""

from __future__ import annotations

import numpy as np

from engine.explain import receptive_field
from tui.selection import TITLES, LayerRow, Shown


def _op_hint(session) -> str:
    """The key that computes the missing numbers, and what it runs next."""
    st = session.stepper
    key = {"forward": "f", "loss": "f", "loss_backward": "b", "backward": "b", "update": "u"}
    kind = "forward" if st.done else st.next_op.kind
    return f"press {key[kind]} (next: {op_label(session, st.next_op)})"


def _grad_hint(session) -> str:
    """What a gradient waits for: the rest of the forward pass and the loss first, then b."""
    st = session.stepper
    if not st.done and st.next_op.kind not in ("forward", "loss"):
        return _op_hint(session)
    ahead = len(st.ops) if st.done else len(st.ops) - st.position
    forward = len(session.layers) + 1 if st.done else session._remaining(("forward", "loss"))
    return (f"press f through the rest of the forward pass and the loss ({forward} op(s)), "
            f"then b backward (i runs all {ahead} op(s) of the iteration)")  # fmt: skip


def tensor(session) -> Shown:
    """One sample of the selected layer's input/output/gradient, or the filter of its weight."""
    sel, st = session.sel, session.stepper
    L, n, view = sel.layer, sel.sample, sel.view
    title = f"layer {L} {TITLES[view]}"
    if view.startswith("weight"):
        w = sel.weight()
        if view == "weight_grad" and st.grads[L] is None:
            # .grad holds zeros (or the last iteration's values) until backward reaches L:
            # a map of those would read as a computed gradient
            return Shown(None, title, message=f"{TITLES[view]} of layer {L} comes in the "
                         f"backward pass: {_grad_hint(session)}")  # fmt: skip
        a = w.value if view == "weight" else w.grad
        if a.ndim == 4:
            return Shown(a[sel.filter], f"{title} filter {sel.filter}", cursor=sel.w_cursor)
        return Shown(a, title, cursor=sel.w_cursor)
    source = {"input": st.activations[L], "output": st.activations[L + 1],
              "grad_out": st.grads[L + 1], "grad_input": st.grads[L]}[view]  # fmt: skip
    title += f" · sample {n + 1}/{len(st.x)}"
    if source is None:
        hint = _grad_hint(session) if view.startswith("grad") else _op_hint(session)
        return Shown(None, title, message=f"{TITLES[view]} of layer {L} is not computed yet: "
                     + hint)  # fmt: skip
    if view == "grad_input":
        return Shown(source[n], title, cursor=sel.in_cursor)
    if view != "input":
        return Shown(source[n], title, cursor=sel.out_cursor)
    if st.activations[L + 1] is None:  # nothing to relate the input to yet
        sel.anchor = None
        return Shown(source[n], title)
    field = receptive_field(session.layers[L], source.shape, (n, *sel.out_cursor))
    marks = frozenset(tuple(idx[1:]) for idx in field if idx[0] == n)
    on_channel = [m for m in sorted(marks) if len(m) < 3 or m[0] == sel.in_channel]
    sel.anchor = (on_channel or sorted(marks) or [None])[0]
    return Shown(source[n], title + " · receptive field", cursor=sel.anchor, highlight=marks)


def explanation(session):
    """The engine's Explanation for the selected element, or a sentence saying what is missing."""
    sel, st = session.sel, session.stepper
    L, n, view = sel.layer, sel.sample, sel.view
    last = len(session.layers) - 1
    try:
        if sel.loss_focus and st.loss_value is not None:
            return st.explain_loss(None)
        if view in ("input", "output"):
            if st.activations[L + 1] is None:
                return f"layer {L} has not run forward yet: {_op_hint(session)}"
            return st.explain_forward(L, (n, *sel.out_cursor))
        if view == "grad_out":
            if st.grads[L + 1] is None:
                return f"∂L/∂y of layer {L} comes in the backward pass: {_grad_hint(session)}"
            if L == last:
                return st.explain_loss((n, *sel.out_cursor), grad=True)
            return st.explain_backward(L + 1, (n, *sel.out_cursor), "input")
        if view == "grad_input":
            if st.grads[L] is None:
                return f"∂L/∂x of layer {L} comes in the backward pass: {_grad_hint(session)}"
            return st.explain_backward(L, (n, *sel.in_cursor), "input")
        w = sel.weight()
        index = (sel.filter, *sel.w_cursor) if w.value.ndim == 4 else tuple(sel.w_cursor)
        if st.grads[L] is None:
            value = float(w.value[index])
            return (f"W{list(index)} = {value:.4g}; its gradient comes when the backward pass "
                    f"reaches layer {L}: {_grad_hint(session)}")  # fmt: skip
        return st.explain_backward(L, index, "weight")
    except ValueError as exc:  # e.g. a layer explain does not cover: say so, keep running
        return f"no explanation here: {exc}"


def layer_rows(session) -> tuple[list[LayerRow], tuple[int, str] | None, int]:
    """Rows (input, layers, loss, update), the pass marker (row, kind) and the parameter total."""
    from tui.widgets.layers import short_name

    st = session.stepper
    shapes = session.sel.shapes()
    rows = [LayerRow("input", shapes[0], None, "input")]
    for i, layer in enumerate(session.layers):
        label, params = short_name(layer.spec()), layer.num_parameters()
        rows.append(LayerRow(label, shapes[i + 1], params, "layer"))
    loss = {"CrossEntropyLoss": "CE", "MSELoss": "MSE"}.get(type(session.loss).__name__, "loss")
    value = f" = {st.loss_value:.4g}" if st.loss_value is not None else ""
    rows.append(LayerRow(f"loss {loss}{value}", (), None, "loss"))
    rows.append(LayerRow(f"update ({session.opt_kind})", (), None, "update"))
    n = len(session.layers)
    op = st.next_op
    if st.done:
        marker = (n + 2, "done")
    elif op.kind == "forward":
        marker = (op.layer + 1, "down")
    elif op.kind == "backward":
        marker = (op.layer + 1, "up")
    elif op.kind == "update":
        marker = (n + 2, "update")
    else:
        marker = (n + 1, "down" if op.kind == "loss" else "up")
    return rows, marker, session.model.num_parameters()


LABEL_MAX = 40  # longer op labels (residual blocks, the update's full repr) use short names


def op_label(session, op) -> str:
    """The op's label, short enough to leave the iteration and optimizer on an 80-column line.

    "forward 1: ReLU()" stays; "update: Adam(lr=0.002, betas=(0.9, 0.999), ...)" becomes
    "update (Adam lr 0.002)"; a residual block's full repr becomes "Residual 8→16 s2".
    """
    from tui.widgets.layers import short_name

    if op.kind == "update":
        return f"update ({session.describe_optimizer()})"
    if len(op.label) <= LABEL_MAX or op.layer is None:
        return op.label
    head = op.label.split(":", 1)[0]
    return f"{head}: {short_name(session.layers[op.layer].spec())}"


def summary(session, running: bool = False) -> str:
    """The status line: the next op, iteration, the optimizer (unless the op names it), preset."""
    st = session.stepper
    if running:  # f is refused during a run: the run state before this says which keys work
        where = "training"
    elif st.done:
        where = "iteration done: f starts the next"
    else:
        where = f"next: {op_label(session, st.next_op)}"
    parts = [where, f"iteration {session.iteration_number + 1}, op {st.position}/{len(st.ops)}"]
    if st.done or st.next_op.kind != "update":
        parts.append(session.describe_optimizer())
    return " · ".join([*parts, session.preset.title])


def gradcheck_job(session):
    """(label, layer copy, input of one sample) for engine.gradcheck, computed off the trace."""
    import copy

    sel, st = session.sel, session.stepper
    L, n = sel.layer, sel.sample
    layer = copy.deepcopy(session.layers[L])
    x = st.activations[L]
    if x is None:  # run the layers before it (forward_ctx leaves them and the trace alone)
        x, rng = st.x[n : n + 1], np.random.default_rng(0)  # a throwaway generator for dropout
        for prev in session.layers[:L]:
            x = prev.forward_ctx(x, rng)[0]  # forward_ctx leaves the layers as they were
    else:
        x = x[n : n + 1]
    return f"layer {L} {layer!r}", layer, np.array(x, dtype=np.float64)
