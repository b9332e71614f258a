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

import weakref

import numpy as np
from numba import prange

from minicnn.fast.parallel import auto
from minicnn.kernels.jit import kernel

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def transform_kernel(w: np.ndarray) -> np.ndarray:
    """U = G g G^T for every (c, f). Shape: w (3, 3, C, F) -> U (16, C, F).

    Args:
        w: an HWIO 3x3 kernel; U has its dtype.

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.winograd import transform_kernel
        >>> transform_kernel(np.ones((3, 3, 1, 1)))[:, 0, 0].reshape(4, 4)
        array([[1.  , 1.5 , 0.5 , 1.  ],
               [1.5 , 2.25, 0.75, 1.5 ],
               [0.5 , 0.75, 0.25, 0.5 ],
               [1.  , 1.5 , 0.5 , 1.  ]])
    """
    C, F = w.shape[2], w.shape[3]
    return _sandwich(_G.astype(w.dtype), w).reshape(16, C, F)


_U_cache: dict[int, tuple] = {}  # id(w) -> (weakref to w, a copy of w, U)


def cached_transform(w: np.ndarray) -> np.ndarray:
    """``transform_kernel(w)``, kept while ``w`` is the same array with the same values.

    For inference: an image's convolution then skips the transform (0.2 ms for a 3x3x128x128
    kernel, a few percent of a single-image prediction). Whether the weights changed is
    decided by comparing them with a copy kept beside U, not by identity or a version number:
    ``set_weights`` and ``load_weights`` may assign new arrays or write into the old ones,
    and an optimizer step writes in place; the comparison (about 30 us for 147,456 floats)
    catches all of these. An entry goes when its array does. Safe from several threads: an
    entry is replaced whole, and two threads that both miss compute the same U.

    Shape: w (3, 3, C, F) -> U (16, C, F)

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.winograd import cached_transform
        >>> w = np.ones((3, 3, 1, 1))
        >>> cached_transform(w) is cached_transform(w)
        True
        >>> w[1, 1] = 2.0; float(cached_transform(w)[5, 0, 0])
        2.5
    """
    key = id(w)
    hit = _U_cache.get(key)
    if (hit is not None and hit[0]() is w and hit[1].shape == w.shape
            and hit[1].dtype == w.dtype and np.array_equal(hit[1], w)):
        return hit[2]
    U = transform_kernel(w)
    entry = (weakref.ref(w, lambda _, k=key: _forget(k)), w.copy(), U)
    _U_cache[key] = entry  # one dict store: atomic under the GIL, no lock needed
    return U


def _forget(key: int) -> None:
    # called as the array is freed, before its id can be reused; no lock here, since a lock
    # taken around the store above could be held when the collector frees another kernel
    _U_cache.pop(key, None)


def transform_kernel_flipped(w: np.ndarray) -> np.ndarray:
    """U for the input gradient: the kernel turned 180 degrees, its channel axes swapped.

    The input gradient of a stride-1 correlation is the full correlation of the output
    gradient with this kernel. Shape: w (3, 3, C, F) -> U (16, F, C).
    """
    C, F = w.shape[2], w.shape[3]
    G_flipped = _G[:, ::-1].astype(w.dtype)  # G on the kernel turned 180 degrees
    U = _sandwich(G_flipped, w).reshape(16, C, F)
    return np.ascontiguousarray(U.transpose(0, 2, 1))


def _sandwich(L: np.ndarray, w: np.ndarray) -> np.ndarray:
    """L w L^T over the two leading axes of w, for every trailing index, by two matmuls.

    np.einsum("ai,ij...,bj->ab...") does the same in one unblocked loop: 2.0 against 0.2 ms
    for a 3x3x128x128 kernel, once per Winograd layer and step.

    Shape: L (p, q), w (q, q, ...) -> (p, p, ...)
    """
    p, q = L.shape
    tmp = (L @ w.reshape(q, -1)).reshape(p, q, -1)  # (L w)[a, j, r]
    return np.matmul(L, tmp).reshape((p, p) + w.shape[2:])  # [a, b, r] = sum_j L[b, j] tmp[a, j, r]


@kernel(size_arg=5)
def transform_input(x, PT, PL, TH, TW, V):
    """V[:, t, c] = B^T d B for the 4x4 tile d at rows 2*th-PT.., cols 2*tw-PL.. (zeros outside).

    Shape: x (N, H, W, C) -> V (16, N*TH*TW, C). Channels innermost, so reads and writes are
    contiguous runs.

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.winograd import transform_input
        >>> V = np.empty((16, 1, 1))
        >>> transform_input(np.ones((1, 4, 4, 1)), 0, 0, 1, 1, V)
        >>> V[:, 0, 0].reshape(4, 4)
        array([[0., 0., 0., 0.],
               [0., 4., 0., 0.],
               [0., 0., 0., 0.],
               [0., 0., 0., 0.]])
    """
    N, H, W, C = x.shape
    for n in prange(N):
        d = np.zeros((4, 4, C), dtype=x.dtype)  # the tile, zero where it leaves the image
        for th in range(TH):
            h0 = 2 * th - PT
            for tw in range(TW):
                w0 = 2 * tw - PL
                t = (n * TH + th) * TW + tw
                # copy the tile first (contiguous runs of C, bounds checked once per pixel), so
                # that the transform below is branch-free and vectorises over channels
                for i in range(4):
                    ih = h0 + i
                    for j in range(4):
                        iw = w0 + j
                        if 0 <= ih < H and 0 <= iw < W:
                            for c in range(C):
                                d[i, j, c] = x[n, ih, iw, c]
                        else:
                            for c in range(C):
                                d[i, j, c] = 0
                for c in range(C):
                    # B^T d, column by column: rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
                    a00, a01 = d[0, 0, c] - d[2, 0, c], d[0, 1, c] - d[2, 1, c]
                    a02, a03 = d[0, 2, c] - d[2, 2, c], d[0, 3, c] - d[2, 3, c]
                    a10, a11 = d[1, 0, c] + d[2, 0, c], d[1, 1, c] + d[2, 1, c]
                    a12, a13 = d[1, 2, c] + d[2, 2, c], d[1, 3, c] + d[2, 3, c]
                    a20, a21 = d[2, 0, c] - d[1, 0, c], d[2, 1, c] - d[1, 1, c]
                    a22, a23 = d[2, 2, c] - d[1, 2, c], d[2, 3, c] - d[1, 3, c]
                    a30, a31 = d[1, 0, c] - d[3, 0, c], d[1, 1, c] - d[3, 1, c]
                    a32, a33 = d[1, 2, c] - d[3, 2, c], d[1, 3, c] - d[3, 3, c]
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


@kernel(size_arg=0)
def transform_output(M, b, relu, TH, TW, y):
    """y[2x2 block of tile t] = A^T m A (+ bias, then ReLU when asked), cropped to (OH, OW).

    Shape: M (16, N*TH*TW, F), b (F,) -> y (N, OH, OW, F); an empty ``b`` means no bias.

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.winograd import transform_output
        >>> y = np.empty((1, 2, 2, 1))
        >>> transform_output(np.eye(16)[5].reshape(16, 1, 1), np.array([1.0]), False, 1, 1, y)
        >>> y[0, :, :, 0]
        array([[2., 2.],
               [2., 2.]])
    """
    N, OH, OW, F = y.shape
    bias = np.zeros(F, dtype=y.dtype)
    if b.shape[0] == F:
        # element by element: an array-to-slice assignment compiles numba's shape-mismatch
        # message formatting, 3-4 s of a fresh-cache first step
        for f in range(F):
            bias[f] = b[f]
    # max(v, floor): the ReLU, or nothing (typed as y, so the arithmetic stays float32); numba
    # returns the first argument when it is NaN, so NaN propagates as in TensorFlow
    floor = y.dtype.type(0) if relu else y.dtype.type(-np.inf)
    for n in prange(N):
        blk = np.empty((2, 2, F), dtype=y.dtype)  # one tile's 2x2 outputs
        for th in range(TH):
            oh = 2 * th
            rows = min(2, OH - oh)
            for tw in range(TW):
                ow = 2 * tw
                cols = min(2, OW - ow)
                t = (n * TH + th) * TW + tw
                # into blk first, branch-free over f: LLVM cannot rule out that y and M overlap,
                # so stores straight into y did not vectorise (0.42 against 0.08 ms for the
                # 61x61x64 output of one image); then the tile is copied out, cropped
                for f in range(F):
                    s00 = M[0, t, f] + M[1, t, f] + M[2, t, f]
                    s01 = M[1, t, f] - M[2, t, f] - M[3, t, f]
                    s10 = M[4, t, f] + M[5, t, f] + M[6, t, f]
                    s11 = M[5, t, f] - M[6, t, f] - M[7, t, f]
                    s20 = M[8, t, f] + M[9, t, f] + M[10, t, f]
                    s21 = M[9, t, f] - M[10, t, f] - M[11, t, f]
                    s30 = M[12, t, f] + M[13, t, f] + M[14, t, f]
                    s31 = M[13, t, f] - M[14, t, f] - M[15, t, f]
                    blk[0, 0, f] = max(s00 + s10 + s20 + bias[f], floor)
                    blk[0, 1, f] = max(s01 + s11 + s21 + bias[f], floor)
                    blk[1, 0, f] = max(s10 - s20 - s30 + bias[f], floor)
                    blk[1, 1, f] = max(s11 - s21 - s31 + bias[f], floor)
                for i in range(rows):
                    for j in range(cols):
                        for f in range(F):
                            y[n, oh + i, ow + j, f] = blk[i, j, f]


@kernel(size_arg=3)
def transform_output_grad(gy, TH, TW, Mg):
    """The adjoint of ``transform_output``: Mg[:, t, f] = A g A^T for tile t's 2x2 block g of gy.

    Positions of a last, partial tile beyond the output count as 0.
    A = [[1, 0], [1, 1], [1, -1], [0, -1]] (A^T as in the module docstring).

    Shape: gy (N, OH, OW, F) -> Mg (16, N*TH*TW, F)

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.winograd import transform_output_grad
        >>> Mg = np.empty((16, 1, 1))
        >>> transform_output_grad(np.arange(1.0, 5).reshape(1, 2, 2, 1), 1, 1, Mg)
        >>> Mg[:, 0, 0].reshape(4, 4)
        array([[ 1.,  3., -1., -2.],
               [ 4., 10., -2., -6.],
               [-2., -4.,  0.,  2.],
               [-3., -7.,  1.,  4.]])
    """
    N, OH, OW, F = gy.shape
    for n in prange(N):
        g = np.zeros((2, 2, F), dtype=gy.dtype)  # the tile's block, 0 beyond the output
        for th in range(TH):
            oh = 2 * th
            rows = min(2, OH - oh)
            for tw in range(TW):
                ow = 2 * tw
                cols = min(2, OW - ow)
                t = (n * TH + th) * TW + tw
                for i in range(2):
                    for j in range(2):
                        if i < rows and j < cols:
                            for f in range(F):
                                g[i, j, f] = gy[n, oh + i, ow + j, f]
                        else:
                            for f in range(F):
                                g[i, j, f] = 0
                for f in range(F):
                    g00, g01, g10, g11 = g[0, 0, f], g[0, 1, f], g[1, 0, f], g[1, 1, f]
                    # rows: A g -> (g0, g0 + g1, g0 - g1, -g1) over the two columns
                    r00, r01 = g00, g01
                    r10, r11 = g00 + g10, g01 + g11
                    r20, r21 = g00 - g10, g01 - g11
                    r30, r31 = -g10, -g11
                    # columns: (A g) A^T -> (r0, r0 + r1, r0 - r1, -r1) for each row
                    Mg[0, t, f] = r00
                    Mg[1, t, f] = r00 + r01
                    Mg[2, t, f] = r00 - r01
                    Mg[3, t, f] = -r01
                    Mg[4, t, f] = r10
                    Mg[5, t, f] = r10 + r11
                    Mg[6, t, f] = r10 - r11
                    Mg[7, t, f] = -r11
                    Mg[8, t, f] = r20
                    Mg[9, t, f] = r20 + r21
                    Mg[10, t, f] = r20 - r21
                    Mg[11, t, f] = -r21
                    Mg[12, t, f] = r30
                    Mg[13, t, f] = r30 + r31
                    Mg[14, t, f] = r30 - r31
                    Mg[15, t, f] = -r31


def _planes(T, C, dtype):
    """An empty (16, T, C) array whose 16 planes start 256 bytes apart modulo 4 KiB.

    The transforms write (or read) all 16 planes at once. With the planes a multiple of 4 KiB
    apart (T*C = 1024*64, for one) the 16 streams share the same cache sets and evict each
    other: the input transform measured 3.0 ms instead of 0.4 ms on such a shape.

    The padding is never 0, so the result is never C-contiguous: numba then compiles each
    transform for one array layout only (a C-contiguous case compiled a second version, 3 s of
    the first training step).
    """
    item = np.dtype(dtype).itemsize
    pad = ((256 - T * C * item) % 4096) // item or 4096 // item
    return np.empty((16, T * C + pad), dtype=dtype)[:, :T * C].reshape(16, T, C)


def kernel_grad(x, gy, PT, PL, serial=False):
    """The kernel gradient in the Winograd domain, one share: sum over tiles of V^T Mg.

    ``kernel_grad_to_hwio`` turns the sum of the shares into the (3, 3, C, F) gradient.

    Args:
        x: the convolution's input.  gy: the gradient at its output.
        PT, PL: the padding before (top, left).  serial: use the kernels' serial builds.

    Shape: x (N, H, W, C), gy (N, OH, OW, F) -> (16, C, F)
    """
    N, OH, OW, F = gy.shape
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    V = _planes(N * TH * TW, x.shape[3], x.dtype)
    Mg = _planes(N * TH * TW, F, gy.dtype)
    pick = (lambda k: k) if serial else auto
    pick(transform_input)(np.ascontiguousarray(x), PT, PL, TH, TW, V)
    pick(transform_output_grad)(np.ascontiguousarray(gy), TH, TW, Mg)
    return np.matmul(V.transpose(0, 2, 1), Mg)  # 16 GEMMs: (C, T) @ (T, F)


def kernel_grad_to_hwio(gU):
    """G^T gU G for every (c, f): the adjoint of ``transform_kernel``.

    Shape: gU (16, C, F) -> (3, 3, C, F), in gU's dtype.

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.winograd import kernel_grad_to_hwio
        >>> kernel_grad_to_hwio(np.eye(16)[5].reshape(16, 1, 1))[:, :, 0, 0]
        array([[0.25, 0.25, 0.25],
               [0.25, 0.25, 0.25],
               [0.25, 0.25, 0.25]])
    """
    C, F = gU.shape[1], gU.shape[2]
    return _sandwich(_G.T.astype(gU.dtype), gU.reshape(4, 4, C, F))


def conv3x3(x, U, b, PT, PL, OH, OW, relu=False, out=None, serial=False):
    """Stride-1 3x3 correlation via Winograd: y[i, j] = sum x[i - PT + kh, j - PL + kw] * g[kh, kw].

    Args:
        x: the input.  U: the transformed kernel.  b: a bias (F,) or None.
        PT, PL: padding before (top, left).  OH, OW: the output size.  relu: fuse a ReLU.
        out: write y here (N, OH, OW, F) instead of a new array.
        serial: use the kernels' serial builds (for callers on the chunk threads).

    Shape: x (N, H, W, C), U (16, C, F) from ``transform_kernel`` -> y (N, OH, OW, F)

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.winograd import conv3x3, transform_kernel
        >>> U = transform_kernel(np.ones((3, 3, 1, 1)))
        >>> conv3x3(np.ones((1, 4, 4, 1)), U, None, 0, 0, 2, 2)[0, :, :, 0]
        array([[9., 9.],
               [9., 9.]])
    """
    N, C = x.shape[0], x.shape[3]
    F = U.shape[2]
    TH, TW = (OH + 1) // 2, (OW + 1) // 2
    pick = (lambda k: k) if serial else auto
    V = _planes(N * TH * TW, C, x.dtype)
    pick(transform_input)(np.ascontiguousarray(x), PT, PL, TH, TW, V)
    M = np.matmul(V, U, out=_planes(N * TH * TW, F, x.dtype))  # 16 GEMMs: (T, C) @ (C, F)
    del V
    y = np.empty((N, OH, OW, F), dtype=x.dtype) if out is None else out
    bias = b if b is not None else np.empty(0, dtype=x.dtype)
    pick(transform_output)(M, bias, relu, TH, TW, y)
    return y
