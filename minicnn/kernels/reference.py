"""Slow, obviously-correct NumPy twins of the numba kernels in ``jit.py``.

Same signatures, same outputs; the tests compare the two over generated shapes. Padding is
done explicitly here (zeros for im2col, -inf for max pooling), then windows are strided slices:
one copy per kernel tap, as in DeZero and Chainer.
"""

from __future__ import annotations

import numpy as np


def _pad(x, KH, KW, SH, SW, PT, PL, OH, OW, value=0.0):
    N, H, W, C = x.shape
    HP = max((OH - 1) * SH + KH, H + PT)
    WP = max((OW - 1) * SW + KW, W + PL)
    padded = np.full((N, HP, WP, C), value, dtype=x.dtype)
    padded[:, PT:PT + H, PL:PL + W, :] = x
    return padded


def im2col(x, KH, KW, SH, SW, PT, PL, OH, OW, cols):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.im2col``.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels import reference
        >>> cols = np.empty((1, 4))
        >>> reference.im2col(np.arange(4.0).reshape(1, 2, 2, 1), 2, 2, 1, 1, 0, 0, 1, 1, cols)
        >>> cols
        array([[0., 1., 2., 3.]])
    """
    N, H, W, C = x.shape
    xp = _pad(x, KH, KW, SH, SW, PT, PL, OH, OW)
    out = np.empty((N, OH, OW, KH, KW, C), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            out[:, :, :, kh, kw, :] = xp[:, kh:kh + SH * OH:SH, kw:kw + SW * OW:SW, :]
    cols[...] = out.reshape(N * OH * OW, KH * KW * C)


def col2im(cols, KH, KW, SH, SW, PT, PL, OH, OW, gx):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.col2im``."""
    N, H, W, C = gx.shape
    HP = max((OH - 1) * SH + KH, H + PT)
    WP = max((OW - 1) * SW + KW, W + PL)
    gp = np.zeros((N, HP, WP, C), dtype=gx.dtype)
    c6 = cols.reshape(N, OH, OW, KH, KW, C)
    for kh in range(KH):
        for kw in range(KW):
            gp[:, kh:kh + SH * OH:SH, kw:kw + SW * OW:SW, :] += c6[:, :, :, kh, kw, :]
    gx[...] = gp[:, PT:PT + H, PL:PL + W, :]


def _windows(x, KH, KW, SH, SW, PT, PL, OH, OW, value):
    xp = _pad(x, KH, KW, SH, SW, PT, PL, OH, OW, value)
    N, C = x.shape[0], x.shape[3]
    out = np.empty((N, OH, OW, KH * KW, C), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            out[:, :, :, kh * KW + kw, :] = xp[:, kh:kh + SH * OH:SH, kw:kw + SW * OW:SW, :]
    return out


def max_pool_forward(x, KH, KW, SH, SW, PT, PL, y, argmax, add=None):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.max_pool_forward``."""
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    win = _windows(x, KH, KW, SH, SW, PT, PL, OH, OW, -np.inf)
    k = win.argmax(axis=3)  # argmax returns the first maximum: TF's tie rule
    y[...] = np.take_along_axis(win, k[:, :, :, None, :], axis=3)[:, :, :, 0, :]
    oh = np.arange(OH)[None, :, None, None]
    ow = np.arange(OW)[None, None, :, None]
    ih = oh * SH - PT + k // KW
    iw = ow * SW - PL + k % KW
    if argmax is not None:
        argmax[...] = ih * W + iw
    if add is not None:
        y += add


def max_pool_backward(gy, argmax, gx):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.max_pool_backward``."""
    N, OH, OW, C = gy.shape
    W = gx.shape[2]
    gx[...] = 0
    n = np.broadcast_to(np.arange(N)[:, None, None, None], gy.shape)
    c = np.broadcast_to(np.arange(C)[None, None, None, :], gy.shape)
    np.add.at(gx, (n, argmax // W, argmax % W, c), gy)


def max_pool_backward_tiled(gy, argmax, KH, KW, gx):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.max_pool_backward_tiled``."""
    max_pool_backward(gy, argmax, gx)


def max_pool_backward_gather(gy, argmax, KH, KW, SH, SW, PT, PL, gx):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.max_pool_backward_gather``."""
    max_pool_backward(gy, argmax, gx)


def _counts(H, W, KH, KW, SH, SW, PT, PL, OH, OW, dtype):
    ones = np.ones((1, H, W, 1), dtype=dtype)
    return _windows(ones, KH, KW, SH, SW, PT, PL, OH, OW, 0.0).sum(axis=3)  # (1, OH, OW, 1)


def avg_pool_forward(x, KH, KW, SH, SW, PT, PL, y):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.avg_pool_forward``."""
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    win = _windows(x, KH, KW, SH, SW, PT, PL, OH, OW, 0.0)
    y[...] = win.sum(axis=3) / _counts(H, W, KH, KW, SH, SW, PT, PL, OH, OW, x.dtype)


def avg_pool_backward(gy, KH, KW, SH, SW, PT, PL, gx):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.avg_pool_backward``."""
    N, OH, OW, C = gy.shape
    H, W = gx.shape[1], gx.shape[2]
    share = gy / _counts(H, W, KH, KW, SH, SW, PT, PL, OH, OW, gy.dtype)
    cols = np.repeat(share[:, :, :, None, :], KH * KW, axis=3).reshape(N * OH * OW, KH * KW * C)
    col2im(cols, KH, KW, SH, SW, PT, PL, OH, OW, gx)


def bias_relu_(y, b):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.bias_relu_``."""
    np.maximum(y + b, 0, out=y)


def bias_(y, b):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.bias_``."""
    y += b


def relu_(y):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.relu_``."""
    np.maximum(y, 0, out=y)


def relu_backward(gy, y, gx):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.relu_backward``."""
    gx[...] = np.where(y > 0, gy, 0)


def relu_backward_colsum(gy, y, gx, partial):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.relu_backward_colsum``."""
    gx[...] = np.where(y > 0, gy, 0)
    partial[...] = 0
    partial[0] = gx.sum(axis=0, dtype=np.float64)


def colsum(g, partial):
    """NumPy twin of the numba kernel ``minicnn.kernels.jit.colsum``."""
    partial[...] = 0
    partial[0] = g.sum(axis=0, dtype=np.float64)
