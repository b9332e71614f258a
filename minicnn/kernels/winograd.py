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
    """U = G g G^T for every (c, f). Shape: w (3, 3, C, F) -> U (16, C, F)."""
    G = _G.astype(w.dtype)
    C, F = w.shape[2], w.shape[3]
    return np.ascontiguousarray(np.einsum("ai,ijcf,bj->abcf", G, w, G).reshape(16, C, F))


@njit(parallel=True, cache=True)
def transform_input(x, PT, PL, TH, TW, V):
    """V[:, t, c] = B^T d B for the 4x4 tile d at rows 2*th-PT.., cols 2*tw-PL.. (zeros outside).

    Shape: x (N, H, W, C) -> V (16, N*TH*TW, C)
    """
    N, H, W, C = x.shape
    d = np.empty((4, 4), dtype=x.dtype)
    for t in prange(N * TH * TW):
        d = np.empty((4, 4), dtype=x.dtype)
        n = t // (TH * TW)
        r = t - n * TH * TW
        th = r // TW
        tw = r - th * TW
        h0 = 2 * th - PT
        w0 = 2 * tw - PL
        inside = h0 >= 0 and w0 >= 0 and h0 + 4 <= H and w0 + 4 <= W
        for c in range(C):
            if inside:
                for i in range(4):
                    for j in range(4):
                        d[i, j] = x[n, h0 + i, w0 + j, c]
            else:
                for i in range(4):
                    ih = h0 + i
                    for j in range(4):
                        iw = w0 + j
                        if 0 <= ih < H and 0 <= iw < W:
                            d[i, j] = x[n, ih, iw, c]
                        else:
                            d[i, j] = 0
            for j in range(4):  # columns: B^T d
                a0 = d[0, j] - d[2, j]
                a1 = d[1, j] + d[2, j]
                a2 = d[2, j] - d[1, j]
                a3 = d[1, j] - d[3, j]
                d[0, j] = a0
                d[1, j] = a1
                d[2, j] = a2
                d[3, j] = a3
            for i in range(4):  # rows: (B^T d) B
                b0 = d[i, 0] - d[i, 2]
                b1 = d[i, 1] + d[i, 2]
                b2 = d[i, 2] - d[i, 1]
                b3 = d[i, 1] - d[i, 3]
                V[4 * i + 0, t, c] = b0
                V[4 * i + 1, t, c] = b1
                V[4 * i + 2, t, c] = b2
                V[4 * i + 3, t, c] = b3


@njit(parallel=True, cache=True)
def transform_output(M, b, relu, TH, TW, y):
    """y[2x2 block of tile t] = A^T m A (+ bias, then ReLU when asked), cropped to (OH, OW).

    Shape: M (16, N*TH*TW, F), b (F,) -> y (N, OH, OW, F)
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

    Shape: x (N, H, W, C), U (16, C, F) from ``transform_kernel`` -> y (N, OH, OW, F)
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
