"""Winograd F(2x2, 3x3) convolution: 2.25x fewer multiplications for 3x3, stride-1 windows.

Each 4x4 input tile d (stride 2) becomes V = B^T d B, each 3x3 kernel g becomes U = G g G^T,
the 16 positions of the 4x4 transformed tile are 16 independent (T x C) @ (C x F) GEMMs, and the
2x2 output is Y = A^T M A (Lavin & Gray, 2016). The transforms only add and subtract, so they
are numba kernels that move data; BLAS does the 16 GEMMs.

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

One routine serves the forward pass (input x, pad PT/PL) and the input gradient (input gy
padded by 2 - PT, kernel rotated 180 degrees with its channel axes swapped). Notation as in
``minicnn.kernels``; T = N*TH*TW tiles, TH = ceil(OH / 2), TW = ceil(OW / 2).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def transform_kernel(w: np.ndarray) -> np.ndarray:
    """U = G g G^T for every (c, f). Shape: w (3, 3, C, F) -> U (16, C, F).

    Args:
        w: an HWIO 3x3 kernel; U has its dtype.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.winograd import transform_kernel
        >>> transform_kernel(np.ones((3, 3, 1, 1)))[:, 0, 0].reshape(4, 4)
        array([[1.  , 1.5 , 0.5 , 1.  ],
               [1.5 , 2.25, 0.75, 1.5 ],
               [0.5 , 0.75, 0.25, 0.5 ],
               [1.  , 1.5 , 0.5 , 1.  ]])
    """
    G = _G.astype(w.dtype)
    C, F = w.shape[2], w.shape[3]
    return np.ascontiguousarray(np.einsum("ai,ijcf,bj->abcf", G, w, G).reshape(16, C, F))


@njit(cache=True, inline="always")
def _load(x, n, ih, iw, c, H, W):
    if 0 <= ih < H and 0 <= iw < W:
        return x[n, ih, iw, c]
    return x.dtype.type(0)


@njit(parallel=True, cache=True)
def transform_input(x, PT, PL, TH, TW, V):
    """V[:, t, c] = B^T d B for the 4x4 tile d at rows 2*th-PT.., cols 2*tw-PL.. (zeros outside).

    Shape: x (N, H, W, C) -> V (16, N*TH*TW, C). Scalars only in the loop body (no per-tile
    arrays), channels innermost so reads and writes are contiguous runs.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.winograd import transform_input
        >>> V = np.empty((16, 1, 1))
        >>> transform_input(np.ones((1, 4, 4, 1)), 0, 0, 1, 1, V)
        >>> V[:, 0, 0].reshape(4, 4)
        array([[0., 0., 0., 0.],
               [0., 4., 0., 0.],
               [0., 0., 0., 0.],
               [0., 0., 0., 0.]])
    """
    N, H, W, C = x.shape
    for t in prange(N * TH * TW):
        n = t // (TH * TW)
        r = t - n * TH * TW
        th = r // TW
        h0 = 2 * th - PT
        w0 = 2 * (r - th * TW) - PL
        for c in range(C):
            d00 = _load(x, n, h0, w0, c, H, W)
            d01 = _load(x, n, h0, w0 + 1, c, H, W)
            d02 = _load(x, n, h0, w0 + 2, c, H, W)
            d03 = _load(x, n, h0, w0 + 3, c, H, W)
            d10 = _load(x, n, h0 + 1, w0, c, H, W)
            d11 = _load(x, n, h0 + 1, w0 + 1, c, H, W)
            d12 = _load(x, n, h0 + 1, w0 + 2, c, H, W)
            d13 = _load(x, n, h0 + 1, w0 + 3, c, H, W)
            d20 = _load(x, n, h0 + 2, w0, c, H, W)
            d21 = _load(x, n, h0 + 2, w0 + 1, c, H, W)
            d22 = _load(x, n, h0 + 2, w0 + 2, c, H, W)
            d23 = _load(x, n, h0 + 2, w0 + 3, c, H, W)
            d30 = _load(x, n, h0 + 3, w0, c, H, W)
            d31 = _load(x, n, h0 + 3, w0 + 1, c, H, W)
            d32 = _load(x, n, h0 + 3, w0 + 2, c, H, W)
            d33 = _load(x, n, h0 + 3, w0 + 3, c, H, W)
            # B^T d, column by column: rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
            a00, a01, a02, a03 = d00 - d20, d01 - d21, d02 - d22, d03 - d23
            a10, a11, a12, a13 = d10 + d20, d11 + d21, d12 + d22, d13 + d23
            a20, a21, a22, a23 = d20 - d10, d21 - d11, d22 - d12, d23 - d13
            a30, a31, a32, a33 = d10 - d30, d11 - d31, d12 - d32, d13 - d33
            # (B^T d) B, row by row: columns (a0 - a2, a1 + a2, a2 - a1, a1 - a3)
            V[0, t, c] = a00 - a02
            V[1, t, c] = a01 + a02
            V[2, t, c] = a02 - a01
            V[3, t, c] = a01 - a03
            V[4, t, c] = a10 - a12
            V[5, t, c] = a11 + a12
            V[6, t, c] = a12 - a11
            V[7, t, c] = a11 - a13
            V[8, t, c] = a20 - a22
            V[9, t, c] = a21 + a22
            V[10, t, c] = a22 - a21
            V[11, t, c] = a21 - a23
            V[12, t, c] = a30 - a32
            V[13, t, c] = a31 + a32
            V[14, t, c] = a32 - a31
            V[15, t, c] = a31 - a33


@njit(parallel=True, cache=True)
def transform_output(M, b, relu, TH, TW, y):
    """y[2x2 block of tile t] = A^T m A (+ bias, then ReLU when asked), cropped to (OH, OW).

    Shape: M (16, N*TH*TW, F), b (F,) -> y (N, OH, OW, F); an empty ``b`` means no bias.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.winograd import transform_output
        >>> y = np.empty((1, 2, 2, 1))
        >>> transform_output(np.eye(16)[5].reshape(16, 1, 1), np.array([1.0]), False, 1, 1, y)
        >>> y[0, :, :, 0]
        array([[2., 2.],
               [2., 2.]])
    """
    N, OH, OW, F = y.shape
    has_bias = b.shape[0] == F
    for t in prange(N * TH * TW):
        n = t // (TH * TW)
        r = t - n * TH * TW
        th = r // TW
        tw = r - th * TW
        oh = 2 * th
        ow = 2 * tw
        for f in range(F):
            s00 = M[0, t, f] + M[1, t, f] + M[2, t, f]
            s01 = M[1, t, f] - M[2, t, f] - M[3, t, f]
            s10 = M[4, t, f] + M[5, t, f] + M[6, t, f]
            s11 = M[5, t, f] - M[6, t, f] - M[7, t, f]
            s20 = M[8, t, f] + M[9, t, f] + M[10, t, f]
            s21 = M[9, t, f] - M[10, t, f] - M[11, t, f]
            s30 = M[12, t, f] + M[13, t, f] + M[14, t, f]
            s31 = M[13, t, f] - M[14, t, f] - M[15, t, f]
            y00 = s00 + s10 + s20
            y01 = s01 + s11 + s21
            y10 = s10 - s20 - s30
            y11 = s11 - s21 - s31
            if has_bias:
                y00 += b[f]
                y01 += b[f]
                y10 += b[f]
                y11 += b[f]
            if relu:
                y00 = max(y00, 0)
                y01 = max(y01, 0)
                y10 = max(y10, 0)
                y11 = max(y11, 0)
            y[n, oh, ow, f] = y00
            if ow + 1 < OW:
                y[n, oh, ow + 1, f] = y01
            if oh + 1 < OH:
                y[n, oh + 1, ow, f] = y10
                if ow + 1 < OW:
                    y[n, oh + 1, ow + 1, f] = y11


def conv3x3(x, U, b, PT, PL, OH, OW, relu=False):
    """Stride-1 3x3 correlation via Winograd: y[i, j] = sum x[i - PT + kh, j - PL + kw] * g[kh, kw].

    Args:
        x: the input.  U: the transformed kernel.  b: a bias (F,) or None.
        PT, PL: padding before (top, left).  OH, OW: the output size.  relu: fuse a ReLU.

    Shape: x (N, H, W, C), U (16, C, F) from ``transform_kernel`` -> y (N, OH, OW, F)

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.winograd import conv3x3, transform_kernel
        >>> U = transform_kernel(np.ones((3, 3, 1, 1)))
        >>> conv3x3(np.ones((1, 4, 4, 1)), U, None, 0, 0, 2, 2)[0, :, :, 0]
        array([[9., 9.],
               [9., 9.]])
    """
    N, C = x.shape[0], x.shape[3]
    F = U.shape[2]
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    V = np.empty((16, N * TH * TW, C), dtype=x.dtype)
    transform_input(np.ascontiguousarray(x), PT, PL, TH, TW, V)
    M = np.matmul(V, U)  # 16 GEMMs: (T, C) @ (C, F)
    del V
    y = np.empty((N, OH, OW, F), dtype=x.dtype)
    bias = b if b is not None else np.empty(0, dtype=x.dtype)
    transform_output(M, bias, relu, TH, TW, y)
    return y
