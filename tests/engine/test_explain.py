"""explain_*: totals equal the layers' own outputs and gradients; fields and text are right."""

import copy

import numpy as np
import pytest

from engine import (
    CrossEntropyLoss,
    Dropout,
    Flatten,
    Linear,
    MSELoss,
    ReLU,
    Residual,
    Sequential,
    Sigmoid,
    Tanh,
    explain_backward,
    explain_forward,
    explain_loss,
    receptive_field,
)
from engine.conv import Conv2d
from engine.explain import fmt, fmt_factor
from engine.pool import AvgPool2d, MaxPool2d
from engine.presets import article, article_input

# name -> (layer factory, per-sample input shape)
LAYERS = {
    "conv": (lambda g: Conv2d(2, 3, 3, rng=g), (2, 5, 5)),
    "conv_s2_p1": (lambda g: Conv2d(2, 3, 3, stride=2, padding=1, rng=g), (2, 5, 6)),
    "conv_rect": (lambda g: Conv2d(1, 2, (2, 3), stride=(2, 1), padding=(1, 0), rng=g), (1, 5, 4)),
    "maxpool": (lambda g: MaxPool2d(2), (2, 4, 5)),
    "maxpool_overlap": (lambda g: MaxPool2d(3, stride=2), (1, 5, 5)),
    "avgpool": (lambda g: AvgPool2d(2), (2, 4, 4)),
    "avgpool_overlap": (lambda g: AvgPool2d(3, stride=1), (1, 4, 5)),
    "relu": (lambda g: ReLU(), (2, 3, 3)),
    "sigmoid": (lambda g: Sigmoid(), (2, 3, 3)),
    "tanh": (lambda g: Tanh(), (5,)),
    "linear": (lambda g: Linear(6, 4, rng=g), (6,)),
    "flatten": (lambda g: Flatten(), (2, 3, 2)),
    "dropout": (lambda g: Dropout(0.4, rng=g), (2, 3, 3)),
    "dropout_eval": (lambda g: Dropout(0.4, rng=g).eval(), (7,)),
    "residual": (
        lambda g: Residual(
            Conv2d(2, 2, 3, padding=1, rng=g), ReLU(), Conv2d(2, 2, 3, padding=1, rng=g)
        ),
        (2, 4, 4),
    ),  # fmt: skip
    "residual_proj": (
        lambda g: Residual(Conv2d(2, 3, 3, stride=2, padding=1, rng=g), Dropout(0.3, rng=g), rng=g),
        (2, 5, 5),
    ),  # fmt: skip
}
PARAM_LAYERS = ["conv", "conv_s2_p1", "conv_rect", "linear"]


def make(name, dtype=np.float64, n=2, seed=0):
    """(layer, x, y, grad_out, grad_input) with the layer's forward and backward already run."""
    r = np.random.default_rng(seed)  # the test's generator: init, x, masks, grad_out
    factory, shape = LAYERS[name]
    layer = factory(r).to(dtype)
    x = r.standard_normal((n, *shape)).astype(dtype)
    y = layer.forward(x)
    g = r.standard_normal(y.shape).astype(dtype)
    layer.zero_grad()
    grad_input = layer.backward(g)
    return layer, x, y, g, grad_input


@pytest.mark.parametrize("name", LAYERS)
def test_forward_totals_equal_every_output_element(name):
    layer, x, y, _, _ = make(name)
    for index in np.ndindex(y.shape):
        e = explain_forward(layer, x, index)
        assert e.total == pytest.approx(float(y[index]), rel=1e-12, abs=1e-12), index
        if e.kind == "sum":  # the shown terms really add up to the total
            assert sum(t.value for t in e.terms) + (e.bias or 0) == pytest.approx(e.total)


@pytest.mark.parametrize("name", ["conv_s2_p1", "maxpool", "linear", "residual", "sigmoid"])
def test_forward_totals_match_float32_engine(name):
    layer, x, y, _, _ = make(name, dtype=np.float32)
    for index in list(np.ndindex(y.shape))[::3]:
        e = explain_forward(layer, x, index)
        assert e.total == pytest.approx(float(y[index]), rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", LAYERS)
def test_grad_input_elements_equal_backward(name):
    layer, x, _, g, grad_input = make(name)
    for index in np.ndindex(x.shape):
        e = explain_backward(layer, x, g, index)
        assert e.total == pytest.approx(float(grad_input[index]), rel=1e-12, abs=1e-12), index


@pytest.mark.parametrize("name", PARAM_LAYERS)
@pytest.mark.parametrize("wrt", ["weight", "bias"])
def test_param_grad_elements_equal_backward(name, wrt):
    layer, x, _, g, _ = make(name)
    grad = getattr(layer, wrt).grad
    for index in np.ndindex(grad.shape):
        e = explain_backward(layer, x, g, index, wrt=wrt)
        assert e.total == pytest.approx(float(grad[index]), rel=1e-12, abs=1e-12), index


def test_explain_leaves_layer_caches_and_rng_alone():
    layer, x, _, g, grad_input = make("residual_proj")
    state = copy.deepcopy(layer.layers[1].rng.bit_generator.state)  # its dropout's generator
    explain_forward(layer, x, (1, 2, 1, 1))
    explain_backward(layer, x, g, (0, 1, 2, 3))
    assert layer.layers[1].rng.bit_generator.state == state
    layer.zero_grad()
    np.testing.assert_array_equal(layer.backward(g), grad_input)


def test_article_example_sums_to_six():
    model = article().model
    x = article_input()
    y = model.forward(x)
    np.testing.assert_array_equal(y, np.full((1, 1, 3, 3), 6, dtype=np.float32))
    e = explain_forward(model.layers[0], x, (0, 0, 0, 0))
    assert e.total == 6 and len(e.terms) == 9 and e.bias == 0
    text = e.text()
    assert text.startswith("(I*K)(0,0) = 4*1 + 3*0 + 2*(-1) + 4*1")
    assert text.endswith("= 6") and text.count("*") == 1 + 9  # "(I*K)" plus 9 products
    short = e.text(max_terms=3)
    assert "2*(-1) + ... (9 terms) + 0 = 6" in short
    assert [t.factors for t in e.terms[:3]] == [(4, 1), (3, 0), (2, -1)]


def test_conv_padding_and_stride_receptive_field_and_pad_terms():
    conv = Conv2d(1, 1, 3, stride=2, padding=1).to(np.float64)
    x = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
    e = explain_forward(conv, x, (0, 0, 0, 0))  # rows/cols -1..1 of the input
    assert e.receptive_field == [(0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 0), (0, 0, 1, 1)]
    assert len(e.terms) == 9 and sum(t.source is None for t in e.terms) == 5
    assert all(t.factors[0] == 0 for t in e.terms if t.source is None)
    assert e.notes and "5 of 9" in e.notes[0]
    e = explain_forward(conv, x, (0, 0, 1, 2))  # rows 1..3, cols 3..5 (5 is padding)
    assert e.receptive_field == [(0, 0, r, c) for r in (1, 2, 3) for c in (3, 4)]
    assert "2·i+u-1" in e.symbolic


def _brute_field(model, x, index):
    """Input elements whose change moves output element index (float64, big nudges)."""
    base = model.forward(x)[index]
    found = []
    for ix in np.ndindex(x.shape):
        nudged = x.copy()
        nudged[ix] += 100.0
        if model.forward(nudged)[index] != base:
            found.append(ix)
    return found


@pytest.mark.parametrize(
    "model, shape",
    [
        (lambda: Conv2d(2, 2, 3, stride=2, padding=1), (2, 5, 5)),
        (lambda: Sequential(Conv2d(1, 2, 3, padding=1), MaxPool2d(2), AvgPool2d(2)), (1, 8, 8)),
        (lambda: Sequential(Conv2d(1, 1, 2), Flatten(), Linear(9, 2)), (1, 4, 4)),
        (lambda: Residual(Conv2d(1, 2, 3, stride=2, padding=1)), (1, 5, 5)),
    ],
)
def test_receptive_field_matches_brute_force(model, shape):
    m = model().to(np.float64)
    for p in m.parameters():  # no zero weights: every tap must matter
        p.value[...] = np.abs(p.value) + 0.5
    x = np.random.default_rng(3).random((1, *shape))
    y = m.forward(x)
    for index in list(np.ndindex(y.shape))[:: max(1, y.size // 6)]:
        assert receptive_field(m, x.shape, index) == _brute_field(m, x, index), index


def test_maxpool_winner_first_max_and_routing():
    pool = MaxPool2d(2)
    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    e = explain_forward(pool, x, (0, 0, 0, 0))
    assert e.kind == "max" and e.winner == 1 and e.total == 3
    assert e.text() == "y[0,0,0] = max(1, 3, 3, 0) = 3"
    pool.forward(x)
    g = np.array([[[[2.5]]]])
    grad = pool.backward(g)
    win = explain_backward(pool, x, g, (0, 0, 0, 1))
    lose = explain_backward(pool, x, g, (0, 0, 1, 0))
    assert (win.total, lose.total) == (grad[0, 0, 0, 1], grad[0, 0, 1, 0]) == (2.5, 0.0)
    assert "wins" in win.terms[0].label and "loses to x[0,0,1]" in lose.terms[0].label


def test_activation_and_dropout_text():
    relu = ReLU()
    x = np.array([[-1.5, 2.0]])
    assert explain_forward(relu, x, (0, 0)).text() == "y[0] = max(0, (-1.5)) = 0"
    g = np.array([[0.5, 0.5]])
    assert explain_backward(relu, x, g, (0, 1)).text() == "dL/dx[1] = 0.5*1 = 0.5"
    drop = Dropout(0.5)
    y = drop.forward(np.ones((1, 8)))
    e = explain_forward(drop, np.ones((1, 8)), (0, 3))
    assert e.total == y[0, 3] and e.terms[0].factors == (1.0, y[0, 3])


def test_cross_entropy_explanations_match_loss():
    z = np.random.default_rng(1).standard_normal((3, 4)) * 3
    t = np.array([2, 0, 3])
    loss = CrossEntropyLoss()
    value = loss.forward(z, t)
    grad = loss.backward()
    assert explain_loss(loss, z, t).total == pytest.approx(value, rel=1e-12)
    for n in range(3):
        e = explain_loss(loss, z, t, n)
        assert e.total == pytest.approx(-np.log(loss.ctx.probs[n, t[n]]), rel=1e-12)
        assert len(e.terms) == 4
        for k in range(4):
            p = explain_loss(loss, z, t, (n, k))
            assert p.total == pytest.approx(loss.ctx.probs[n, k], rel=1e-12)
            d = explain_loss(loss, z, t, (n, k), grad=True)
            assert d.total == pytest.approx(grad[n, k], rel=1e-12, abs=1e-15)
    d = explain_loss(loss, z, t, (0, 2), grad=True)
    assert d.formula_values[1:] == (1.0, 3.0) and d.text().startswith("dL/dz[0,2] = (")


def test_mse_explanations_match_loss():
    pred = np.array([[1.0, -2.0], [0.5, 3.0]])
    target = np.array([[0.0, 1.0], [0.5, 1.0]])
    loss = MSELoss()
    value = loss.forward(pred, target)
    grad = loss.backward()
    e = explain_loss(loss, pred, target)
    assert e.total == pytest.approx(value) and e.kind == "mean"
    assert e.text() == "L = ((1 - 0)^2 + ((-2) - 1)^2 + (0.5 - 0.5)^2 + (3 - 1)^2) / 4 = 3.5"
    for ix in np.ndindex(pred.shape):
        assert explain_loss(loss, pred, target, ix, grad=True).total == pytest.approx(grad[ix])
        assert explain_loss(loss, pred, target, ix).total == (pred[ix] - target[ix]) ** 2


def test_formatting():
    assert [fmt(v) for v in (6.0, -1.0, 0.25, -0.0, 1.23456e-5, 2 / 3, 123456.0)] == [
        "6", "-1", "0.25", "0", "1.235e-5", "0.6667", "1.235e5",
    ]  # fmt: skip
    assert fmt_factor(-2) == "(-2)" and fmt_factor(2) == "2"


def test_bad_requests_raise_clear_errors():
    layer, x, _, g, _ = make("conv")
    with pytest.raises(ValueError, match=r"outside shape \(2, 3, 3, 3\)"):
        explain_forward(layer, x, (0, 0, 3, 0))
    with pytest.raises(ValueError, match="has no weight"):
        explain_backward(ReLU(), x, x, (0, 0, 0, 0), wrt="weight")
    with pytest.raises(ValueError, match="wrt must be"):
        explain_backward(layer, x, g, (0, 0, 0, 0), wrt="kernel")
    with pytest.raises(ValueError, match="grad_out shape"):
        explain_backward(layer, x, g[:, :1], (0, 0, 0, 0))
    with pytest.raises(ValueError, match="one layer"):
        explain_forward(Sequential(ReLU()), x, (0, 0, 0, 0))


def test_weight_gradient_terms_are_made_on_demand():
    layer, x, _, g, _ = make("conv_s2_p1")  # Conv2d(2->3, k=3, s=2, p=1) on (2, 2, 5, 6)
    e = explain_backward(layer, x, g, (1, 0, 0, 0), wrt="weight")  # rows/cols -1, 1, 3
    assert len(e.terms) == 2 * 3 * 3 and e.terms[-1] == e.terms[17]
    assert e.terms[:2] == [e.terms[0], e.terms[1]] and e.terms[0].source is None
    assert e.terms[4].source == (0, 0, 1, 1) and e.terms[4].factors == (
        g[0, 1, 1, 1],
        x[0, 0, 1, 1],
    )
    assert e.receptive_field == [(n, 0, r, s) for n in (0, 1) for r in (1, 3) for s in (1, 3)]
    assert e.grad_field[:2] == [(0, 1, 0, 0), (0, 1, 0, 1)] and len(e.grad_field) == 18
    with pytest.raises(IndexError):
        e.terms[18]
