"""MaxPool2d and AvgPool2d: NumPy references, central differences, ties, validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference import KERNEL_RUNS, avgpool2d_ref, maxpool2d_ref, numeric_grad

from engine._jit import num_threads
from engine.conv_kernels import kernel_path
from engine.pool import AvgPool2d, MaxPool2d


def pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


def distinct(shape, seed) -> np.ndarray:
    """Values at least 0.01 apart, so no window has a tie or a near-tie."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.01 - n * 0.005).reshape(shape) + rng.uniform(0, 1e-3)


# (N, C, H, W, kernel, stride): default stride, overlapping windows, strides that leave
# rows unused, non-square, a window as large as the input.
CASES = [
    (2, 3, 6, 7, 2, None),
    (2, 3, 7, 9, 3, 2),
    (1, 2, 5, 5, (2, 3), (1, 2)),
    (2, 2, 4, 4, 4, None),
    (3, 2, 9, 8, 3, 1),
    (1, 1, 7, 5, (1, 2), (3, 1)),
]


@pytest.mark.parametrize("path", ["serial", "parallel"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_numpy_reference(case, dtype, path):
    N, C, H, W, k, s = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    x[0, 0, :2, :2] = x[0, 0, 0, 0]  # a tie in the first window
    stride = pair(k) if s is None else pair(s)
    for cls in (MaxPool2d, AvgPool2d):
        layer = cls(k, s)
        with kernel_path(path):
            y = layer.forward(x)
            g = rng.standard_normal(y.shape).astype(dtype)
            grad_input = layer.backward(g)
        if cls is MaxPool2d:
            ref_y, ref_argmax, ref_gx = maxpool2d_ref(x, pair(k), stride, g)
            assert np.array_equal(layer.ctx.argmax, ref_argmax)
        else:
            ref_y, ref_gx = avgpool2d_ref(x, pair(k), stride, g)
        tol = 1e-6 if dtype == np.float32 else 1e-13
        for got, ref in ((y, ref_y), (grad_input, ref_gx)):
            assert got.dtype == dtype and got.shape == ref.shape
            np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)


@st.composite
def pool_cases(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    H, W = draw(st.integers(kh, 7)), draw(st.integers(kw, 7))
    k = kh if kh == kw and draw(st.booleans()) else (kh, kw)
    return draw(st.integers(1, 2)), draw(st.integers(1, 3)), H, W, k, stride


@settings(max_examples=30, deadline=None)
@given(case=pool_cases(), seed=st.integers(0, 2**16))
@example(case=(2, 2, 6, 6, 2, None), seed=0)
@example(case=(1, 2, 7, 6, 3, (2, 2)), seed=1)  # overlapping windows, a row left over
@example(case=(1, 1, 3, 4, (3, 4), None), seed=2)  # one window covering the input
def test_gradients_match_central_differences(case, seed):
    N, C, H, W, k, s = case
    x = distinct((N, C, H, W), seed)
    for layer in (MaxPool2d(k, s), AvgPool2d(k, s)):
        G = np.random.default_rng(seed).standard_normal((N, *layer.output_shape((C, H, W))))

        def loss(layer=layer, G=G):
            return float(np.sum(layer.forward(x) * G))

        loss()
        analytic = layer.backward(G)
        np.testing.assert_allclose(analytic, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)


def test_max_ties_first_in_row_major_order_wins():
    x = np.array([[[[5, 5, 1, 7], [5, 5, 7, 7], [0, 2, 2, 1], [2, 0, 1, 2]]]], dtype=np.float32)
    for path in ("serial", "parallel"):
        layer = MaxPool2d(2)
        with kernel_path(path):
            y = layer.forward(x)
            gx = layer.backward(np.array([[[[1, 2], [3, 4]]]], dtype=np.float32))
        np.testing.assert_array_equal(y, [[[[5, 7], [2, 2]]]])
        # every window ties; winners (0,0) of [[5,5],[5,5]], (0,3) of [[1,7],[7,7]],
        # (2,1) of [[0,2],[2,0]], (2,2) of [[2,1],[1,2]]: flat indices 0, 3, 9, 10
        np.testing.assert_array_equal(layer.ctx.argmax, [[[[0, 3], [9, 10]]]])
        expected = np.zeros((1, 1, 4, 4), dtype=np.float32)
        expected[0, 0, 0, 0], expected[0, 0, 0, 3] = 1, 2
        expected[0, 0, 2, 1], expected[0, 0, 2, 2] = 3, 4
        np.testing.assert_array_equal(gx, expected)


def test_overlapping_windows_sum_their_gradients():
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    mx, av = MaxPool2d(2, 1), AvgPool2d(2, 1)
    np.testing.assert_array_equal(mx.forward(x), [[[[4, 5], [7, 8]]]])
    np.testing.assert_array_equal(av.forward(x), [[[[2, 3], [5, 6]]]])
    g = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(mx.backward(g), [[[[0, 0, 0], [0, 1, 1], [0, 1, 1]]]])
    np.testing.assert_array_equal(
        av.backward(g), [[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]] / np.float64(4)
    )


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_shapes_formula_spec_and_dtypes(cls):
    layer = cls(2)
    assert layer.stride == (2, 2) and layer.output_shape((8, 28, 28)) == (8, 14, 14)
    assert layer.size_formula((8, 28, 27)) == (
        "H_out = floor((H - k) / s) + 1 = floor((28 - 2) / 2) + 1 = 14; "
        "W_out = floor((W - k) / s) + 1 = floor((27 - 2) / 2) + 1 = 13"
    )
    assert layer.spec() == {"type": cls.__name__, "kernel_size": 2, "stride": 2}
    assert cls((2, 3), (1, 2)).spec()["kernel_size"] == (2, 3)
    assert repr(cls(3, 2)) == f"{cls.__name__}(k=3, s=2)" and layer.parameters() == []
    for dtype in (np.float32, np.float64):
        y = layer.forward(np.ones((1, 2, 4, 4), dtype=dtype))
        assert y.dtype == dtype and layer.backward(np.ones_like(y)).dtype == dtype
    assert layer.forward(np.ones((1, 1, 2, 2), dtype=np.int64)).dtype == np.float32


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_results_are_bit_identical_across_runs_paths_and_thread_counts(cls):
    x = np.random.default_rng(1).standard_normal((8, 4, 12, 12)).astype(np.float32)
    g = np.random.default_rng(2).standard_normal((8, 4, 5, 5)).astype(np.float32)
    results = []
    for path, threads in KERNEL_RUNS:
        with kernel_path(path), num_threads(threads):
            layer = cls(3, 2)
            results.append((layer.forward(x), layer.backward(g)))
    for y, gx in results[1:]:
        assert np.array_equal(y, results[0][0]) and np.array_equal(gx, results[0][1])


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize(
    "args, what",
    [
        ((0,), "kernel_size"),
        ((2, 0), "stride"),
        ((2, -1), "stride"),
        ((True,), "kernel_size"),
        ((2.0,), "kernel_size"),
        (((2, 2, 2),), "kernel_size"),
    ],  # fmt: skip
)
def test_invalid_settings(cls, args, what):
    with pytest.raises(ValueError, match=rf"^{cls.__name__}\(") as err:
        cls(*args)
    assert what in str(err.value) and "H_out = floor((H - k) / s) + 1" in str(err.value)


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
def test_bad_inputs(cls):
    layer = cls(5)
    with pytest.raises(ValueError) as err:
        layer.forward(np.zeros((2, 3, 4, 6)))
    msg = str(err.value)
    assert msg.startswith(f"{cls.__name__}(k=5, s=5): ") and "(3, 4, 6)" in msg
    assert "H_out = floor((H - k) / s) + 1 = floor((4 - 5) / 5) + 1 = 0" in msg
    with pytest.raises(ValueError, match=r"expects \(N, C, H, W\) input, got shape \(4, 6\)"):
        layer.forward(np.zeros((4, 6)))
    with pytest.raises(ValueError, match="floor"):
        layer.output_shape((3, 4, 6))
    with pytest.raises(RuntimeError, match="before forward"):
        cls(2).backward(np.zeros((1, 1, 1, 1)))
    ok = cls(2)
    ok.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="grad_out has shape"):
        ok.backward(np.zeros((1, 1, 3, 3)))


def test_max_pool_propagates_nan_and_points_at_it():
    # PyTorch's max_pool2d returns NaN for a window holding one (the last NaN wins) and
    # routes the gradient there; fastmath's "no NaNs" assumption used to lose it.
    x = np.array([[[[1.0, np.nan, 3.0, 0.0], [2.0, 0.5, np.nan, np.nan]]]], dtype=np.float32)
    for path in ("serial", "parallel"):
        layer = MaxPool2d(2)
        with kernel_path(path):
            y = layer.forward(x)
            gx = layer.backward(np.ones_like(y))
        assert np.isnan(y).all() and y.shape == (1, 1, 1, 2)
        np.testing.assert_array_equal(layer.ctx.argmax, [[[[1, 7]]]])  # flat H*W indices
        assert gx[0, 0, 0, 1] == 1 and gx[0, 0, 1, 3] == 1 and gx.sum() == 2
