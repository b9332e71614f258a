"""The numba kernels of depthwise convolution and batch normalisation against their NumPy twins
(the same Functions with the kernels turned off), on float32 data, over edge geometries."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.ops import depthwise, normalization
from minicnn.ops.depthwise import depthwise_conv2d
from minicnn.ops.normalization import batch_norm, moments


def _close(a, b, tol=2e-6, scale=0.0):
    """Relative to the largest magnitude, as the parity tests measure; ``scale``: a larger
    magnitude to measure against (the sums of |terms|, when the outputs cancel down)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape
    assert np.abs(a - b).max(initial=0) <= tol * max(np.abs(b).max(initial=0), scale, 1e-30)


def _both_routes(monkeypatch, module, run):
    """``run()`` with the kernels, then with the NumPy twin."""
    monkeypatch.setattr(module, "USE_KERNELS", True)
    fast = run()
    monkeypatch.setattr(module, "USE_KERNELS", False)
    plain = run()
    return fast, plain


DEPTHWISE_CASES = [
    # (N, H, W, C), (KH, KW, M), strides, padding, dilation
    ((2, 7, 9, 3), (3, 3, 1), (1, 1), "same", (1, 1)),
    ((2, 7, 9, 3), (3, 3, 2), (2, 2), "same", (1, 1)),  # odd sizes, 'same', stride 2
    ((1, 5, 5, 2), (5, 5, 2), (1, 1), "valid", (1, 1)),  # kernel = input, batch 1
    ((1, 7, 6, 4), (2, 2, 1), (3, 3), "valid", (1, 1)),  # stride > kernel
    ((3, 4, 4, 5), (1, 1, 3), (1, 1), "valid", (1, 1)),  # 1x1
    ((2, 8, 7, 3), (2, 4, 1), (1, 1), "same", (1, 1)),  # even kernel: asymmetric padding
    ((1, 9, 9, 2), (3, 3, 2), (1, 1), "same", (2, 3)),  # dilated
    ((4, 16, 16, 32), (3, 3, 1), (2, 2), "same", (1, 1)),  # larger, parallel over images
    # 3x3, stride 1, one filter per channel: the nine-tap loop inside, the tap loop at the
    # border, and the input gradient as a forward pass with the kernel turned 180 degrees
    ((2, 10, 12, 33), (3, 3, 1), (1, 1), "valid", (1, 1)),
    ((2, 10, 12, 33), (3, 3, 1), (1, 1), "same", (1, 1)),
    ((1, 2, 2, 3), (3, 3, 1), (1, 1), "same", (1, 1)),  # every tap at the border
    ((1, 3, 8, 4), (3, 3, 1), (1, 1), "same", (1, 1)),  # one inside row
]


@pytest.mark.parametrize("xs, ks, strides, padding, dilation", DEPTHWISE_CASES)
def test_depthwise_kernels_match_numpy_twin(monkeypatch, xs, ks, strides, padding, dilation):
    rng = np.random.default_rng(sum(xs) + sum(ks))
    x0 = rng.standard_normal(xs).astype(np.float32)
    w0 = rng.standard_normal((ks[0], ks[1], xs[3], ks[2])).astype(np.float32)
    b0 = rng.standard_normal(xs[3] * ks[2]).astype(np.float32)

    def run():
        x, w, b = (mc.Tensor(a.copy(), requires_grad=True) for a in (x0, w0, b0))
        y = depthwise_conv2d(x, w, b, strides, padding, dilation)
        gy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
        y.backward(gy)
        return y.data, x.grad, w.grad, b.grad

    fast, plain = _both_routes(monkeypatch, depthwise, run)
    for name, a, b in zip(("y", "gx", "gw", "gb"), fast, plain):
        assert a.dtype == np.float32, name
        _close(a, b)


@st.composite
def depthwise_case(draw):
    N, H, W = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9))
    C, M = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same"]))
    dilated = draw(st.booleans())
    DH, DW = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated else (1, 1)
    SH, SW = (1, 1) if dilated else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    # a window that fits when 'valid': (K - 1) * D + 1 <= size
    KH = draw(st.integers(1, (H - 1) // DH + 1 if padding == "valid" else 5))
    KW = draw(st.integers(1, (W - 1) // DW + 1 if padding == "valid" else 5))
    return (N, H, W, C), (KH, KW, M), (SH, SW), padding, (DH, DW), draw(st.integers(0, 2**16))


@settings(max_examples=40, deadline=None)
@given(depthwise_case())
def test_depthwise_kernels_match_numpy_twin_on_generated_shapes(case):
    xs, ks, strides, padding, dilation, seed = case
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(xs).astype(np.float32)
    w0 = rng.standard_normal((ks[0], ks[1], xs[3], ks[2])).astype(np.float32)
    results = []
    # the kernels, the NumPy twin, then the twin on |x|, |w|, |gy|: each output's sum of |terms|,
    # which float32 rounding scales with (outputs that cancel down to little measure against it)
    for use_kernels, magnitude in ((True, False), (False, False), (False, True)):
        depthwise.USE_KERNELS = use_kernels
        try:
            x, w = (mc.Tensor(np.abs(a) if magnitude else a.copy(), requires_grad=True)
                    for a in (x0, w0))
            y = depthwise_conv2d(x, w, None, strides, padding, dilation)
            gy = np.random.default_rng(seed + 1).standard_normal(y.shape).astype(np.float32)
            y.backward(np.abs(gy) if magnitude else gy)
            results.append((y.data, x.grad, w.grad))
        finally:
            depthwise.USE_KERNELS = True
    for a, b, m in zip(*results):
        _close(a, b, scale=float(m.max(initial=0)))


@pytest.mark.parametrize("xs, ks, strides, padding, dilation", DEPTHWISE_CASES)
@pytest.mark.parametrize("build", ["serial", "parallel"])
def test_depthwise_forward_reads_through_a_relu(xs, ks, strides, padding, dilation, build):
    """``relu_input=True`` (a ReLU layer before a SeparableConv2D, run inside it at inference)
    gives the kernel's numbers on ``max(x, 0)`` to the bit, NaN kept, on every geometry."""
    from minicnn.fast.parallel import parallel_build
    from minicnn.kernels import depthwise as K
    from minicnn.ops.depthwise import window_geometry

    rng = np.random.default_rng(sum(xs) * 7 + sum(ks))
    x = rng.standard_normal(xs).astype(np.float32)
    x.flat[rng.integers(x.size)] = np.nan
    w = rng.standard_normal((ks[0], ks[1], xs[3], ks[2])).astype(np.float32)
    OH, OW, PT, PL, _, _ = window_geometry(xs, ks[:2], strides, padding, dilation, "test")
    kern = parallel_build(K.depthwise_forward) if build == "parallel" else K.depthwise_forward
    through, on_relu = (np.full((xs[0], OH, OW, xs[3] * ks[2]), -1.0, np.float32)
                        for _ in range(2))
    kern(x, w, *strides, *dilation, PT, PL, through, True)
    kern(np.where(x < 0, np.float32(0), x), w, *strides, *dilation, PT, PL, on_relu)
    np.testing.assert_array_equal(through, on_relu)


@pytest.mark.parametrize("W, padding", [(W, p) for p in ("valid", "same")
                                        for W in range(3 if p == "valid" else 1, 12)])
@pytest.mark.parametrize("C", [5, 19])
def test_nine_tap_loop_gives_the_tap_loop_to_the_bit(monkeypatch, W, padding, C):
    """3x3, stride 1, one filter per channel: the kernel's inside pixels go four at a time
    (then one to three alone), each sum in the tap loop's order, so the output is the NumPy
    twin's exactly, at every width (every remainder of the blocks), through a ReLU too."""
    from minicnn.kernels import depthwise as K

    rng = np.random.default_rng(W * 31 + C)
    x0 = rng.standard_normal((2, 5, W, C)).astype(np.float32)
    w0 = rng.standard_normal((3, 3, C, 1)).astype(np.float32)

    def run():
        return depthwise_conv2d(mc.Tensor(x0), mc.Tensor(w0), None, (1, 1), padding).data

    kernel, twin = _both_routes(monkeypatch, depthwise, run)
    np.testing.assert_array_equal(kernel, twin)
    PT = PL = 1 if padding == "same" else 0
    through = np.empty_like(kernel)
    K.depthwise_forward(x0, w0, 1, 1, 1, 1, PT, PL, through, True)
    monkeypatch.setattr(depthwise, "USE_KERNELS", False)
    relu_twin = depthwise_conv2d(mc.Tensor(np.maximum(x0, 0)), mc.Tensor(w0), None, (1, 1),
                                 padding).data
    np.testing.assert_array_equal(through, relu_twin)


def test_depthwise_kernel_without_input_gradient(monkeypatch):
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    w0 = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)

    def run():
        w = mc.Tensor(w0.copy(), requires_grad=True)
        depthwise_conv2d(mc.Tensor(x0), w, None, (1, 1), "same").sum().backward()
        return w.grad

    fast, plain = _both_routes(monkeypatch, depthwise, run)
    _close(fast, plain)


BN_SHAPES = [(2, 5, 5, 3), (1, 4, 3, 16), (64, 7), (3, 9, 9, 1)]


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("batch_stats", [True, False])
def test_batch_norm_kernels_match_numpy_twin(monkeypatch, shape, batch_stats):
    rng = np.random.default_rng(len(shape) + shape[-1])
    x0 = (rng.standard_normal(shape) * 3 + 5).astype(np.float32)  # a mean far from 0
    g0 = rng.uniform(0.5, 1.5, shape[-1]).astype(np.float32)
    b0 = rng.standard_normal(shape[-1]).astype(np.float32)
    gy = rng.standard_normal(shape).astype(np.float32)
    moving = (rng.standard_normal(shape[-1]).astype(np.float32),
              rng.uniform(0.5, 2.0, shape[-1]).astype(np.float32))

    def run():
        x, g, b = (mc.Tensor(a.copy(), requires_grad=True) for a in (x0, g0, b0))
        mean, var = moments(x.data) if batch_stats else moving
        y = batch_norm(x, g, b, mean, var, 1e-3, batch_stats=batch_stats)
        y.backward(gy)
        return mean, var, y.data, x.grad, g.grad, b.grad

    fast, plain = _both_routes(monkeypatch, normalization, run)
    for name, a, b in zip(("mean", "var", "y", "gx", "ggamma", "gbeta"), fast, plain):
        assert a.dtype == np.float32, name
        _close(a, b, tol=1e-5)
