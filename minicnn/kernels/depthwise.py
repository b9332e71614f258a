"""numba kernels for depthwise convolution over NHWC arrays (forward and both gradients).

The NumPy twin is the tap loop in ``minicnn.ops.depthwise.DepthwiseConv2DFn`` (the float64
route, used by the gradient checks); ``tests/test_modern_kernels.py`` checks that the two agree.
These kernels read the unpadded input and skip the taps that fall into the padding, so no padded
copy is made. The modern blocks' common case, a 3x3 window at stride 1 with one filter per
channel, has its own inner loop for the pixels whose nine taps all lie inside the input
(``_interior_3x3``): four pixels at a time, each channel's nine products summed in registers
and written once, in the tap loop's order, so the numbers are the same to the bit. Like every
kernel they compile serially (``minicnn.kernels.jit.kernel``); their ``prange`` loops are where
the fast path's parallel builds split the work: forward over output rows (every row of every
image is written by one thread; parallel even for a single image), backward over images (every
image writes only its own rows of the input gradient and its own slice of the per-image
kernel-gradient partials), so no two threads write the same memory.

Notation: x (N, H, W, C), w (KH, KW, C, M), y (N, OH, OW, C*M) with channel c*M + m; strides SH
SW, dilation DH DW, padding before PT PL; input row ``oh*SH + kh*DH - PT``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from minicnn.kernels.jit import kernel


@njit(inline="always")
def _at_least(v, floor):
    # v raised to ``floor`` where below it: a floor of 0 (in v's dtype: a literal 0 would make
    # the sums float64) reads through a ReLU, -inf reads v as it is (nothing is below -inf).
    # NaN < floor is False, so NaN stays NaN, as in TensorFlow. A select on a value: the
    # nine-tap loop uses it instead of a branch on ``relu_input``, which stopped that channel
    # loop vectorising (3x slower)
    return floor if v < floor else v


@njit(nogil=True, cache=True)
def _interior_3x3(x3, w2, iw0, out, floor, zero):
    """A run of output pixels whose nine taps all lie inside the input (3x3, stride 1, one
    filter per channel): ``out[p, c]`` = the sum over kh, kw of
    ``x3[kh, iw0 + p + kw, c] * w2[kh, kw, c]``, the nine products added in the tap loop's
    order, so the numbers are the generic loop's to the bit. Four pixels at a time: their
    taps share loads (six input columns for four pixels' twelve) and their four sums are
    independent chains, which keeps the channel loop's vector units busy. The residual
    cat-dog network's seven depthwise layers, 2-image chunks: 1.3-1.5x the one-pixel loop's
    speed; inside a batch-32 prediction 17.3 -> 14.2 ms.

    ``floor``: 0 to read the input through a ReLU, -inf to read it as it is (see ``_at_least``).

    Shape: x3 (3, W, C) the three input rows, w2 (3, 3, C) -> out (P, C), overwritten.
    """
    P, C = out.shape
    p = 0
    while p + 4 <= P:
        iw = iw0 + p
        o0, o1, o2, o3 = out[p], out[p + 1], out[p + 2], out[p + 3]
        for c in range(C):
            s0 = s1 = s2 = s3 = zero
            for kh in range(3):
                r = x3[kh]
                v0, v1, v2 = (_at_least(r[iw, c], floor), _at_least(r[iw + 1, c], floor),
                              _at_least(r[iw + 2, c], floor))
                v3, v4, v5 = (_at_least(r[iw + 3, c], floor),
                              _at_least(r[iw + 4, c], floor),
                              _at_least(r[iw + 5, c], floor))
                wa, wb, wc = w2[kh, 0, c], w2[kh, 1, c], w2[kh, 2, c]
                if kh == 0:  # the first product starts each sum, as in the tap loop
                    s0, s1, s2, s3 = v0 * wa, v1 * wa, v2 * wa, v3 * wa
                else:
                    s0 += v0 * wa
                    s1 += v1 * wa
                    s2 += v2 * wa
                    s3 += v3 * wa
                s0 += v1 * wb
                s1 += v2 * wb
                s2 += v3 * wb
                s3 += v4 * wb
                s0 += v2 * wc
                s1 += v3 * wc
                s2 += v4 * wc
                s3 += v5 * wc
            o0[c], o1[c], o2[c], o3[c] = s0, s1, s2, s3
        p += 4
    for q in range(p, P):  # the last one to three pixels, one at a time
        iw, o = iw0 + q, out[q]
        for c in range(C):
            s = _at_least(x3[0, iw, c], floor) * w2[0, 0, c]
            s += _at_least(x3[0, iw + 1, c], floor) * w2[0, 1, c]
            s += _at_least(x3[0, iw + 2, c], floor) * w2[0, 2, c]
            s += _at_least(x3[1, iw, c], floor) * w2[1, 0, c]
            s += _at_least(x3[1, iw + 1, c], floor) * w2[1, 1, c]
            s += _at_least(x3[1, iw + 2, c], floor) * w2[1, 2, c]
            s += _at_least(x3[2, iw, c], floor) * w2[2, 0, c]
            s += _at_least(x3[2, iw + 1, c], floor) * w2[2, 1, c]
            s += _at_least(x3[2, iw + 2, c], floor) * w2[2, 2, c]
            o[c] = s


@kernel(size_arg=8)
def depthwise_forward(x, w, SH, SW, DH, DW, PT, PL, y, relu_input=False):
    """``y[n, oh, ow, c*M + m] = sum over taps of x[n, ih, iw, c] * w[kh, kw, c, m]``.

    ``relu_input``: read ``max(x, 0)`` instead of x (NaN stays NaN), as if a ReLU layer ran
    first; inference runs a ReLU -> SeparableConv2D pair this way without writing the ReLU's
    output (``minicnn.fast.separable``).

    Shape: x (N, H, W, C), w (KH, KW, C, M) -> y (N, OH, OW, C*M), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.depthwise import depthwise_forward
        >>> y = np.empty((1, 1, 1, 2))
        >>> depthwise_forward(np.ones((1, 2, 2, 1)), np.ones((2, 2, 1, 2)), 1, 1, 1, 1, 0, 0, y)
        >>> y.ravel()
        array([4., 4.])
    """
    N, H, W, C = x.shape
    KH, KW, _, M = w.shape
    OH, OW = y.shape[1], y.shape[2]
    w2 = w.reshape(KH, KW, C * M)  # channel c*M + m of tap (kh, kw): y's own channel order
    zero = np.zeros(1, dtype=x.dtype)[0]
    floor = zero if relu_input else np.full(1, -np.inf, dtype=x.dtype)[0]  # see _at_least
    nine = KH == 3 and KW == 3 and SH == 1 and SW == 1 and DH == 1 and DW == 1 and M == 1
    # the columns whose three taps are all inside the input: 0 <= ow - PL and ow - PL + 2 < W
    ow_in0 = min(max(PL, 0), OW)
    ow_in1 = max(ow_in0, min(OW, W - 2 + PL))
    for row in prange(N * OH):  # output rows, not images: one image (latency) runs parallel too
        n, oh = row // OH, row % OH
        inside = nine and 0 <= oh - PT and oh - PT + 2 < H  # the row's nine taps in the input
        if inside:  # its inside pixels, four at a time; the tap loop below does the edges
            _interior_3x3(x[n, oh - PT:oh - PT + 3], w2, ow_in0 - PL, y[n, oh, ow_in0:ow_in1],
                          floor, zero)
        for ow in range(OW):
            if inside and ow_in0 <= ow < ow_in1:
                continue
            out = y[n, oh, ow]
            out[:] = 0
            for kh in range(KH):
                ih = oh * SH + kh * DH - PT
                if ih < 0 or ih >= H:
                    continue
                for kw in range(KW):
                    iw = ow * SW + kw * DW - PL
                    if iw < 0 or iw >= W:
                        continue
                    xrow, wk = x[n, ih, iw], w2[kh, kw]
                    if M == 1:  # every access unit-stride, vectorised
                        for c in range(C):
                            v = _at_least(xrow[c], zero) if relu_input else xrow[c]
                            out[c] += v * wk[c]
                    else:
                        wk4 = w[kh, kw]
                        for m in range(M):
                            for c in range(C):
                                v = _at_least(xrow[c], zero) if relu_input else xrow[c]
                                out[c * M + m] += v * wk4[c, m]


@kernel(size_arg=0)
def depthwise_backward(x, w, gy, SH, SW, DH, DW, PT, PL, want_gx, gx, gw_parts):
    """Input gradient (when ``want_gx``) and per-image kernel-gradient partials.

    ``gx[n, ih, iw, c] = sum of gy[n, oh, ow, c*M + m] * w[kh, kw, c, m]`` over the taps that
    read it; ``gw_parts[n, kh, kw, c, m] = sum over oh, ow of x[n, ih, iw, c] * gy[...]``
    (in the input's dtype; the caller sums them over n, in float64). At stride 1 with one
    filter per channel the caller gets gx from ``depthwise_forward`` instead (see
    ``minicnn.ops.depthwise``) and passes ``want_gx=False``.

    Shape: x (N, H, W, C), w (KH, KW, C, M), gy (N, OH, OW, C*M) -> gx (N, H, W, C),
    gw_parts (N, KH, KW, C, M), both overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.depthwise import depthwise_backward
        >>> gx, parts = np.empty((1, 2, 2, 1)), np.empty((1, 2, 2, 1, 1))
        >>> depthwise_backward(np.arange(4.0).reshape(1, 2, 2, 1), np.ones((2, 2, 1, 1)),
        ...                    np.ones((1, 1, 1, 1)), 1, 1, 1, 1, 0, 0, True, gx, parts)
        >>> gx.ravel(), parts.ravel()
        (array([1., 1., 1., 1.]), array([0., 1., 2., 3.]))
    """
    N, H, W, C = x.shape
    KH, KW, _, M = w.shape
    OH, OW = gy.shape[1], gy.shape[2]
    w2 = w.reshape(KH, KW, C * M)  # flat channel j = c*M + m, as gy's
    gw2 = gw_parts.reshape(N, KH, KW, C * M)
    for n in prange(N):
        if want_gx:
            gx[n] = 0
        gw_parts[n] = 0
        for oh in range(OH):
            g_row = gy[n, oh]
            for ow in range(OW):
                g = g_row[ow]
                for kh in range(KH):
                    ih = oh * SH + kh * DH - PT
                    if ih < 0 or ih >= H:
                        continue
                    for kw in range(KW):
                        iw = ow * SW + kw * DW - PL
                        if iw < 0 or iw >= W:
                            continue
                        xrow, wk, gwk = x[n, ih, iw], w2[kh, kw], gw2[n, kh, kw]
                        if M == 1:  # every access unit-stride, vectorised
                            for c in range(C):
                                gwk[c] += xrow[c] * g[c]
                            if want_gx:
                                gxrow = gx[n, ih, iw]
                                for c in range(C):
                                    gxrow[c] += g[c] * wk[c]
                        else:
                            wk4, gwk4 = w[kh, kw], gw_parts[n, kh, kw]
                            for m in range(M):
                                for c in range(C):
                                    gwk4[c, m] += xrow[c] * g[c * M + m]
                            if want_gx:
                                gxrow = gx[n, ih, iw]
                                for m in range(M):
                                    for c in range(C):
                                        gxrow[c] += g[c * M + m] * wk4[c, m]
