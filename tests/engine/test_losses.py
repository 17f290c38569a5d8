"""Cross-entropy and MSE: values, stability at extreme logits, gradients, divergence."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.gradcheck import check_loss
from engine.losses import CrossEntropyLoss, DivergenceError, MSELoss


def naive_ce(logits, targets):
    """-mean log(exp(z_t) / sum exp(z)), straight from the definition (moderate logits only)."""
    total = 0.0
    for z, t in zip(logits, targets, strict=True):
        total -= math.log(math.exp(z[t]) / sum(math.exp(v) for v in z))
    return total / len(targets)


def test_cross_entropy_matches_the_definition():
    logits = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    targets = np.array([0, 2])
    ce = CrossEntropyLoss()
    assert ce.forward(logits, targets) == pytest.approx(naive_ce(logits, targets), rel=1e-14)
    assert np.allclose(ce.ctx.probs.sum(axis=1), 1.0)
    assert np.array_equal(ce.ctx.targets, targets)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_is_stable_for_extreme_logits(dtype):
    logits = np.array([[1e4, 0.0, -1e4], [1e4, 0.0, -1e4], [1e4, 1e4, 1e4]], dtype=dtype)
    ce = CrossEntropyLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        loss = ce.forward(logits, np.array([0, 1, 2]))
        grad = ce.backward()
    # Naive exp(1e4) is inf: the definition itself cannot be evaluated here.
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(logits)).any()
    # Per sample: 0 (right with certainty), 1e4 (log-sum-exp = 1e4, logit 0), log 3 (a tie).
    assert loss == pytest.approx((0.0 + 1e4 + math.log(3)) / 3, rel=1e-6)
    assert np.all(np.isfinite(ce.ctx.probs)) and np.all(np.isfinite(grad))
    assert grad.dtype == dtype


def test_cross_entropy_backward_is_softmax_minus_onehot_over_n():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    ce = CrossEntropyLoss()
    ce.forward(logits, np.array([2, 0]))
    e = np.exp([1.0, 2.0, 3.0])
    softmax0 = e / e.sum()
    expected = np.array([softmax0 - [0, 0, 1], np.full(3, 1 / 3) - [1, 0, 0]]) / 2
    assert np.allclose(ce.backward(), expected, rtol=1e-14)


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 5),
    k=st.integers(2, 6),
    scale=st.sampled_from([0.1, 1.0, 10.0]),
    seed=st.integers(0, 9999),
)
def test_cross_entropy_gradient_matches_central_differences(n, k, scale, seed):
    r = np.random.default_rng(seed)
    logits, targets = scale * r.standard_normal((n, k)), r.integers(0, k, n)
    assert check_loss(CrossEntropyLoss(), logits, targets)["input"] < 1e-6


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_logits_raise_divergence_naming_the_value(bad):
    ce = CrossEntropyLoss()
    ce.forward(np.zeros((1, 2)), np.array([0]))
    probs = ce.ctx.probs.copy()
    # Even a -inf logit off the target (a finite loss of 0) is reported: it means overflow.
    with pytest.raises(DivergenceError, match=rf"loss is nan: logit {bad} at \[0, 0\]") as info:
        ce.forward(np.array([[bad, 0.0]]), np.array([1]))
    assert isinstance(info.value, ArithmeticError)
    assert not math.isfinite(info.value.value)
    assert np.array_equal(ce.ctx.probs, probs)  # nothing from the diverged pass was kept


def test_cross_entropy_bad_targets():
    ce = CrossEntropyLoss()
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match="integer"):
        ce.forward(logits, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"target 3 out of range.*K = 3"):
        ce.forward(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match="target -1"):
        ce.forward(logits, np.array([-1, 0]))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        ce.forward(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\(N, K\).*\(3,\)"):
        ce.forward(np.zeros(3), np.array([0]))
    with pytest.raises(RuntimeError, match="before forward"):
        CrossEntropyLoss().backward()


def test_mse_value_and_gradient():
    pred = np.array([[1.0, 2.0], [3.0, 4.0]])
    target = np.array([[0.0, 2.0], [1.0, 0.0]])
    mse = MSELoss()
    # (1 + 0 + 4 + 16) / 4 = 5.25
    assert mse.forward(pred, target) == 5.25
    assert np.array_equal(mse.backward(), 2 * (pred - target) / 4)


@settings(max_examples=15, deadline=None)
@given(shape=st.sampled_from([(1, 1), (3, 4), (2, 1, 3, 3)]), seed=st.integers(0, 9999))
def test_mse_gradient_matches_central_differences(shape, seed):
    r = np.random.default_rng(seed)
    assert check_loss(MSELoss(), r.standard_normal(shape), r.standard_normal(shape))["input"] < 1e-7


def test_mse_errors_and_divergence():
    mse = MSELoss()
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        mse.forward(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(DivergenceError, match="loss is inf"):
        mse.forward(np.array([[1e30]], dtype=np.float32), np.array([[-1e30]], dtype=np.float32))
    with pytest.raises(DivergenceError, match="loss is nan"):
        mse.forward(np.array([[np.nan]]), np.array([[0.0]]))
    with pytest.raises(RuntimeError, match="before forward"):
        mse.backward()
    assert mse.forward(np.ones((2, 2), np.float32), np.zeros((2, 2))) == 1.0
    assert mse.backward().dtype == np.float32


def test_cross_entropy_gradient_keeps_precision_when_the_target_saturates():
    # softmax of the target rounds to 1.0; p - 1 would give 0, the true value is -p_other.
    logits = np.array([[8.42261316, -29.76111172]])
    ce = CrossEntropyLoss()
    ce.forward(logits, np.array([0]))
    p_other = np.exp(logits[0, 1] - logits[0, 0])  # about 2.6e-17
    grad = ce.backward()
    assert grad[0, 0] != 0 and np.isclose(grad[0, 0], -grad[0, 1], rtol=1e-12)
    assert np.isclose(grad[0, 1], p_other, rtol=1e-9)
