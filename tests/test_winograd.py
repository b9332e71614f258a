"""Winograd F(2x2, 3x3) agrees with the im2col route, forward and backward."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.fast import chunks, routes
from minicnn.ops import conv as conv_ops
from tests.paths import use_path


@pytest.fixture(autouse=True)
def fast_path(monkeypatch):
    """These tests are about the fast path's routes: on, with its switches at their defaults,
    even in a run with MINICNN_FAST=0 or MINICNN_WINOGRAD / MINICNN_FUSE set."""
    use_path("defaults", monkeypatch)


def _run(x, w, b, padding, activation, winograd, chunked=False, monkeypatch=None):
    monkeypatch.setattr(routes, "WINOGRAD", (None if chunked else True) if winograd else False)
    xt = mc.Tensor(x, requires_grad=True)
    wt = mc.Tensor(w, requires_grad=True)
    bt = mc.Tensor(b, requires_grad=True)
    y = conv_ops.conv2d(xt, wt, bt, (1, 1), padding, activation)
    assert (y._ctx.method == "winograd") is winograd and y._ctx.chunked is chunked
    r = np.random.default_rng(9).standard_normal(y.shape).astype(np.float32)
    (y * mc.Tensor(r)).sum().backward()
    return y.data, xt.grad, wt.grad, bt.grad


def _relu_margin(x, w, b, padding):
    """min |z| / max |z| over the ReLU's inputs z, computed in float64. The two routes differ by
    ~1e-7 relative, so with a margin far above that no ReLU can go one way in one route and the
    other way in the other: the comparison below cannot depend on the CPU's rounding."""
    z = conv_ops.conv2d(mc.Tensor(x.astype(np.float64)), mc.Tensor(w.astype(np.float64)),
                        mc.Tensor(b.astype(np.float64)), (1, 1), padding).data
    return float(np.abs(z).min() / np.abs(z).max())


@pytest.mark.parametrize(
    "shape, F, padding, activation",
    [
        ((2, 8, 8, 16), 8, "valid", "linear"),
        ((2, 9, 7, 16), 5, "valid", "relu"),  # odd output sizes: partial last tiles
        ((1, 7, 10, 32), 4, "same", "relu"),
        ((3, 6, 6, 16), 16, "same", "linear"),
        ((1, 3, 3, 16), 2, "valid", "relu"),  # a single 1x1 output
        ((1, 4, 5, 20), 3, "same", "linear"),
    ],
)
@pytest.mark.parametrize("chunked", [False, True])
def test_winograd_matches_im2col(shape, F, padding, activation, chunked, monkeypatch):
    if chunked:  # every batch split, one image per chunk, and Winograd at any output size
        monkeypatch.setattr(routes, "SPLIT_MIN_ELEMENTS", 1)
        monkeypatch.setattr(chunks, "CHUNK_BYTES", 1)
        monkeypatch.setattr(routes, "WINOGRAD_MIN_TILES", 1)
        shape = (max(shape[0], 2),) + shape[1:]
    else:
        monkeypatch.setattr(routes, "SPLIT_MIN_ELEMENTS", 1 << 60)
    rng = np.random.default_rng(sum(shape) + F)
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((3, 3, shape[3], F)) * 0.2).astype(np.float32)
    b = rng.standard_normal(F).astype(np.float32)
    if activation == "relu":  # no ReLU input within rounding of 0, on any CPU (see _relu_margin)
        assert _relu_margin(x, w, b, padding) > 1e-4
    fast = _run(x, w, b, padding, activation, True, chunked, monkeypatch)
    slow = _run(x, w, b, padding, activation, False, chunked, monkeypatch)
    for name, a, ref in zip(("y", "gx", "gw", "gb"), fast, slow):
        err = np.abs(a - ref).max() / np.abs(ref).max()
        assert err < 1e-5, f"{name}: relative error {err:.2e}"


def test_by_default_only_chunked_batches_with_enough_tiles_take_winograd():
    rng = np.random.default_rng(0)
    w = mc.Tensor(rng.standard_normal((3, 3, 32, 8)).astype(np.float32), requires_grad=True)

    def route(n, size):
        y = conv_ops.conv2d(mc.Tensor(rng.random((n, size, size, 32), np.float32)), w)
        return y._ctx.chunked, y._ctx.method == "winograd"

    assert routes.WINOGRAD is None
    assert route(4, 63) == (True, True)  # the cat-dog network's second convolution
    assert route(1, 63) == (False, False)  # one image: im2col, BLAS's own threads
    assert route(96, 6) == (True, False)  # 4x4 outputs: 4 tiles an image, too few


@pytest.mark.parametrize("K, S, C, dtype, expected", [
    (3, 1, 32, np.float32, True),
    (3, 2, 32, np.float32, False),
    (5, 1, 32, np.float32, False),
    (3, 1, 3, np.float32, False),
    (3, 1, 32, np.float64, False),  # gradient checks stay exact
])
def test_winograd_route_only_for_3x3_stride1_wide_float32(K, S, C, dtype, expected,
                                                          monkeypatch):
    monkeypatch.setattr(routes, "WINOGRAD", True)
    name = routes.choose("conv2d", dict(x=np.ones((1, 8, 8, C), dtype),
                                        w=np.ones((K, K, C, 4), dtype), b=None,
                                        strides=(S, S), padding="same"))[1]
    assert (name in ("winograd", "one-winograd")) is expected  # one-winograd: at inference
