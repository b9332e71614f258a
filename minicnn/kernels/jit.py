"""numba kernels for NHWC im2col/col2im, max/average pooling and the fused ReLU passes.

Each takes contiguous arrays and writes into a preallocated output, and is compiled once,
serially, releasing the GIL (``nogil``). The loops are written with ``prange`` where they
write disjoint memory (col2im and the pooling backward kernels scatter into overlapping
windows, so their ``prange`` runs over images only, where writes cannot collide): in a serial
build ``prange`` is a plain ``range``, and the fast path (``minicnn.fast.parallel``) compiles
parallel builds of the same functions for large single-image calls.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def kernel(size_arg: int):
    """Compile ``fn`` serially with numba; ``size_arg`` names the argument that measures it.

    Args:
        size_arg: the position of the argument whose ``.size`` says how big a call is (the
            fast path's parallel builds read it, as ``kern.size_arg``).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import relu_  # defined with @kernel(size_arg=0)
        >>> y = np.array([[-1.0, 2.0]])
        >>> relu_(y)
        >>> y, relu_.size_arg
        (array([[0., 2.]]), 0)
    """

    def wrap(fn):
        # nogil: the fast path runs these builds on several Python threads at once
        compiled = njit(cache=True, nogil=True)(fn)
        compiled.size_arg = size_arg
        return compiled

    return wrap


@kernel(size_arg=9)
def im2col(x, KH, KW, SH, SW, PT, PL, OH, OW, cols):
    """Copy every receptive field of ``x`` into one row of ``cols`` (zeros where padded).

    Shape: x (N, H, W, C) -> cols (N*OH*OW, KH*KW*C), column order (kh, kw, c) to match a
    (KH, KW, C, F) kernel reshaped to (KH*KW*C, F).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import im2col
        >>> cols = np.empty((4, 4))
        >>> im2col(np.arange(9.0).reshape(1, 3, 3, 1), 2, 2, 1, 1, 0, 0, 2, 2, cols)
        >>> cols
        array([[0., 1., 3., 4.],
               [1., 2., 4., 5.],
               [3., 4., 6., 7.],
               [4., 5., 7., 8.]])
    """
    N, H, W, C = x.shape
    for t in prange(N * OH):
        n = t // OH
        oh = t - n * OH
        for ow in range(OW):
            row = t * OW + ow
            for kh in range(KH):
                ih = oh * SH - PT + kh
                for kw in range(KW):
                    iw = ow * SW - PL + kw
                    base = (kh * KW + kw) * C
                    if 0 <= ih < H and 0 <= iw < W:
                        for c in range(C):
                            cols[row, base + c] = x[n, ih, iw, c]
                    else:
                        for c in range(C):
                            cols[row, base + c] = 0


@kernel(size_arg=9)
def im2col_planar(x, KH, KW, SH, SW, PT, PL, OH, OW, cols_t):
    """``im2col`` written transposed, by way of a channel-planar copy of ``x``: for few channels.

    With C = 3 (an RGB first layer) ``im2col`` copies runs of 3 floats, and the loop overhead
    is most of its time. Here each image is first copied channel by channel, so that every
    row of ``cols_t`` (one kernel tap (kh, kw, c)) is filled by contiguous runs along the
    output width when SW == 1. Measured single-threaded for a 128x128x3 image and a 3x3
    kernel: 0.17 ms against 0.80 ms for ``im2col``; at C = 8 the two are even.
    ``cols_t.T`` is the (N*OH*OW, KH*KW*C) matrix ``im2col`` writes, which matmul takes as it
    is (a transposed operand for BLAS).

    Shape: x (N, H, W, C) -> cols_t (KH*KW*C, N*OH*OW), row order (kh, kw, c)

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import im2col_planar
        >>> cols_t = np.empty((4, 4))
        >>> im2col_planar(np.arange(9.0).reshape(1, 3, 3, 1), 2, 2, 1, 1, 0, 0, 2, 2, cols_t)
        >>> cols_t.T
        array([[0., 1., 3., 4.],
               [1., 2., 4., 5.],
               [3., 4., 6., 7.],
               [4., 5., 7., 8.]])
    """
    N, H, W, C = x.shape
    # loops over plain ranges (no indices derived by division), so that LLVM can prove the
    # indices non-negative and drop numba's negative-index wrap: 3x faster than a flat prange
    for n in prange(N):
        plane = np.empty((C, H, W), dtype=x.dtype)
        for h in range(H):
            for w in range(W):
                for c in range(C):
                    plane[c, h, w] = x[n, h, w, c]
        for kh in range(KH):
            for kw in range(KW):
                for c in range(C):
                    r = (kh * KW + kw) * C + c
                    for oh in range(OH):
                        ih = oh * SH - PT + kh
                        p0 = (n * OH + oh) * OW
                        if ih < 0 or ih >= H:
                            for ow in range(OW):
                                cols_t[r, p0 + ow] = 0
                            continue
                        for ow in range(OW):
                            iw = ow * SW - PL + kw
                            # the test also proves iw >= 0, so this loop vectorises
                            cols_t[r, p0 + ow] = plane[c, ih, iw] if 0 <= iw < W else 0


@kernel(size_arg=0)
def col2im(cols, KH, KW, SH, SW, PT, PL, OH, OW, gx):
    """Scatter-add rows of ``cols`` back to the pixels they came from (im2col's adjoint).

    Shape: cols (N*OH*OW, KH*KW*C) -> gx (N, H, W, C), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import col2im
        >>> gx = np.empty((1, 3, 3, 1))
        >>> col2im(np.ones((4, 4)), 2, 2, 1, 1, 0, 0, 2, 2, gx)
        >>> gx[0, :, :, 0]
        array([[1., 2., 1.],
               [2., 4., 2.],
               [1., 2., 1.]])
    """
    N, H, W, C = gx.shape
    for n in prange(N):
        gx[n] = 0
        for oh in range(OH):
            for ow in range(OW):
                row = (n * OH + oh) * OW + ow
                for kh in range(KH):
                    ih = oh * SH - PT + kh
                    if ih < 0 or ih >= H:
                        continue
                    for kw in range(KW):
                        iw = ow * SW - PL + kw
                        if iw < 0 or iw >= W:
                            continue
                        base = (kh * KW + kw) * C
                        for c in range(C):
                            gx[n, ih, iw, c] += cols[row, base + c]


@njit(nogil=True, cache=True)
def _max_pool_row_2x2(x2, h0, W, y1, argmax, n, oh):
    """One output row of a 2x2 max pool with stride 2 and no padding (the windows tile the
    input): ``y1[ow, c]`` is the first maximum of ``x2[0:2, 2*ow:2*ow + 2, c]`` in row-major
    order, as ``max_pool_forward``'s window loop finds it (a later value replaces only when
    strictly greater, so NaN first stays NaN and NaN later never wins), ``argmax[n, oh, ow, c]``
    its flat index ``ih*W + iw`` (argmax None: not written; the whole array is passed, not its
    row, so that each build of the caller compiles one version of this function). Four loads
    and three selects per value, no running maxima in memory: 1.8-2.2x the window loop's speed
    for the values alone, 1.35-1.45x with the indices (126x126x32 and 61x61x64 maps).

    Shape: x2 (2, W, C) input rows h0 and h0 + 1 -> y1 (OW, C), argmax (N, OH, OW, C) int32
    or None.
    """
    OW, C = y1.shape
    for ow in range(OW):
        a, b = x2[0, 2 * ow], x2[0, 2 * ow + 1]
        c_, d = x2[1, 2 * ow], x2[1, 2 * ow + 1]
        first = np.int32(h0 * W + 2 * ow)
        out = y1[ow]
        for c in range(C):
            m, k = a[c], first
            v = b[c]
            if v > m:
                m, k = v, first + np.int32(1)
            v = c_[c]
            if v > m:
                m, k = v, first + np.int32(W)
            v = d[c]
            if v > m:
                m, k = v, first + np.int32(W + 1)
            out[c] = m
            if argmax is not None:  # decided when compiled
                argmax[n, oh, ow, c] = k


@kernel(size_arg=0)
def max_pool_forward(x, KH, KW, SH, SW, PT, PL, y, argmax, add=None):
    """Window maxima and where they are (flat ih*W+iw; the first maximum wins ties).

    ``argmax`` None: the maxima only, for inference, where no backward pass will ask where
    they were (numba compiles that case without the index bookkeeping; the same comparisons,
    so the same values to the bit: a 3x3/2 pool of four 64x64x64 maps 0.79 -> 0.56 ms,
    serial). ``add``: write ``maximum + add``, an Add layer after the pool in the same pass
    (``minicnn.fast.pool_add``).

    Shape: x (N, H, W, C), add (N, OH, OW, C) or None -> y (N, OH, OW, C), argmax
    (N, OH, OW, C) int32 or None. Padded positions never win (TF pads max pooling with -inf).
    Channels are the innermost loop, so each read is a contiguous run of C values.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import max_pool_forward
        >>> y, at = np.empty((1, 1, 1, 1)), np.empty((1, 1, 1, 1), np.int32)
        >>> max_pool_forward(np.array([1.0, 5, 5, 2]).reshape(1, 2, 2, 1), 2, 2, 2, 2, 0, 0, y, at)
        >>> y.ravel(), at.ravel()
        (array([5.]), array([1], dtype=int32))
    """
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    # 2x2 windows at stride 2 that all lie inside x (no padding before, none after)
    tiled_2x2 = (KH == 2 and KW == 2 and SH == 2 and SW == 2 and PT == 0 and PL == 0
                 and 2 * OH <= H and 2 * OW <= W)
    for t in prange(N * OH):
        n = t // OH
        oh = t - n * OH
        if tiled_2x2 and add is None:  # the cat-dog network's pools (most CNNs'): one pass
            _max_pool_row_2x2(x[n, 2 * oh:2 * oh + 2], 2 * oh, W, y[n, oh], argmax, n, oh)
            continue
        h0 = max(oh * SH - PT, 0)
        h1 = min(oh * SH - PT + KH, H)
        # the running maxima live in local rows, which LLVM knows overlap nothing (y and argmax
        # might overlap x): 0.13 against 0.17 ms for one 126x126x32 image, 2x2 windows
        best = np.empty(C, dtype=y.dtype)
        best_at = np.empty(C, dtype=np.int32)  # unused when argmax is None
        for ow in range(OW):
            w0 = max(ow * SW - PL, 0)
            w1 = min(ow * SW - PL + KW, W)
            first = h0 * W + w0
            for c in range(C):
                best[c] = x[n, h0, w0, c]
                best_at[c] = first
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    at = ih * W + iw
                    for c in range(C):
                        v = x[n, ih, iw, c]
                        take = v > best[c]  # strictly greater: the first maximum wins ties
                        if argmax is not None:  # decided when compiled, not per element
                            best_at[c] = at if take else best_at[c]
                        best[c] = v if take else best[c]
            if add is None:
                for c in range(C):
                    y[n, oh, ow, c] = best[c]
            else:
                for c in range(C):
                    y[n, oh, ow, c] = best[c] + add[n, oh, ow, c]
            if argmax is not None:
                for c in range(C):
                    argmax[n, oh, ow, c] = best_at[c]


@kernel(size_arg=2)
def max_pool_backward(gy, argmax, gx):
    """Send each window's gradient to its maximum. Shape: gy (N, OH, OW, C) -> gx (N, H, W, C).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import max_pool_backward
        >>> gx = np.empty((1, 2, 2, 1))
        >>> max_pool_backward(np.full((1, 1, 1, 1), 7.0), np.full((1, 1, 1, 1), 1, np.int32), gx)
        >>> gx.ravel()
        array([0., 7., 0., 0.])
    """
    N, OH, OW, C = gy.shape
    W = gx.shape[2]
    for n in prange(N):
        gx[n] = 0
        for oh in range(OH):
            for ow in range(OW):
                for c in range(C):
                    at = argmax[n, oh, ow, c]
                    gx[n, at // W, at % W, c] += gy[n, oh, ow, c]


@kernel(size_arg=4)
def max_pool_backward_tiled(gy, argmax, KH, KW, gx):
    """``max_pool_backward`` for windows that tile the input (strides = pool size, no padding).

    Each input position lies in at most one window, so it is written exactly once: the
    window's gradient where it is the recorded maximum, 0 elsewhere (and 0 past the last
    window). No zeroing pass, no scatter, no division: one sequential write of gx.

    Shape: gy (N, OH, OW, C), argmax (N, OH, OW, C) -> gx (N, H, W, C), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import max_pool_backward_tiled
        >>> gx = np.empty((1, 3, 2, 1))
        >>> max_pool_backward_tiled(np.full((1, 1, 1, 1), 7.0),
        ...                         np.full((1, 1, 1, 1), 3, np.int32), 2, 2, gx)
        >>> gx[0, :, :, 0]
        array([[0., 0.],
               [0., 7.],
               [0., 0.]])
    """
    N, OH, OW, C = gy.shape
    H, W = gx.shape[1], gx.shape[2]
    for n in prange(N):
        for ih in range(H):
            oh = ih // KH
            for iw in range(W):
                ow = iw // KW
                if oh < OH and ow < OW:
                    at = ih * W + iw
                    for c in range(C):
                        gx[n, ih, iw, c] = gy[n, oh, ow, c] if argmax[n, oh, ow, c] == at else 0
                else:
                    for c in range(C):
                        gx[n, ih, iw, c] = 0


@kernel(size_arg=8)
def max_pool_backward_gather(gy, argmax, KH, KW, SH, SW, PT, PL, gx):
    """``max_pool_backward`` as a gather: each input position sums the gradients of the
    windows that cover it and chose it, and is written once.

    For overlapping windows (3x3, strides 2): the scatter divides every recorded position
    back into (ih, iw) and adds into gx at random; here the few windows over a position are
    found from its row and column, the test is a vectorised compare over the channels, and
    gx is written in order with no zeroing pass. The windows are visited in the scatter's
    order (oh, then ow), so the sums are the same to the bit.

    Shape: gy (N, OH, OW, C), argmax (N, OH, OW, C) -> gx (N, H, W, C), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import max_pool_backward_gather
        >>> gx = np.empty((1, 1, 3, 1))  # two 1x2 windows, strides 1, sharing the middle
        >>> max_pool_backward_gather(np.array([2.0, 3.0]).reshape(1, 1, 2, 1),
        ...                          np.full((1, 1, 2, 1), 1, np.int32), 1, 2, 1, 1, 0, 0, gx)
        >>> gx.ravel()
        array([0., 5., 0.])
    """
    N, OH, OW, C = gy.shape
    H, W = gx.shape[1], gx.shape[2]
    zero = np.zeros(1, dtype=gx.dtype)[0]
    for t in prange(N * H):
        n = t // H
        ih = t - n * H
        # the windows over row ih: oh*SH - PT <= ih < oh*SH - PT + KH
        oh0 = max(0, (ih + PT - KH) // SH + 1)
        oh1 = min(OH, (ih + PT) // SH + 1)
        for iw in range(W):
            ow0 = max(0, (iw + PL - KW) // SW + 1)
            ow1 = min(OW, (iw + PL) // SW + 1)
            at = ih * W + iw
            out = gx[n, ih, iw]
            for c in range(C):
                out[c] = zero
            for oh in range(oh0, oh1):
                for ow in range(ow0, ow1):
                    g, chosen = gy[n, oh, ow], argmax[n, oh, ow]
                    for c in range(C):
                        out[c] += g[c] if chosen[c] == at else zero


@kernel(size_arg=0)
def avg_pool_forward(x, KH, KW, SH, SW, PT, PL, y):
    """Window means over the in-bounds positions only (TF excludes padding from the count).

    Shape: x (N, H, W, C) -> y (N, OH, OW, C)

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import avg_pool_forward
        >>> y = np.empty((1, 1, 1, 1))
        >>> avg_pool_forward(np.arange(4.0).reshape(1, 2, 2, 1), 2, 2, 2, 2, 0, 0, y)
        >>> y.ravel()
        array([1.5])
    """
    N, H, W, C = x.shape
    OH, OW = y.shape[1], y.shape[2]
    for t in prange(N * OH):
        n = t // OH
        oh = t - n * OH
        h0 = max(oh * SH - PT, 0)
        h1 = min(oh * SH - PT + KH, H)
        for ow in range(OW):
            w0 = max(ow * SW - PL, 0)
            w1 = min(ow * SW - PL + KW, W)
            inv = 1.0 / ((h1 - h0) * (w1 - w0))
            for c in range(C):
                y[n, oh, ow, c] = 0
            for ih in range(h0, h1):
                for iw in range(w0, w1):
                    for c in range(C):
                        y[n, oh, ow, c] += x[n, ih, iw, c]
            for c in range(C):
                y[n, oh, ow, c] *= inv


@kernel(size_arg=7)
def avg_pool_backward(gy, KH, KW, SH, SW, PT, PL, gx):
    """Spread each window's gradient evenly over its in-bounds positions.

    Shape: gy (N, OH, OW, C) -> gx (N, H, W, C), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import avg_pool_backward
        >>> gx = np.empty((1, 2, 2, 1))
        >>> avg_pool_backward(np.full((1, 1, 1, 1), 4.0), 2, 2, 2, 2, 0, 0, gx)
        >>> gx.ravel()
        array([1., 1., 1., 1.])
    """
    N, OH, OW, C = gy.shape
    H, W = gx.shape[1], gx.shape[2]
    for n in prange(N):
        gx[n] = 0
        for oh in range(OH):
            h0 = max(oh * SH - PT, 0)
            h1 = min(oh * SH - PT + KH, H)
            for ow in range(OW):
                w0 = max(ow * SW - PL, 0)
                w1 = min(ow * SW - PL + KW, W)
                inv = 1.0 / ((h1 - h0) * (w1 - w0))
                for ih in range(h0, h1):
                    for iw in range(w0, w1):
                        for c in range(C):
                            gx[n, ih, iw, c] += gy[n, oh, ow, c] * inv


@kernel(size_arg=0)
def bias_relu_(y, b):
    """In place: y = max(y + b, 0), one pass; NaN propagates. Shape: y (M, F), b (F,).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import bias_relu_
        >>> y = np.array([[1.0, -3.0]])
        >>> bias_relu_(y, np.array([1.0, 1.0]))
        >>> y
        array([[2., 0.]])
    """
    M, F = y.shape
    for i in prange(M):
        for f in range(F):
            v = y[i, f] + b[f]
            y[i, f] = 0 if v <= 0 else v  # NaN stays NaN, as in TensorFlow


@kernel(size_arg=0)
def bias_(y, b):
    """In place: y = y + b, one pass. Shape: y (M, F), b (F,).

    numpy's ``y += b`` broadcasts the short row ``b`` with a loop per row of ``y``: for a
    convolution's (rows, 64) output that per-row overhead cost as much as the addition.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import bias_
        >>> y = np.array([[1.0, -3.0]])
        >>> bias_(y, np.array([1.0, 1.0]))
        >>> y
        array([[ 2., -2.]])
    """
    M, F = y.shape
    for i in prange(M):
        for f in range(F):
            y[i, f] += b[f]


@kernel(size_arg=0)
def relu_(y):
    """In place: y = max(y, 0). Shape: y (M, F).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import relu_
        >>> y = np.array([[-1.0, 2.0]])
        >>> relu_(y)
        >>> y
        array([[0., 2.]])
    """
    M, F = y.shape
    for i in prange(M):
        for f in range(F):
            if y[i, f] < 0:  # False for NaN, which stays NaN as in TensorFlow
                y[i, f] = 0


@kernel(size_arg=0)
def relu_backward(gy, y, gx):
    """gx = gy where the ReLU output y is positive, else 0. Shape: gy, y, gx (M, F).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import relu_backward
        >>> gx = np.empty((1, 2))
        >>> relu_backward(np.array([[5.0, 6.0]]), np.array([[0.0, 1.0]]), gx)
        >>> gx
        array([[0., 6.]])
    """
    M, F = gy.shape
    for i in prange(M):
        for f in range(F):
            gx[i, f] = gy[i, f] if y[i, f] > 0 else 0


@kernel(size_arg=0)
def relu_backward_colsum(gy, y, gx, partial):
    """gx = gy where y > 0, else 0, and the column sums of gx (the bias gradient) in one pass.

    Row chunk k sums into ``partial[k]`` (float64, so long columns lose no precision); the
    caller adds the P rows. Shape: gy, y, gx (M, F), partial (P, F) float64.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import relu_backward_colsum
        >>> gx, partial = np.empty((2, 2)), np.empty((2, 2))
        >>> relu_backward_colsum(np.ones((2, 2)), np.array([[1.0, 0], [1, 1]]), gx, partial)
        >>> gx, partial.sum(axis=0)
        (array([[1., 0.],
               [1., 1.]]), array([2., 1.]))
    """
    M, F = gy.shape
    P = partial.shape[0]
    chunk = (M + P - 1) // P
    for k in prange(P):
        for f in range(F):
            partial[k, f] = 0.0
        for i in range(k * chunk, min((k + 1) * chunk, M)):
            for f in range(F):
                v = gy[i, f] if y[i, f] > 0 else 0
                gx[i, f] = v
                partial[k, f] += v


@kernel(size_arg=0)
def colsum(g, partial):
    """Column sums of g by row chunks into float64 ``partial``. Shape: g (M, F), partial (P, F).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import colsum
        >>> partial = np.empty((2, 2))
        >>> colsum(np.arange(6.0).reshape(3, 2), partial)
        >>> partial
        array([[2., 4.],
               [4., 5.]])
    """
    M, F = g.shape
    P = partial.shape[0]
    chunk = (M + P - 1) // P
    for k in prange(P):
        for f in range(F):
            partial[k, f] = 0.0
        for i in range(k * chunk, min((k + 1) * chunk, M)):
            for f in range(F):
                partial[k, f] += g[i, f]
