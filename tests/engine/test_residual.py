"""Residual blocks: identity and projection skips, shape errors, gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.activations import ReLU, Tanh
from engine.conv import Conv2d
from engine.gradcheck import check_module
from engine.linear import Linear
from engine.model import from_spec, named_parameters
from engine.residual import Residual


def test_identity_skip_adds_the_input():
    g = np.random.default_rng(0)
    conv1, conv2 = Conv2d(3, 3, 3, padding=1, rng=g), Conv2d(3, 3, 3, padding=1, rng=g)
    block = Residual(conv1, ReLU(), conv2, rng=g)
    assert block.projection is None
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    body = conv2.forward(np.maximum(conv1.forward(x), 0))  # the body, run by hand
    assert np.array_equal(block.forward(x), body + x)
    assert block.output_shape((3, 5, 5)) == (3, 5, 5)
    assert block.parameters() == [conv1.weight, conv1.bias, conv2.weight, conv2.bias]


def test_projection_when_channels_change():
    g = np.random.default_rng(0)
    block = Residual(
        Conv2d(2, 4, 3, padding=1, rng=g), ReLU(), Conv2d(4, 4, 3, padding=1, rng=g), rng=g
    )
    proj = block.projection
    assert isinstance(proj, Conv2d)
    assert (proj.in_channels, proj.out_channels, proj.kernel_size, proj.stride) == (
        2, 4, (1, 1), (1, 1))  # fmt: skip
    x = np.random.default_rng(1).standard_normal((1, 2, 4, 4)).astype(np.float32)
    h = block.layers[2].forward(np.maximum(block.layers[0].forward(x), 0))
    # 1x1 projection by hand: skip[o] = b[o] + sum_c w[o, c] x[c]
    w, b = proj.weight.value[:, :, 0, 0], proj.bias.value
    skip = np.einsum("oc,nchw->nohw", w, x) + b[None, :, None, None]
    assert np.allclose(block.forward(x), h + skip, atol=1e-5)
    assert [n for n, _ in named_parameters(block)][-2:] == ["projection.weight", "projection.bias"]
    assert block.parameters()[-2:] == [proj.weight, proj.bias]


def test_projection_stride_is_the_product_of_body_strides():
    block = Residual(Conv2d(4, 8, 3, stride=2, padding=1), ReLU(), Conv2d(8, 8, 3, padding=1))
    assert block.projection.stride == (2, 2)
    assert block.output_shape((4, 14, 14)) == (8, 7, 7)
    assert block.output_shape((4, 7, 7)) == (8, 4, 4)  # floor((7+2-3)/2)+1 = floor(6/2)+1 = 4
    mixed = Residual(Conv2d(2, 2, 3, stride=(2, 1), padding=1), Conv2d(2, 2, 3, stride=(1, 3)))
    assert mixed.projection.stride == (2, 3)


def test_pool_strides_count_too():
    from engine.pool import MaxPool2d

    block = Residual(Conv2d(2, 4, 3, padding=1), MaxPool2d(2))
    assert block.projection.stride == (2, 2)
    assert block.output_shape((2, 8, 8)) == (4, 4, 4)
    # On 7x7 the pool floors to 3 while the 1x1 stride-2 projection gives 4: no fix exists.
    with pytest.raises(ValueError, match=r"body output \(4, 3, 3\).*skip path \(4, 4, 4\)"):
        block.output_shape((2, 7, 7))


def test_identity_skip_shape_mismatch_names_both_shapes():
    block = Residual(Conv2d(2, 2, 3))  # no padding: 5x5 -> 3x3, the identity skip keeps 5x5
    with pytest.raises(ValueError, match=r"Residual\(Conv2d.*\(2, 3, 3\).*\(2, 5, 5\)"):
        block.output_shape((2, 5, 5))
    with pytest.raises(ValueError, match=r"\(2, 3, 3\).*\(2, 5, 5\)"):
        block.forward(np.zeros((1, 2, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"body layer 0 \(Conv2d\(2->2, k=3"):
        block.output_shape((3, 5, 5))  # wrong channels: the body layer is named


def test_constructor_errors():
    with pytest.raises(ValueError, match="at least one layer"):
        Residual()
    with pytest.raises(ValueError, match="layer 1 is str"):
        Residual(ReLU(), "conv")
    from engine.pool import AvgPool2d

    with pytest.raises(ValueError, match="no Conv2d"):
        Residual(AvgPool2d(2))


def test_parameter_free_and_linear_bodies():
    block = Residual(Tanh())
    x = np.array([[0.5, -1.0]])
    assert block.projection is None and np.allclose(block.forward(x), np.tanh(x) + x)
    lin = Residual(Linear(3, 3), ReLU())
    assert lin.output_shape((3,)) == (3,)
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        Residual(Linear(3, 4)).output_shape((3,))


@settings(max_examples=8, deadline=None)
@given(
    c=st.integers(1, 3),
    size=st.integers(3, 6),
    n=st.integers(1, 2),
    seed=st.integers(0, 999),
)
def test_identity_block_gradients(c, size, n, seed):
    g = np.random.default_rng(seed)
    block = Residual(
        Conv2d(c, c, 3, padding=1, rng=g), Tanh(), Conv2d(c, c, 3, padding=1, rng=g), rng=g
    )
    x = np.random.default_rng(seed).standard_normal((n, c, size, size))
    errors = check_module(block, x, seed=seed)
    assert max(errors.values()) < 1e-6, errors


@settings(max_examples=8, deadline=None)
@given(
    cin=st.integers(1, 3),
    cout=st.integers(1, 4),
    stride=st.integers(1, 2),
    size=st.integers(3, 7),
    seed=st.integers(0, 999),
)
def test_projection_block_gradients(cin, cout, stride, size, seed):
    g = np.random.default_rng(seed)
    block = Residual(
        Conv2d(cin, cout, 3, stride=stride, padding=1, rng=g),
        Tanh(),
        Conv2d(cout, cout, 3, padding=1, rng=g),
        rng=g,
    )
    if stride == 1 and cin == cout:
        assert block.projection is None
    else:
        assert block.projection is not None
    x = np.random.default_rng(seed).standard_normal((2, cin, size, size))
    errors = check_module(block, x, seed=seed)
    assert max(errors.values()) < 1e-6, errors


def test_spec_rebuilds_the_projection():
    block = Residual(Conv2d(2, 4, 3, stride=2, padding=1), ReLU(), Conv2d(4, 4, 3, padding=1))
    spec = block.spec()
    assert spec["type"] == "Residual" and len(spec["layers"]) == 3
    again = from_spec(spec)
    assert again.spec() == spec
    assert [p.shape for p in again.parameters()] == [p.shape for p in block.parameters()]


def test_backward_accumulates_into_projection_and_checks_grad_shape():
    block = Residual(Conv2d(1, 2, 3, padding=1))
    x = np.ones((1, 1, 4, 4), np.float32)
    with pytest.raises(RuntimeError, match="before forward"):
        block.backward(np.ones((1, 2, 4, 4)))
    block.forward(x)
    block.backward(np.ones((1, 2, 4, 4), np.float32))
    once = block.projection.weight.grad.copy()
    assert np.allclose(once, 16.0)  # 1x1 kernel: sum over 16 pixels of grad_out * x = 16
    block.backward(np.ones((1, 2, 4, 4), np.float32))
    assert np.allclose(block.projection.weight.grad, 32.0)
    with pytest.raises(ValueError, match=r"\(1, 2, 3, 3\)"):
        block.backward(np.ones((1, 2, 3, 3)))


def test_backward_reads_the_context_it_is_given():
    # Two forward passes, then backward from the first one's context: the gradients are the
    # first input's (nothing is read from state the second pass left on the layers).
    rng = np.random.default_rng(4)
    block = Residual(Conv2d(2, 3, 3, stride=2, padding=1), ReLU()).to(np.float64)
    x1, x2 = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 5, 5))
    y1, ctx1 = block.forward_ctx(x1)
    g = rng.standard_normal(y1.shape)
    expected = block.backward_ctx(block.forward_ctx(x1)[1], g, accumulate=False)
    block.forward(x2)
    np.testing.assert_array_equal(block.backward_ctx(ctx1, g, accumulate=False), expected)
    assert not any(p.grad.any() for p in block.parameters())  # accumulate=False: untouched
