"""Winograd F(2x2, 3x3) agrees with the im2col route, forward and backward."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.ops import conv as conv_ops


def _run(x, w, b, padding, activation, winograd):
    old = conv_ops._winograd_on
    conv_ops._winograd_on = winograd
    try:
        xt = mc.Tensor(x, requires_grad=True)
        wt = mc.Tensor(w, requires_grad=True)
        bt = mc.Tensor(b, requires_grad=True)
        y = conv_ops.conv2d(xt, wt, bt, (1, 1), padding, activation)
        assert y._ctx.winograd is winograd
        r = np.random.default_rng(9).standard_normal(y.shape).astype(np.float32)
        (y * mc.Tensor(r)).sum().backward()
        return y.data, xt.grad, wt.grad, bt.grad
    finally:
        conv_ops._winograd_on = old


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
def test_winograd_matches_im2col(shape, F, padding, activation):
    rng = np.random.default_rng(sum(shape) + F)
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal((3, 3, shape[3], F)) * 0.2).astype(np.float32)
    b = rng.standard_normal(F).astype(np.float32)
    fast = _run(x, w, b, padding, activation, True)
    slow = _run(x, w, b, padding, activation, False)
    for name, a, ref in zip(("y", "gx", "gw", "gb"), fast, slow):
        err = np.abs(a - ref).max() / np.abs(ref).max()
        assert err < 1e-5, f"{name}: relative error {err:.2e}"


def test_winograd_route_only_for_3x3_stride1_wide_float32():
    old = conv_ops._winograd_on
    conv_ops._winograd_on = True
    try:
        assert conv_ops.use_winograd(3, 3, 1, 1, 32, np.float32)
    finally:
        conv_ops._winograd_on = old
    assert not conv_ops.use_winograd(3, 3, 2, 2, 32, np.float32)
    assert not conv_ops.use_winograd(5, 5, 1, 1, 32, np.float32)
    assert not conv_ops.use_winograd(3, 3, 1, 1, 3, np.float32)
    assert not conv_ops.use_winograd(3, 3, 1, 1, 32, np.float64)  # gradient checks stay exact
