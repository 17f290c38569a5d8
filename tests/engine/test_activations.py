"""ReLU, Sigmoid, Tanh: values against closed forms, gradients against central differences."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.activations import ReLU, Sigmoid, Tanh
from engine.conv import Conv2d
from engine.dropout import Dropout
from engine.gradcheck import check_module
from engine.linear import Flatten, Linear
from engine.pool import AvgPool2d, MaxPool2d
from engine.residual import Residual

LAYERS = [ReLU, Sigmoid, Tanh]

shapes = st.one_of(
    st.tuples(st.integers(1, 3), st.integers(1, 6)),
    st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)),
)


def away_from_zero(shape, seed):
    """Random values with |x| >= 0.05, so ReLU's kink is never within eps of a sample."""
    z = np.random.default_rng(seed).standard_normal(shape)
    return np.sign(z) * (0.05 + np.abs(z))


@pytest.mark.parametrize("cls", LAYERS)
@settings(max_examples=15, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_gradients_match_central_differences(cls, shape, seed):
    errors = check_module(cls(), away_from_zero(shape, seed), seed=seed)
    assert errors["input"] < 1e-7, errors


def test_relu_values_and_gradient_at_zero():
    x = np.array([[-2.0, -0.0, 0.0, 3.5]])
    relu = ReLU()
    assert np.array_equal(relu.forward(x), [[0.0, 0.0, 0.0, 3.5]])
    # Like PyTorch, the derivative at exactly 0 is taken as 0.
    assert np.array_equal(relu.backward(np.ones((1, 4))), [[0.0, 0.0, 0.0, 1.0]])


def test_sigmoid_and_tanh_match_closed_forms():
    x = np.linspace(-6, 6, 25).reshape(1, 25)
    expected = np.array([[1 / (1 + math.exp(-v)) for v in x[0]]])
    assert np.allclose(Sigmoid().forward(x), expected, rtol=1e-14, atol=1e-15)
    t = Tanh()
    y = t.forward(x)
    assert np.allclose(y, [[math.tanh(v) for v in x[0]]], rtol=1e-14, atol=1e-15)
    assert np.allclose(t.backward(np.ones_like(x)), 1 - y**2)


def test_sigmoid_does_not_overflow_on_extreme_inputs():
    x = np.array([[-1e4, -800.0, 0.0, 800.0, 1e4]], dtype=np.float32)
    with np.errstate(all="raise"):
        s = Sigmoid()
        y = s.forward(x)
        g = s.backward(np.ones_like(x))
    assert np.array_equal(y, np.array([[0.0, 0.0, 0.5, 1.0, 1.0]], dtype=np.float32))
    assert np.all(np.isfinite(g))


@pytest.mark.parametrize("cls", LAYERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_in_forward_and_backward(cls, dtype):
    layer = cls()
    x = np.ones((2, 3, 4, 4), dtype=dtype)
    assert layer.forward(x).dtype == dtype
    assert layer.backward(np.ones((2, 3, 4, 4))).dtype == dtype


def test_integer_input_is_computed_as_float32():
    y = ReLU().forward(np.array([[0, 3, 255]], dtype=np.uint8))
    assert y.dtype == np.float32 and np.array_equal(y, [[0, 3, 255]])


@pytest.mark.parametrize("cls", LAYERS)
def test_bad_input_names_the_layer_and_shape(cls):
    layer = cls()
    with pytest.raises(ValueError, match=rf"{cls.__name__}\(\).*\(3, 4, 5\)"):
        layer.forward(np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="complex"):
        layer.forward(np.zeros((2, 2), dtype=complex))
    with pytest.raises(ValueError, match="empty"):
        layer.forward(np.zeros((0, 4)))


@pytest.mark.parametrize("cls", LAYERS)
def test_backward_checks(cls):
    layer = cls()
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 4\).*\(2, 3\)"):
        layer.backward(np.ones((2, 4)))


@pytest.mark.parametrize("cls", LAYERS)
def test_output_shape_and_spec(cls):
    layer = cls()
    assert layer.output_shape((3, 5, 5)) == (3, 5, 5)
    assert layer.output_shape((7,)) == (7,)
    assert layer.spec() == {"type": cls.__name__}
    assert layer.parameters() == []
    for bad in [(3, 5), (0,), (-1, 2, 2), ("a",), (2.5,)]:
        with pytest.raises(ValueError, match=cls.__name__):
            layer.output_shape(bad)


# ---- one dtype policy for every layer (check_input) ------------------------------------------
def every_layer():
    """(layer, a valid float input) for each layer kind."""
    g = np.random.default_rng(0)
    image = np.ones((1, 2, 4, 4), np.float32)
    return [
        (Conv2d(2, 3, 3, padding=1, rng=g), image),
        (MaxPool2d(2), image),
        (AvgPool2d(2), image),
        (ReLU(), image),
        (Sigmoid(), image),
        (Tanh(), image),
        (Dropout(0.5, rng=g), image),
        (Flatten(), image),
        (Linear(4, 2, rng=g), np.ones((1, 4), np.float32)),
        (Residual(Conv2d(2, 2, 3, padding=1, rng=g), ReLU()), image),
    ]


@pytest.mark.parametrize("kind", ["complex", "str", "object", "bool"])
def test_every_layer_refuses_non_numbers_naming_itself_and_the_dtype(kind):
    for layer, x in every_layer():
        bad = {"complex": x.astype(complex), "str": x.astype(str), "bool": x > 0,
               "object": np.full(x.shape, None, dtype=object)}[kind]  # fmt: skip
        with pytest.raises(ValueError) as info:
            layer.forward(bad)
        message = str(info.value)
        assert message.startswith(repr(layer)) and str(bad.dtype) in message, message


def test_integer_input_is_computed_as_float32_by_every_layer():
    for layer, x in every_layer():
        y, _ = layer.forward_ctx(x.astype(np.uint8), np.random.default_rng(1))  # dropout: same
        expected, _ = layer.forward_ctx(x, np.random.default_rng(1))  # masks for both
        assert y.dtype == np.float32 and np.array_equal(y, expected), repr(layer)
