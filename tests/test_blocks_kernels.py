"""The fast route of the mini-Xception's pointwise step against its plain twin: SeparableConv2D's
1x1 matmul split into row chunks on the chunk threads (``minicnn.fast.pointwise``) against
``minicnn.ops.depthwise.PointwiseConvFn``."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.fast import pointwise, routes
from minicnn.fast.blas import blas_threads
from minicnn.ops.depthwise import pointwise_conv
from tests.paths import use_path


def _close(a, b, tol=2e-6):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.abs(a - b).max(initial=0) <= tol * max(np.abs(b).max(initial=0), 1e-30)


@pytest.mark.parametrize("activation, bias, grad_x", [("linear", True, True),
                                                      ("relu", True, True),
                                                      ("relu", False, False)])
def test_pointwise_row_chunks_match_the_plain_twin(monkeypatch, activation, bias, grad_x):
    # 4 * 24 * 24 rows of 300 channels: 2.8 MB, over the two-chunk threshold with 1 MB chunks
    monkeypatch.setattr(pointwise, "POINTWISE_CHUNK_BYTES", 1 << 20)
    monkeypatch.setattr(routes, "POINTWISE_MIN_BYTES", 2 << 20)
    monkeypatch.setattr(routes, "POINTWISE_SPLIT", True)
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4, 24, 24, 300)).astype(np.float32)
    w0 = (rng.standard_normal((1, 1, 300, 70)) * 0.1).astype(np.float32)
    b0 = rng.standard_normal(70).astype(np.float32)
    gy = rng.standard_normal((4, 24, 24, 70)).astype(np.float32)
    chunk_counts = []
    real = pointwise._row_chunks

    def spy(work, rows, row_bytes):
        out = real(work, rows, row_bytes)
        chunk_counts.append(0 if out is None else len(out))
        return out

    monkeypatch.setattr(pointwise, "_row_chunks", spy)

    def run(path):
        use_path(path, monkeypatch)
        x = mc.Tensor(x0.copy(), requires_grad=grad_x)
        w = mc.Tensor(w0.copy(), requires_grad=True)
        b = mc.Tensor(b0.copy(), requires_grad=True) if bias else None
        y = pointwise_conv(x, w, b, activation)
        y.backward(gy)
        route = type(y._ctx).__name__
        return route, [y.data, w.grad] + ([b.grad] if bias else []) + ([x.grad] if grad_x else [])

    (fast_route, fast), (plain_route, plain) = run("defaults"), run("plain")
    assert plain_route == "PointwiseConvFn"
    if blas_threads() is not None:  # the chunk threads need a BLAS whose threads they can hold
        assert fast_route == "ChunkedPointwiseConvFn"
        assert chunk_counts[:2] and min(chunk_counts[:2]) > 1, chunk_counts
    if activation == "relu":
        assert (fast[0] == 0).any() and (fast[0] > 0).any()
    for a, b in zip(fast, plain):
        _close(a, b)


def test_pointwise_conv_refuses_other_kernels():
    x = mc.Tensor(np.zeros((1, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"kernel \(1, 1, C, F\).*Received"):
        pointwise_conv(x, mc.Tensor(np.zeros((3, 3, 3, 2), np.float32)))
    with pytest.raises(ValueError, match="activation"):
        pointwise_conv(x, mc.Tensor(np.zeros((1, 1, 3, 2), np.float32)), activation="tanh")


def test_separable_conv2d_uses_the_pointwise_matmul_and_matches_conv2d():
    """The layer's output against the depthwise step followed by a 1x1 Conv2D."""
    from minicnn.ops.conv import conv2d
    from minicnn.ops.depthwise import depthwise_conv2d

    mc.set_seed(1)
    layer = mc.layers.SeparableConv2D(6, 3, padding="same", activation="relu")
    x = np.random.default_rng(2).standard_normal((2, 7, 7, 4)).astype(np.float32)
    y = layer(x)
    assert type(y._ctx).__name__ == "PointwiseConvFn"
    d = depthwise_conv2d(mc.Tensor(x), layer.depthwise_kernel, None, (1, 1), "same")
    want = conv2d(d, layer.pointwise_kernel, layer.bias, (1, 1), "valid", "relu")
    _close(y.data, want.data)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_pointwise_conv_gradients_float64(activation):
    from tests.gradcheck import check_gradients

    rng = np.random.default_rng(19)
    x, w, b = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((1, 1, 4, 5)), \
        rng.standard_normal(5)
    y = x.reshape(-1, 4) @ w.reshape(4, 5) + b
    assert np.abs(y).min() > 1e-3  # no pre-activation within the finite differences' reach
    check_gradients(lambda x, w, b: pointwise_conv(x, w, b, activation), x, w, b)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_1x1_conv2d_row_chunks_match_the_plain_path(monkeypatch, activation):
    """A 1x1 stride-1 Conv2D takes the same row chunks (route conv2d / chunks-1x1): a training
    step holds BLAS at one thread, so the whole-batch matmul would run on one core."""
    from minicnn.ops.conv import conv2d

    monkeypatch.setattr(pointwise, "POINTWISE_CHUNK_BYTES", 1 << 20)
    monkeypatch.setattr(routes, "POINTWISE_MIN_BYTES", 2 << 20)
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((4, 24, 24, 300)).astype(np.float32)
    w0 = (rng.standard_normal((1, 1, 300, 70)) * 0.1).astype(np.float32)
    b0 = rng.standard_normal(70).astype(np.float32)
    gy = rng.standard_normal((4, 24, 24, 70)).astype(np.float32)

    def run(path):
        use_path(path, monkeypatch)
        x, w, b = (mc.Tensor(a.copy(), requires_grad=True) for a in (x0, w0, b0))
        y = conv2d(x, w, b, (1, 1), "valid", activation)
        y.backward(gy)
        return type(y._ctx).__name__, [y.data, x.grad, w.grad, b.grad]

    (fast_route, fast), (plain_route, plain) = run("defaults"), run("plain")
    assert plain_route == "Conv2DFn"
    if blas_threads() is not None:
        assert fast_route == "ChunkedMatmulConv2DFn"
    for a, b in zip(fast, plain):
        _close(a, b)
