"""Linear and Flatten: a loop reference, PyTorch's init, gradients, and clear errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.gradcheck import check_module
from engine.linear import Flatten, Linear


def loop_linear(x, w, b):
    """y[n, o] = b[o] + sum_i x[n, i] w[o, i], one multiply at a time."""
    n, o_count = x.shape[0], w.shape[0]
    y = np.zeros((n, o_count))
    for s in range(n):
        for o in range(o_count):
            y[s, o] = b[o] + sum(float(x[s, i]) * float(w[o, i]) for i in range(w.shape[1]))
    return y


def test_forward_matches_a_loop_reference():
    g = np.random.default_rng(0)
    layer = Linear(5, 3, rng=g)
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    y = layer.forward(x)
    assert y.shape == (4, 3) and y.dtype == np.float32
    assert np.allclose(y, loop_linear(x, layer.weight.value, layer.bias.value), atol=1e-5)


def test_init_is_pytorch_uniform_and_seeded():
    g = np.random.default_rng(3)
    a = Linear(784, 10, rng=g)
    g = np.random.default_rng(3)
    b = Linear(784, 10, rng=g)
    bound = 1 / math.sqrt(784)
    assert a.weight.shape == (10, 784) and a.bias.shape == (10,)
    assert a.weight.value.dtype == np.float32
    assert np.abs(a.weight.value).max() <= bound and np.abs(a.bias.value).max() <= bound
    assert np.abs(a.weight.value).max() > 0.9 * bound  # spread over the whole interval
    assert np.array_equal(a.weight.value, b.weight.value)
    assert np.array_equal(a.bias.value, b.bias.value)
    assert a.num_parameters() == 7850


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), fin=st.integers(1, 6), fout=st.integers(1, 5), seed=st.integers(0, 999))
def test_linear_gradients_match_central_differences(n, fin, fout, seed):
    g = np.random.default_rng(seed)
    x = np.random.default_rng(seed).standard_normal((n, fin))
    errors = check_module(Linear(fin, fout, rng=g), x, seed=seed)
    assert set(errors) == {"input", "weight", "bias"}
    assert max(errors.values()) < 1e-7, errors


def test_backward_accumulates_into_grads():
    g = np.random.default_rng(0)
    layer = Linear(3, 2, rng=g)
    x, g = np.ones((2, 3), np.float32), np.ones((2, 2), np.float32)
    layer.forward(x)
    layer.backward(g)
    once = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.backward(g)
    assert np.array_equal(layer.weight.grad, 2 * once[0])
    assert np.array_equal(layer.bias.grad, 2 * once[1])
    assert np.array_equal(once[1], [2.0, 2.0])  # sum of grad_out over the batch


def test_float64_after_to():
    layer = Linear(3, 2).to(np.float64)
    y = layer.forward(np.ones((1, 3), np.float32))
    assert y.dtype == np.float64 and layer.weight.grad.dtype == np.float64


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3), (True, 3), ("4", 3)])
def test_constructor_rejects_bad_sizes(args):
    with pytest.raises(ValueError, match=r"Linear\("):
        Linear(*args)


def test_wrong_input_names_layer_and_shapes():
    layer = Linear(784, 10)
    with pytest.raises(ValueError, match=r"Linear\(784->10\).*\(784,\).*\(10,\)"):
        layer.forward(np.zeros((2, 10)))
    with pytest.raises(ValueError, match=r"\(16, 7, 7\).*Flatten"):
        layer.forward(np.zeros((2, 16, 7, 7)))
    with pytest.raises(ValueError, match=r"\(16, 7, 7\).*Flatten"):
        layer.output_shape((16, 7, 7))
    assert layer.output_shape((784,)) == (10,)
    with pytest.raises(RuntimeError, match="before forward"):
        Linear(2, 2).backward(np.zeros((1, 2)))


def test_flatten_forward_backward_and_shapes():
    x = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    f = Flatten()
    y = f.forward(x)
    assert y.shape == (2, 12) and np.array_equal(y[1], np.arange(12, 24))  # C order
    g = f.backward(np.arange(24, dtype=np.float32).reshape(2, 12))
    assert g.shape == x.shape and np.array_equal(g, x)
    assert f.output_shape((16, 7, 7)) == (784,)
    assert f.output_shape((5,)) == (5,)
    assert np.array_equal(f.forward(np.ones((3, 5))), np.ones((3, 5)))
    assert f.spec() == {"type": "Flatten"} and f.parameters() == []
    with pytest.raises(ValueError, match=r"Flatten\(\).*\(2, 3, 4\)"):
        f.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"\(2, 12\)"):
        f.forward(x)
        f.backward(np.zeros((2, 11)))


@settings(max_examples=10, deadline=None)
@given(shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)))
def test_flatten_gradients_match_central_differences(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    assert check_module(Flatten(), x)["input"] < 1e-8


def test_frozen_weight_gets_no_gradient_but_the_input_still_does():
    g = np.random.default_rng(0)
    layer = Linear(3, 2, rng=g)
    layer.weight.requires_grad = False
    x = np.ones((2, 3), np.float32)
    layer.forward(x)
    grad_input = layer.backward(np.ones((2, 2), np.float32))
    assert not layer.weight.grad.any()
    assert np.array_equal(layer.bias.grad, [2.0, 2.0])
    assert np.allclose(grad_input, np.ones((2, 2)) @ layer.weight.value)
