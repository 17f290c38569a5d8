"""Stepper: op-by-op execution equals a direct training step; undo/reset restore bit for bit."""

import copy

import numpy as np
import pytest

from engine import (
    SGD,
    Adam,
    CrossEntropyLoss,
    DivergenceError,
    Dropout,
    Flatten,
    Linear,
    ReLU,
    Residual,
    Sequential,
    Stepper,
)
from engine.conv import Conv2d
from engine.pool import MaxPool2d
from engine.presets import article, article_input, article_target


def small_net():
    """Conv-ReLU-MaxPool-Residual-Dropout-Flatten-Linear in float64, batch 3 of 1x6x6, CE, Adam;
    and the run's generator (init, x, then the dropout masks)."""
    g = np.random.default_rng(7)
    model = Sequential(
        Conv2d(1, 3, 3, padding=1, rng=g),  # (3, 6, 6)
        ReLU(),
        MaxPool2d(2),  # (3, 3, 3)
        Residual(Conv2d(3, 3, 3, padding=1, rng=g), ReLU()),
        Dropout(0.3),
        Flatten(),  # (27,)
        Linear(27, 4, rng=g),
    ).to(np.float64)
    x = g.standard_normal((3, 1, 6, 6))
    targets = np.array([0, 3, 1])
    opt = Adam(model.parameters(), lr=0.05, weight_decay=0.01)
    return model, CrossEntropyLoss(), opt, x, targets, g


def make_stepper(**kwargs):
    model, loss, opt, x, targets, g = small_net()
    return Stepper(model, loss, opt, x, targets, rng=g, **kwargs)


def snapshot(s):
    """Everything undo promises to restore, as plain copies."""
    return {
        "values": [p.value.copy() for p in s.model.parameters()],
        "grads": [p.grad.copy() for p in s.model.parameters()],
        "opt": s.optimizer.state_dict(),
        "rng": copy.deepcopy(s.rng.bit_generator.state),
        "where": (s.iteration, s.position, s.done, s.loss_value, len(s.records)),
        "activations": [None if a is None else a.copy() for a in s.activations],
        "trace_grads": [None if g is None else g.copy() for g in s.grads],
    }


def assert_same(a, b, path="state"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            assert_same(u, v, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, path
        np.testing.assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b, path


def test_article_forward_gives_sixes_and_explains_six():
    p = article()
    s = Stepper(p.model, p.loss, SGD(p.model.parameters(), lr=0.01), article_input(),
                article_target())  # fmt: skip
    assert [op.kind for op in s.ops] == ["forward", "loss", "loss_backward", "backward", "update"]
    assert s.ops[0].label == "forward 0: Conv2d(1->1, k=3, s=1, p=0)" and s.current is None
    record = s.step()
    assert record.op is s.ops[0] and s.current is record and s.next_op.kind == "loss"
    np.testing.assert_array_equal(record.output, np.full((1, 1, 3, 3), 6, dtype=np.float32))
    assert s.activations[1] is record.output and s.activations[0] is record.input
    e = s.explain_forward(0, (0, 0, 1, 2))
    assert e.total == 6 and len(e.terms) == 9 and e.text().endswith("= 6")
    assert s.step().loss == 36.0 == s.loss_value  # mean of 6^2 against zeros


def test_stepping_equals_direct_training_bit_for_bit():
    s = make_stepper()
    model, loss, opt, x, targets, g = small_net()  # an identical, separate copy
    losses = [s.run_iteration() for _ in range(2)]
    model.set_rng(g)  # the copy's generator, in the state the stepper's started from
    direct = []
    for _ in range(2):
        opt.zero_grad()
        direct.append(loss.forward(model.forward(x), targets))
        model.backward(loss.backward())
        opt.step()
    assert losses == direct
    for a, b in zip(s.model.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(a.value, b.value)
        np.testing.assert_array_equal(a.grad, b.grad)
    assert_same(s.optimizer.state_dict()["state"], opt.state_dict()["state"])


def test_undo_after_every_op_restores_everything_and_redo_repeats():
    s = make_stepper()
    first = []
    for _ in range(2 * len(s.ops) + 3):  # two iterations and a bit, every op kind
        before = snapshot(s)
        record = s.step()
        after = snapshot(s)
        assert s.undo() is record.op
        assert_same(snapshot(s), before)
        again = s.step()  # replays from restored state, including dropout's draws
        assert_same(snapshot(s), after)
        first.append(again)
    # Undo all the way back into iteration 0's backward pass, then redo: same numbers.
    while s.iteration > 0 or s.position > len(s.layers) + 3:
        s.undo()
    redo = [s.step() for _ in range(len(first) - s.position)]
    for r in redo:
        old = next(o for o in first if o.op == r.op and o.iteration == r.iteration)
        for field in ("input", "output", "grad_out", "grad_input"):
            a, b = getattr(r, field), getattr(old, field)
            assert (a is None and b is None) or np.array_equal(a, b), (r.op.label, field)


def test_undo_at_start_and_reset():
    s = make_stepper()
    start = snapshot(s)
    assert s.undo() is None and not s.can_undo
    assert_same(snapshot(s), start)
    for _ in range(len(s.ops) + 4):
        s.step()
    s.reset()
    assert_same(snapshot(s), start)
    assert s.history_size == 0 and s.current is None and s.iteration == 0


def test_iteration_boundary():
    s = make_stepper()
    loss = s.run_iteration()
    assert s.done and s.position == len(s.ops) and s.next_op is s.ops[0]
    assert s.current.op.kind == "update" and s.loss_value == loss
    assert all(a is not None for a in s.activations) and all(g is not None for g in s.grads)
    names = [u.name for u in s.current.updates]
    assert names[:2] == ["0.weight", "0.bias"] and s.current.updates[2].layer == 3
    info = s.current.updates[0].info
    np.testing.assert_array_equal(info["value_after"], s.model.layers[0].weight.value)
    s.step()
    assert (s.iteration, s.position, s.done, s.loss_value) == (1, 1, False, None)
    assert s.activations[2] is None and all(g is None for g in s.grads)
    s.undo()
    assert (s.iteration, s.position, s.done, s.loss_value) == (0, len(s.ops), True, loss)


def test_explain_after_update_uses_the_parameters_of_that_iteration():
    s = make_stepper()
    s.run_iteration()
    y = s.activations[1]
    weight = s.model.layers[0].weight.value.copy()
    e = s.explain_forward(0, (1, 2, 3, 4))
    assert e.total == pytest.approx(y[1, 2, 3, 4], rel=1e-12)
    np.testing.assert_array_equal(s.model.layers[0].weight.value, weight)  # put back
    g = s.explain_backward(0, (1, 0, 1, 2), wrt="weight")
    assert g.total == pytest.approx(s.current.updates[0].info["grad"][1, 0, 1, 2], rel=1e-12)


def test_explain_dropout_after_undo_matches_the_trace():
    s = make_stepper()
    s.run_iteration()
    s.run_iteration()  # layer caches now hold iteration 1
    for _ in range(len(s.ops)):
        s.undo()  # back to iteration 0, done
    assert s.iteration == 0 and s.done
    out = s.activations[5]
    for index in [(0, 0, 1, 1), (2, 1, 0, 2), (1, 2, 2, 0)]:
        assert s.explain_forward(4, index).total == out[index]
    s.reset()
    with pytest.raises(ValueError, match="forward 2 has not been computed"):
        s.explain_forward(2, (0, 0, 0, 0))


def test_divergence_leaves_state_unchanged_and_names_the_op():
    s = make_stepper()
    s.model.layers[6].bias.value[1] = np.inf  # logits inf: the softmax gives NaN
    for _ in range(len(s.layers)):
        s.step()
    before = snapshot(s)
    with pytest.raises(
        DivergenceError, match=r"loss: CrossEntropyLoss\(\) diverged in iteration 0"
    ):
        s.step()
    assert_same(snapshot(s), before)
    assert s.next_op.kind == "loss"


def test_error_in_an_op_restores_state():
    s = make_stepper()
    s.set_data(s.x, np.array([0, 9, 1]))  # class 9 does not exist
    for _ in range(len(s.layers)):
        s.step()
    before = snapshot(s)
    with pytest.raises(ValueError, match="out of range"):
        s.step()
    assert_same(snapshot(s), before)


def test_set_data_restarts_the_iteration():
    s = make_stepper()
    start = snapshot(s)
    for _ in range(len(s.layers) + 4):
        s.step()
    x2 = s.x[::-1].copy()
    s.set_data(x2, s.targets)
    after = snapshot(s)
    assert after["where"] == (0, 0, False, None, 0)
    np.testing.assert_array_equal(s.activations[0], x2)
    assert_same(after["grads"], start["grads"])
    assert_same(after["values"], start["values"])
    s.run_iteration()
    s.set_data(s.x[:2], s.targets[:2])  # after the update: the next iteration starts with it
    assert (s.iteration, s.position, s.x.shape[0]) == (1, 0, 2)
    with pytest.raises(ValueError, match="3 samples"):
        s.set_data(np.zeros((3, 1, 6, 6)), np.zeros(2, dtype=int))


def test_history_is_capped():
    s = make_stepper(max_history=20)
    assert s.max_history == 20
    for _ in range(30):
        s.step()
    assert s.history_size == 20
    undone = 0
    while s.undo() is not None:
        undone += 1
    assert undone == 20 and (s.iteration, s.position) == (0, 10)
    tiny = make_stepper(max_history_bytes=1)
    tiny.step()
    tiny.step()
    assert tiny.history_size == 1


def test_explain_reaches_every_parameter_inside_a_residual_block():
    model = Sequential(
        Conv2d(1, 2, 3, padding=1),  # (2, 6, 6)
        Residual(Conv2d(2, 3, 3, stride=2, padding=1), ReLU(), Conv2d(3, 3, 1)),  # (3, 3, 3)
        Flatten(),
        Linear(27, 4),
    ).to(np.float64)
    x = np.random.default_rng(2).standard_normal((2, 1, 6, 6))
    s = Stepper(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), x, np.array([1, 3]))
    for _ in range(len(s.layers) + 2 + len(s.layers)):  # up to the update, grads in place
        s.step()
    block = model.layers[1]
    for wrt, param in [("0.weight", block.layers[0].weight), ("0.bias", block.layers[0].bias),
                       ("2.weight", block.layers[2].weight),
                       ("projection.weight", block.projection.weight),
                       ("projection.bias", block.projection.bias)]:  # fmt: skip
        for index in list(np.ndindex(param.shape))[:: max(1, param.value.size // 5)]:
            e = s.explain_backward(1, index, wrt=wrt)
            assert e.total == pytest.approx(param.grad[index], rel=1e-10, abs=1e-12), (wrt, index)
    with pytest.raises(ValueError, match="has no parameter '5.weight'"):
        s.explain_backward(1, (0, 0, 0, 0), wrt="5.weight")
