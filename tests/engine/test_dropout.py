"""Inverted dropout: scaling, keep rate, train/eval, seeded masks, gradients."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.dropout import Dropout
from engine.gradcheck import check_module


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), float("inf"), "0.5", True, None])
def test_p_outside_zero_one_is_rejected(p):
    with pytest.raises(ValueError, match=r"Dropout\(p="):
        Dropout(p)


def test_training_drops_about_p_and_scales_survivors():
    g = np.random.default_rng(0)
    p, n = 0.3, 100_000
    d = Dropout(p, rng=g)
    x = np.full((10, n // 10), 2.0, dtype=np.float32)
    y = d.forward(x)
    dropped = int(np.sum(y == 0))
    # Binomial(n, p): 6 standard deviations is a bound that never flakes.
    assert abs(dropped - p * n) < 6 * math.sqrt(n * p * (1 - p))
    survivors = y[y != 0]
    assert np.allclose(survivors, 2.0 / (1 - p))  # inverted: scaled at train time
    assert abs(y.mean() - 2.0) < 0.05  # the expectation is preserved
    assert y.dtype == np.float32 and d.ctx.mask.dtype == np.float32


def test_backward_uses_the_forward_mask():
    g = np.random.default_rng(1)
    d = Dropout(0.5, rng=g)
    x = np.random.default_rng(0).standard_normal((4, 6))
    y = d.forward(x)
    g = np.random.default_rng(1).standard_normal((4, 6))
    grad_input = d.backward(g)
    assert np.array_equal(grad_input, g * d.ctx.mask)
    assert np.array_equal(grad_input == 0, y == 0)


def test_eval_is_identity_and_draws_nothing():
    d = Dropout(0.9, rng=np.random.default_rng(0)).eval()
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    state = d.rng.bit_generator.state
    assert np.array_equal(d.forward(x), x)
    assert np.array_equal(d.backward(np.ones_like(x)), np.ones_like(x))
    assert d.rng.bit_generator.state == state
    assert d.train().training


def test_p_zero_is_identity_in_training():
    d = Dropout(0.0)
    x = np.ones((2, 5))
    assert np.array_equal(d.forward(x), x) and d.ctx.mask is None


def test_same_seed_same_mask():
    x = np.ones((8, 50))
    g = np.random.default_rng(5)
    a = Dropout(0.5, rng=g).forward(x)
    g = np.random.default_rng(5)
    b = Dropout(0.5, rng=g).forward(x)
    c = Dropout(0.5, rng=g).forward(x)  # the generator moved on: a new mask
    assert np.array_equal(a, b) and not np.array_equal(b, c)


@settings(max_examples=10, deadline=None)
@given(
    shape=st.sampled_from([(2, 5), (1, 3), (2, 2, 3, 3), (1, 1, 4, 2)]),
    p=st.sampled_from([0.2, 0.5, 0.8]),
    seed=st.integers(0, 999),
)
def test_gradients_match_central_differences(shape, p, seed):
    # check_module draws every forward's mask from a new generator made from seed: it is fixed.
    g = np.random.default_rng(seed)
    x = np.random.default_rng(seed).standard_normal(shape)
    assert check_module(Dropout(p, rng=g), x, seed=seed)["input"] < 1e-8


def test_shapes_spec_and_errors():
    d = Dropout(0.25)
    assert d.output_shape((3, 4, 4)) == (3, 4, 4)
    assert d.spec() == {"type": "Dropout", "p": 0.25}
    assert repr(d) == "Dropout(p=0.25)"
    with pytest.raises(ValueError, match=r"Dropout\(p=0.25\).*\(5,\)"):
        d.forward(np.zeros(5))
    with pytest.raises(RuntimeError, match="before forward"):
        Dropout(0.1).backward(np.zeros((1, 1)))
