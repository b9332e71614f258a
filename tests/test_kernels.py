"""numba kernels equal their NumPy twins over generated shapes and the edge rows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.fast import parallel as fast_parallel
from minicnn.fast import routes
from minicnn.kernels import jit as J
from minicnn.kernels import reference as R
from minicnn.kernels.geometry import output_size_and_padding


@st.composite
def window_case(draw):
    N = draw(st.integers(1, 3))
    H = draw(st.integers(1, 9))
    W = draw(st.integers(1, 9))
    C = draw(st.integers(1, 4))
    padding = draw(st.sampled_from(["valid", "same"]))
    KH = draw(st.integers(1, H if padding == "valid" else 5))
    KW = draw(st.integers(1, W if padding == "valid" else 5))
    SH = draw(st.integers(1, 3))
    SW = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**16))
    return N, H, W, C, KH, KW, SH, SW, padding, seed


EDGE_ROWS = [
    # N, H, W, C, KH, KW, SH, SW, padding, seed
    (1, 5, 5, 2, 5, 5, 1, 1, "valid", 0),  # kernel = input
    (2, 4, 6, 3, 1, 1, 1, 1, "valid", 1),  # 1x1
    (2, 7, 7, 1, 2, 2, 3, 3, "valid", 2),  # stride > kernel
    (1, 7, 5, 2, 3, 3, 2, 2, "same", 3),  # odd sizes, same, stride 2
    (1, 6, 6, 2, 3, 3, 2, 2, "same", 4),  # even size, same, stride 2: odd pixel bottom/right
    (1, 1, 1, 1, 1, 1, 1, 1, "valid", 5),  # batch 1, 1 pixel
]


def _geom(H, W, KH, KW, SH, SW, padding):
    OH, PT = output_size_and_padding(H, KH, SH, padding)
    OW, PL = output_size_and_padding(W, KW, SW, padding)
    return OH, OW, PT, PL


def _compare_all(case, dtype=np.float32):
    N, H, W, C, KH, KW, SH, SW, padding, seed = case
    rng = np.random.default_rng(seed)
    OH, OW, PT, PL = _geom(H, W, KH, KW, SH, SW, padding)
    if OH <= 0 or OW <= 0:
        return
    x = rng.standard_normal((N, H, W, C)).astype(dtype)
    args = (KH, KW, SH, SW, PT, PL, OH, OW)

    cols = [np.full((N * OH * OW, KH * KW * C), np.nan, dtype) for _ in range(2)]
    J.im2col(x, *args, cols[0])
    R.im2col(x, *args, cols[1])
    np.testing.assert_array_equal(cols[0], cols[1])
    cols_t = np.full(cols[0].shape[::-1], np.nan, dtype)
    J.im2col_planar(x, *args, cols_t)
    np.testing.assert_array_equal(cols_t.T, cols[1])

    g = rng.standard_normal(cols[0].shape).astype(dtype)
    gx = [np.full(x.shape, np.nan, dtype) for _ in range(2)]
    J.col2im(g, *args, gx[0])
    R.col2im(g, *args, gx[1])
    np.testing.assert_allclose(gx[0], gx[1], rtol=1e-5, atol=1e-5)

    y = [np.empty((N, OH, OW, C), dtype) for _ in range(2)]
    am = [np.empty((N, OH, OW, C), np.int32) for _ in range(2)]
    J.max_pool_forward(x, KH, KW, SH, SW, PT, PL, y[0], am[0])
    R.max_pool_forward(x, KH, KW, SH, SW, PT, PL, y[1], am[1])
    np.testing.assert_array_equal(y[0], y[1])
    np.testing.assert_array_equal(am[0], am[1])
    values = np.full(y[0].shape, np.nan, dtype)  # inference's kernel: the same maxima
    J.max_pool_forward(x, KH, KW, SH, SW, PT, PL, values, None)
    np.testing.assert_array_equal(values, y[1])
    other = rng.standard_normal(values.shape).astype(dtype)  # with an Add after the pool
    summed = [np.full(values.shape, np.nan, dtype) for _ in range(2)]
    J.max_pool_forward(x, KH, KW, SH, SW, PT, PL, summed[0], None, other)
    R.max_pool_forward(x, KH, KW, SH, SW, PT, PL, summed[1], None, other)
    np.testing.assert_array_equal(summed[0], summed[1])
    np.testing.assert_array_equal(summed[0], y[1] + other)

    gy = rng.standard_normal((N, OH, OW, C)).astype(dtype)
    J.max_pool_backward(gy, am[0], gx[0])
    R.max_pool_backward(gy, am[1], gx[1])
    np.testing.assert_allclose(gx[0], gx[1], rtol=1e-5, atol=1e-6)
    if (SH, SW) == (KH, KW) and PT == PL == 0:  # windows tile the input
        tiled = np.full(x.shape, np.nan, dtype)
        J.max_pool_backward_tiled(gy, am[0], KH, KW, tiled)
        np.testing.assert_array_equal(tiled, gx[1])
    gathered = [np.full(x.shape, np.nan, dtype) for _ in range(2)]  # every position written
    J.max_pool_backward_gather(gy, am[0], KH, KW, SH, SW, PT, PL, gathered[0])
    R.max_pool_backward_gather(gy, am[1], KH, KW, SH, SW, PT, PL, gathered[1])
    np.testing.assert_array_equal(gathered[0], gx[0])  # the scatter's order: the same bits
    np.testing.assert_allclose(gathered[0], gathered[1], rtol=1e-5, atol=1e-6)

    J.avg_pool_forward(x, KH, KW, SH, SW, PT, PL, y[0])
    R.avg_pool_forward(x, KH, KW, SH, SW, PT, PL, y[1])
    np.testing.assert_allclose(y[0], y[1], rtol=1e-5, atol=1e-6)

    J.avg_pool_backward(gy, KH, KW, SH, SW, PT, PL, gx[0])
    R.avg_pool_backward(gy, KH, KW, SH, SW, PT, PL, gx[1])
    np.testing.assert_allclose(gx[0], gx[1], rtol=1e-5, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(window_case())
def test_kernels_equal_numpy_twins(case):
    _compare_all(case)


@pytest.mark.parametrize("case", EDGE_ROWS)
def test_kernels_equal_numpy_twins_edge_rows(case):
    _compare_all(case)
    _compare_all(case, dtype=np.float64)


def test_max_pool_ties_go_to_first_maximum():
    x = np.ones((1, 2, 2, 1), np.float32)
    y = np.empty((1, 1, 1, 1), np.float32)
    am = np.empty((1, 1, 1, 1), np.int32)
    J.max_pool_forward(x, 2, 2, 2, 2, 0, 0, y, am)
    assert am[0, 0, 0, 0] == 0


@pytest.mark.parametrize(
    "size, window, stride, padding, expected",
    [
        (5, 3, 1, "valid", (3, 0)),
        (5, 3, 2, "valid", (2, 0)),
        (6, 3, 2, "same", (3, 0)),  # total pad 1: 0 before, 1 after (bottom/right)
        (5, 3, 2, "same", (3, 1)),  # total pad 2: 1 before, 1 after
        (4, 4, 1, "same", (4, 1)),  # total pad 3: 1 before, 2 after
        (7, 2, 3, "same", (3, 0)),
        (2, 3, 1, "valid", (0, 0)),
    ],
)
def test_output_size_and_padding_follow_tf(size, window, stride, padding, expected):
    assert output_size_and_padding(size, window, stride, padding) == expected


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (64, 33)])
def test_fused_relu_kernels_equal_numpy_twins(shape):
    rng = np.random.default_rng(shape[0])
    y = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape[1]).astype(np.float32)
    a1, a2 = y.copy(), y.copy()
    J.bias_relu_(a1, b)
    R.bias_relu_(a2, b)
    np.testing.assert_array_equal(a1, a2)
    a1, a2 = y.copy(), y.copy()
    J.bias_(a1, b)
    R.bias_(a2, b)
    np.testing.assert_array_equal(a1, a2)
    a1, a2 = y.copy(), y.copy()
    J.relu_(a1)
    R.relu_(a2)
    np.testing.assert_array_equal(a1, a2)
    gy = rng.standard_normal(shape).astype(np.float32)
    g1, g2 = np.empty_like(gy), np.empty_like(gy)
    J.relu_backward(gy, a1, g1)
    R.relu_backward(gy, a2, g2)
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("shape, chunks", [((1, 1), 8), ((7, 5), 3), ((1000, 33), 8)])
def test_colsum_kernels_equal_numpy_twins(shape, chunks):
    rng = np.random.default_rng(shape[0])
    gy = rng.standard_normal(shape).astype(np.float32)
    y = rng.standard_normal(shape).astype(np.float32)
    outs = []
    for mod in (J, R):
        gx = np.empty_like(gy)
        partial = np.empty((chunks, shape[1]), np.float64)
        mod.relu_backward_colsum(gy, y, gx, partial)
        plain = np.empty((chunks, shape[1]), np.float64)
        mod.colsum(gy, plain)
        outs.append((gx, partial.sum(axis=0), plain.sum(axis=0)))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=1e-12, atol=1e-12)


def _build(kern, which):
    return fast_parallel.parallel_build(kern) if which == "parallel" else kern


@pytest.mark.parametrize("H, W, padding", [(6, 6, "valid"), (7, 5, "valid"), (9, 4, "same"),
                                            (7, 5, "same"), (2, 2, "valid"), (1, 3, "same")])
@pytest.mark.parametrize("build", ["serial", "parallel"])
def test_two_by_two_max_pool_equals_the_numpy_twin(H, W, padding, build):
    """2x2 windows at stride 2 (the kernel's one-pass row when every window lies inside x):
    the twin's maxima and first-maximum indices exactly, with many ties, values only and with
    indices; 'same' windows that pass the input's edge take the window loop."""
    rng = np.random.default_rng(H * 10 + W)
    x = rng.integers(0, 3, (2, H, W, 9)).astype(np.float32)  # many ties
    OH, OW, PT, PL = _geom(H, W, 2, 2, 2, 2, padding)
    y, am = ([np.full((2, OH, OW, 9), -7, t) for _ in range(2)] for t in (np.float32, np.int32))
    _build(J.max_pool_forward, build)(x, 2, 2, 2, 2, PT, PL, y[0], am[0])
    R.max_pool_forward(x, 2, 2, 2, 2, PT, PL, y[1], am[1])
    np.testing.assert_array_equal(y[0], y[1])
    np.testing.assert_array_equal(am[0], am[1])
    values = np.full_like(y[0], -7)
    _build(J.max_pool_forward, build)(x, 2, 2, 2, 2, PT, PL, values, None)
    np.testing.assert_array_equal(values, y[1])


def test_parallel_and_serial_builds_agree():
    # the fast path picks by size; check both builds on one problem explicitly
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 9, 8, 4)).astype(np.float32)
    OH, OW, PT, PL = _geom(9, 8, 3, 3, 2, 2, "same")
    outs = []
    for build in ("parallel", "serial"):
        cols = np.empty((3 * OH * OW, 36), np.float32)
        _build(J.im2col, build)(x, 3, 3, 2, 2, PT, PL, OH, OW, cols)
        cols_t = np.empty((36, 3 * OH * OW), np.float32)
        _build(J.im2col_planar, build)(x, 3, 3, 2, 2, PT, PL, OH, OW, cols_t)
        gx = np.empty_like(x)
        _build(J.col2im, build)(cols, 3, 3, 2, 2, PT, PL, OH, OW, gx)
        y = np.empty((3, OH, OW, 4), np.float32)
        am = np.empty((3, OH, OW, 4), np.int32)
        _build(J.max_pool_forward, build)(x, 3, 3, 2, 2, PT, PL, y, am)
        values = np.empty_like(y)
        _build(J.max_pool_forward, build)(x, 3, 3, 2, 2, PT, PL, values, None)
        np.testing.assert_array_equal(values, y)
        gx_pool = np.empty_like(x)
        _build(J.max_pool_backward_gather, build)(y, am, 3, 3, 2, 2, PT, PL, gx_pool)
        outs.append((cols, cols_t, gx, y, am, gx_pool))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_fast_path_uses_parallel_build_for_large_arrays(monkeypatch):
    calls = []
    monkeypatch.setattr(routes, "PARALLEL_MIN_ELEMENTS", 10)
    original = fast_parallel.parallel_build
    monkeypatch.setattr(fast_parallel, "parallel_build",
                        lambda k: calls.append(k.__name__) or original(k))
    fast_parallel.auto(J.relu_)(np.ones((2, 4), np.float32))  # 8 elements: serial
    fast_parallel.auto(J.relu_)(np.ones((4, 4), np.float32))
    assert calls == ["relu_"]


@pytest.mark.parametrize("H,W,K,padding", [(6, 6, 2, "valid"), (7, 5, 2, "valid"),
                                           (7, 5, 2, "same"), (9, 8, 3, "valid"),
                                           (5, 9, 3, "same"), (4, 4, 1, "valid")])
def test_tiled_max_pool_backward_equals_the_scatter(H, W, K, padding):
    rng = np.random.default_rng(H * 100 + W * 10 + K)
    x = rng.integers(0, 3, (2, H, W, 3)).astype(np.float32)  # many ties
    OH, PT = output_size_and_padding(H, K, K, padding)
    OW, PL = output_size_and_padding(W, K, K, padding)
    assert PT == PL == 0  # strides = pool size: TF puts all 'same' padding after
    y = np.empty((2, OH, OW, 3), np.float32)
    am = np.empty((2, OH, OW, 3), np.int32)
    J.max_pool_forward(x, K, K, K, K, 0, 0, y, am)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    want, got = np.empty_like(x), np.full_like(x, np.nan)
    J.max_pool_backward(gy, am, want)
    J.max_pool_backward_tiled(gy, am, K, K, got)
    np.testing.assert_array_equal(got, want)
    fast_parallel.parallel_build(J.max_pool_backward_tiled)(gy, am, K, K, got)
    np.testing.assert_array_equal(got, want)
