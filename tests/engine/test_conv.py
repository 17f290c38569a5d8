"""Conv2d: the article's example, NumPy references, central differences, validation, determinism."""

from __future__ import annotations

import copy
import pickle
import re

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference import KERNEL_RUNS, conv2d_backward_ref, conv2d_forward_ref, numeric_grad

from engine._jit import num_threads
from engine.conv import Conv2d
from engine.conv_kernels import GW_BLOCK, GW_CI, TILE, kernel_path


def make(cin, cout, k, s, p, dtype=np.float32, seed=0) -> Conv2d:
    g = np.random.default_rng(seed)
    return Conv2d(cin, cout, k, s, p, rng=g).to(dtype)


def pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def test_article_example_is_exactly_six():
    # 5x5 image, every row [4, 3, 2, 1, 0]; vertical-edge kernel rows [1, 0, -1]; bias 0.
    image = np.tile(np.array([4, 3, 2, 1, 0], dtype=np.float32), (5, 1))[None, None]
    for path in ("serial", "parallel"):
        m = make(1, 1, 3, 1, 0)
        m.weight.value[...] = np.tile(np.array([1, 0, -1], dtype=np.float32), (3, 1))
        m.bias.value[...] = 0
        with kernel_path(path):
            y = m.forward(image)
        assert y.shape == (1, 1, 3, 3)
        assert np.array_equal(y, np.full((1, 1, 3, 3), 6, dtype=np.float32))


# (N, C_in, C_out, H, W, kernel, stride, padding): the 3x3 fast path (odd C_out, several
# tiles, big padding), the general kernel (1x1, non-square, as large as the padded input),
# strides that do and do not divide (H + 2p - k).
CASES = [
    (2, 3, 5, 7, 9, 3, 1, 1),
    (1, 1, 1, 5, 5, 3, 1, 0),
    (2, 2, 6, 6, 5, 3, 1, 3),
    (1, 2, 3, 50, 47, 3, 1, 1),  # flat span > TILE: more than one tile per plane
    (3, 4, 4, 3, 3, 3, 1, 1),
    (2, 3, 2, 6, 7, (2, 5), 1, (1, 2)),
    (2, 3, 4, 7, 9, 3, 2, 1),
    (2, 2, 3, 8, 9, (3, 2), (2, 3), (0, 1)),
    (2, 2, 3, 5, 6, 1, 1, 0),
    (2, 2, 3, 5, 6, 1, 2, 2),
    (1, 2, 3, 3, 4, (5, 6), 1, 1),  # kernel as large as the padded input: 1x1 output
    (2, 1, 2, 9, 8, 4, 3, 0),
    (2, 33, 11, 6, 5, 3, 1, 1),  # 3x3 grad_weight: two blocks of GW_BLOCK out, GW_CI + 1 in
]
assert (50 - 1) * 52 + 47 > TILE
assert GW_BLOCK < 11 < 2 * GW_BLOCK and GW_CI < 33 <= 2 * GW_CI


@pytest.mark.parametrize("path", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_numpy_reference(case, dtype, path):
    N, cin, cout, H, W, k, s, p = case
    m = make(cin, cout, k, s, p, dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, cin, H, W)).astype(dtype)
    with kernel_path(path):
        y = m.forward(x)
        g = rng.standard_normal(y.shape).astype(dtype)
        grad_input = m.backward(g)
    w, b = m.weight.value, m.bias.value
    ref_y = conv2d_forward_ref(x, w, b, pair(s), pair(p))
    ref_gx, ref_gw, ref_gb = conv2d_backward_ref(x, w, g, pair(s), pair(p))
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for got, ref in ((y, ref_y), (grad_input, ref_gx), (m.weight.grad, ref_gw),
                     (m.bias.grad, ref_gb)):  # fmt: skip
        assert got.dtype == dtype and got.shape == ref.shape
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * max(1.0, np.abs(ref).max()))


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kh - 2 * ph), 7))
    W = draw(st.integers(max(1, kw - 2 * pw), 7))
    square = draw(st.booleans())
    k = kh if square and kh == kw else (kh, kw)
    return (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 5)),
            H, W, k, (sh, sw), (ph, pw))  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(case=conv_cases(), seed=st.integers(0, 2**16))
@example(case=(2, 2, 3, 5, 6, 3, 1, 1), seed=0)  # the 3x3 fast path
@example(case=(1, 2, 2, 4, 5, 3, (1, 1), (2, 0)), seed=1)
@example(case=(2, 1, 2, 6, 5, (2, 3), (2, 3), (1, 0)), seed=2)  # strides leave a remainder
@example(case=(1, 2, 1, 2, 3, (4, 5), 1, 1), seed=3)  # kernel = padded input
def test_gradients_match_central_differences(case, seed):
    N, cin, cout, H, W, k, s, p = case
    m = make(cin, cout, k, s, p, np.float64, seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, cin, H, W))
    G = rng.standard_normal((N, *m.output_shape((cin, H, W))))

    def loss():
        return float(np.sum(m.forward(x) * G))

    loss()
    grad_input = m.backward(G)
    for analytic, param in ((grad_input, x), (m.weight.grad, m.weight.value),
                            (m.bias.grad, m.bias.value)):  # fmt: skip
        np.testing.assert_allclose(analytic, numeric_grad(loss, param), rtol=1e-6, atol=1e-7)


def test_backward_accumulates_and_skips_frozen():
    m = make(2, 3, 3, 1, 1)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5)).astype(np.float32)
    g = np.ones((2, 3, 5, 5), dtype=np.float32)
    m.forward(x)
    gi1 = m.backward(g)
    w1, b1 = m.weight.grad.copy(), m.bias.grad.copy()
    gi2 = m.backward(g)
    np.testing.assert_array_equal(gi1, gi2)
    np.testing.assert_allclose(m.weight.grad, 2 * w1, rtol=1e-6)
    np.testing.assert_allclose(m.bias.grad, 2 * b1, rtol=1e-6)
    np.testing.assert_allclose(b1, np.full(3, 50.0))
    m.zero_grad()
    m.weight.requires_grad = False
    m.backward(g)
    assert not m.weight.grad.any() and m.bias.grad.any()


def test_copies_keep_working():
    # explain.py runs a deepcopy of a layer; the copy drops the reusable buffers
    m = make(2, 3, 3, 1, 1)
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 5)).astype(np.float32)
    g = np.random.default_rng(1).standard_normal((2, 3, 6, 5)).astype(np.float32)
    y = m.forward(x)
    twin = copy.deepcopy(m)
    assert twin._workspaces == {} and np.array_equal(twin.ctx.xp, m.ctx.xp)
    np.testing.assert_array_equal(twin.backward(g), m.backward(g))
    np.testing.assert_array_equal(twin.weight.grad, m.weight.grad)
    np.testing.assert_array_equal(twin.forward(x), y)
    clone = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(clone.forward(x), y)


@pytest.mark.parametrize("k, s, p", [(2, 1, 0), (1, 2, 0), (3, 2, 0), (3, 1, 0), (3, 1, 1)])
def test_backward_uses_x_as_it_was_at_forward(k, s, p):
    # Changing the caller's x in place between forward and backward must not change the
    # gradients (the layer keeps its own copy of x, whatever the kernel path).
    m = make(2, 3, k, s, p)
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6)).astype(np.float32)
    original = x.copy()
    y = m.forward(x)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    x[...] = 100.0
    m.backward(g)
    _, grad_w, _ = conv2d_backward_ref(original, m.weight.value, g, pair(s), pair(p))
    np.testing.assert_allclose(m.weight.grad, grad_w, rtol=1e-4, atol=1e-4)


def test_dtypes():
    m = make(1, 2, 3, 1, 1)
    x64 = np.ones((1, 1, 4, 4))
    assert m.weight.value.dtype == np.float32 and m(x64).dtype == np.float32
    m.to(np.float64)
    assert m(x64.astype(np.float32)).dtype == np.float64
    assert m.backward(np.ones((1, 2, 4, 4), dtype=np.float32)).dtype == np.float64


def test_init_like_pytorch_and_seeded():
    a, b, c = make(4, 8, 3, 1, 1, seed=7), make(4, 8, 3, 1, 1, seed=7), make(4, 8, 3, 1, 1, seed=8)
    assert np.array_equal(a.weight.value, b.weight.value)
    assert np.array_equal(a.bias.value, b.bias.value)
    assert not np.array_equal(a.weight.value, c.weight.value)
    bound = 1 / np.sqrt(4 * 3 * 3)
    assert np.abs(a.weight.value).max() <= bound and np.abs(a.bias.value).max() <= bound
    assert a.weight.value.std() > bound / 3  # uniform on [-bound, bound]: std = bound / sqrt(3)
    assert a.weight.shape == (8, 4, 3, 3) and a.bias.shape == (8,)
    assert a.num_parameters() == 8 * 4 * 9 + 8


@pytest.mark.parametrize("case", [CASES[0], CASES[3], CASES[6], CASES[7]], ids=str)
def test_results_are_bit_identical_across_runs_paths_and_thread_counts(case):
    N, cin, cout, H, W, k, s, p = case
    x = np.random.default_rng(3).standard_normal((4 * N, cin, H, W)).astype(np.float32)
    results = []
    for path, threads in KERNEL_RUNS:
        with kernel_path(path), num_threads(threads):
            m = make(cin, cout, k, s, p, seed=5)
            y = m.forward(x)
            gi = m.backward(np.cos(y))
            results.append((y, gi, m.weight.grad, m.bias.grad))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            assert np.array_equal(a, b)


def test_shapes_formula_and_spec():
    m = Conv2d(1, 8, 3, padding=1)
    assert m.output_shape((1, 28, 28)) == (8, 28, 28)
    assert m.size_formula((1, 28, 28)) == (
        "H_out = floor((H + 2p - k) / s) + 1 = floor((28 + 2 - 3) / 1) + 1 = 28; "
        "W_out = floor((W + 2p - k) / s) + 1 = floor((28 + 2 - 3) / 1) + 1 = 28"
    )
    m2 = Conv2d(3, 4, (3, 5), stride=(2, 1), padding=(0, 2))
    assert m2.output_shape((3, 9, 6)) == (4, 4, 6)
    assert m2.spec() == {"type": "Conv2d", "in_channels": 3, "out_channels": 4,
                         "kernel_size": (3, 5), "stride": (2, 1), "padding": (0, 2)}  # fmt: skip
    assert m.spec()["kernel_size"] == 3 and repr(m) == "Conv2d(1->8, k=3, s=1, p=1)"
    assert [p.name for p in m.parameters()] == ["weight", "bias"]


def test_kernel_larger_than_padded_input():
    m = Conv2d(1, 8, 5)
    expected = "H_out = floor((H + 2p - k) / s) + 1 = floor((4 + 0 - 5) / 1) + 1 = 0"
    for call in (lambda: m.output_shape((1, 4, 4)), lambda: m.forward(np.zeros((2, 1, 4, 4)))):
        with pytest.raises(ValueError) as err:
            call()
        msg = str(err.value)
        assert msg.startswith("Conv2d(1->8, k=5, s=1, p=0)") and "(1, 4, 4)" in msg
        assert expected in msg
    assert Conv2d(1, 8, 5, padding=1).output_shape((1, 4, 4)) == (8, 2, 2)


@pytest.mark.parametrize(
    "kwargs, what",
    [
        ({"stride": 0}, "stride"),
        ({"stride": -1}, "stride"),
        ({"stride": (1, 0)}, "stride"),
        ({"padding": -1}, "padding"),
        ({"padding": (0, -2)}, "padding"),
        ({"kernel_size": 0}, "kernel_size"),
        ({"kernel_size": 2.5}, "kernel_size"),
        ({"kernel_size": True}, "kernel_size"),
        ({"kernel_size": (3, 3, 3)}, "kernel_size"),
        ({"in_channels": 0}, "in_channels"),
        ({"out_channels": -4}, "out_channels"),
    ],
)
def test_invalid_settings(kwargs, what):
    args = {"in_channels": 1, "out_channels": 8, "kernel_size": 3, **kwargs}
    with pytest.raises(ValueError, match=r"^Conv2d\(") as err:
        Conv2d(**args)
    assert what in str(err.value)
    if what not in ("in_channels", "out_channels"):
        assert "H_out = floor((H + 2p - k) / s) + 1" in str(err.value)


@pytest.mark.parametrize(
    "shape, problem",
    [
        ((2, 3, 8, 8), "expects 1 input channels, got shape (3, 8, 8)"),
        ((1, 8, 8), "expects (N, C, H, W) input, got shape (1, 8, 8)"),
        ((2, 1, 1, 8, 8), "expects (N, C, H, W) input, got shape (2, 1, 1, 8, 8)"),
    ],
)
def test_bad_input_shapes(shape, problem):
    m = Conv2d(1, 8, 3)
    with pytest.raises(ValueError) as err:
        m.forward(np.zeros(shape, dtype=np.float32))
    msg = str(err.value)
    assert msg.startswith("Conv2d(1->8, k=3, s=1, p=0): ") and problem in msg
    assert "floor((8 + 0 - 3) / 1) + 1 = 6" in msg
    with pytest.raises(ValueError, match=re.escape("expects 1 input channels")):
        m.output_shape((2, 8, 8))


def test_backward_checks_grad_shape():
    m = Conv2d(1, 2, 3)
    with pytest.raises(RuntimeError, match="before forward"):
        m.backward(np.zeros((1, 2, 3, 3)))
    m.forward(np.zeros((1, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"grad_out has shape \(1, 2, 4, 4\), not \(1, 2, 3, 3\)"):
        m.backward(np.zeros((1, 2, 4, 4)))


def test_a_padding_buffer_is_reused_only_once_its_context_is_gone():
    m = make(1, 2, 3, 1, 1)
    r = np.random.default_rng(0)
    x1, x2, x3 = (r.standard_normal((2, 1, 5, 5)).astype(np.float32) for _ in range(3))
    y1, ctx1 = m.forward_ctx(x1)
    _, ctx2 = m.forward_ctx(x2)  # ctx1 lives: a buffer of its own
    _, ctx3 = m.forward_ctx(x3)  # both live: a third
    assert len({id(c.xp) for c in (ctx1, ctx2, ctx3)}) == 3
    np.testing.assert_array_equal(ctx1.x, x1)  # each context still sees its own input
    g = np.ones_like(y1)
    expected = m.backward_ctx(ctx1, g, accumulate=False)
    kept = ctx2.xp
    del ctx2
    _, ctx4 = m.forward_ctx(x1)  # ctx2 is gone: its buffer is taken again
    assert ctx4.xp is kept
    np.testing.assert_array_equal(ctx3.x, x3)
    np.testing.assert_array_equal(m.backward_ctx(ctx1, g, accumulate=False), expected)
