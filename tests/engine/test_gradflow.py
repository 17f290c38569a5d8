"""Gradient flow: per-layer norms match a hand-run backward, flags, and vanishing without skips."""

import numpy as np
import pytest

from engine import SGD, CrossEntropyLoss, Linear, ReLU, Sequential, Stepper
from engine.gradflow import (
    VANISHING,
    deep_stack,
    first_layer_ratio,
    flow_from_stepper,
    gradient_flow,
    status_of,
)


def _mlp():
    g = np.random.default_rng(3)
    return Sequential(Linear(6, 5, rng=g), ReLU(), Linear(5, 4, rng=g)).to(np.float64)


def _batch():
    g = np.random.default_rng(1)
    return g.standard_normal((3, 6)), np.array([0, 3, 1])


def test_norms_equal_a_hand_run_backward():
    model, (x, y) = _mlp(), _batch()
    flow = gradient_flow(model, CrossEntropyLoss(), x, y)
    # the same pass written out: h = W1 x + b1, r = relu(h), z = W2 r + b2, dL/dz = (p - 1hot)/N
    w1, b1 = model[0].weight.value, model[0].bias.value
    w2, b2 = model[2].weight.value, model[2].bias.value
    h = x @ w1.T + b1
    r = np.maximum(h, 0)
    z = r @ w2.T + b2
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    gz = (p - np.eye(4)[y]) / len(y)
    gr = gz @ w2
    gh = gr * (h > 0)
    gx = gh @ w1
    assert [f.grad_input_norm for f in flow] == pytest.approx(
        [np.linalg.norm(gx), np.linalg.norm(gh), np.linalg.norm(gr)], rel=1e-12
    )
    assert flow[2].grad_weight_norm == pytest.approx(np.linalg.norm(gz.T @ r), rel=1e-12)
    assert flow[0].grad_weight_norm == pytest.approx(np.linalg.norm(gh.T @ x), rel=1e-12)
    assert flow[1].grad_weight_norm is None  # ReLU has no weights
    assert flow[0].ratio == pytest.approx(np.linalg.norm(gx) / np.linalg.norm(gz), rel=1e-12)


def test_the_stepper_trace_gives_the_same_flow():
    model, (x, y) = _mlp(), _batch()
    direct = gradient_flow(model, CrossEntropyLoss(), x, y)
    s = Stepper(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), x, y)
    with pytest.raises(ValueError, match="has not reached"):
        flow_from_stepper(s)
    while s.next_op.kind != "update":
        s.step()
    traced = flow_from_stepper(s)
    assert [f.grad_input_norm for f in traced] == [f.grad_input_norm for f in direct]
    assert [f.grad_weight_norm for f in traced] == [f.grad_weight_norm for f in direct]


def test_status_flags():
    assert status_of(1.0) == "ok"
    assert status_of(VANISHING / 2) == "vanishing"
    assert status_of(1e4) == "exploding"
    assert status_of(float("nan")) == "exploding"


def test_plain_stack_vanishes_and_residual_does_not():
    from engine.data import mnist_split

    train, _ = mnist_split()
    x, y = train.images[:8], train.labels[:8]
    g = np.random.default_rng(0)
    plain = gradient_flow(deep_stack(10, residual=False, rng=g), CrossEntropyLoss(), x, y)
    g = np.random.default_rng(0)
    res = gradient_flow(deep_stack(10, residual=True, rng=g), CrossEntropyLoss(), x, y)
    assert first_layer_ratio(plain, res) < 1e-3  # far below
    assert plain[0].status == "vanishing" and res[0].status == "ok"
    # the plain stack's dL/dx shrinks block after block toward the input
    blocks = [f.grad_input_norm for f in plain[3:13]]
    assert all(a < b for a, b in zip(blocks, blocks[1:], strict=False))
