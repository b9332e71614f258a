"""numba kernels for depthwise convolution over NHWC arrays (forward and both gradients).

The NumPy twin is the tap loop in ``minicnn.ops.depthwise.DepthwiseConv2DFn`` (the float64
route, used by the gradient checks); ``tests/test_modern_kernels.py`` checks that the two agree.
These kernels read the unpadded input and skip the taps that fall into the padding, so no padded
copy is made. Like every kernel they compile serially (``minicnn.kernels.jit.kernel``); their
``prange`` loops are where the fast path's parallel builds split the work: forward over output
rows (every row of every image is written by one thread; parallel even for a single image),
backward over images (every image writes only its own rows of the input gradient and its own
slice of the per-image kernel-gradient partials), so no two threads write the same memory.

Notation: x (N, H, W, C), w (KH, KW, C, M), y (N, OH, OW, C*M) with channel c*M + m; strides SH
SW, dilation DH DW, padding before PT PL; input row ``oh*SH + kh*DH - PT``.
"""

from __future__ import annotations

from numba import prange

from minicnn.kernels.jit import kernel


@kernel(size_arg=8)
def depthwise_forward(x, w, SH, SW, DH, DW, PT, PL, y):
    """``y[n, oh, ow, c*M + m] = sum over taps of x[n, ih, iw, c] * w[kh, kw, c, m]``.

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
    for row in prange(N * OH):  # output rows, not images: one image (latency) runs parallel too
        n, oh = row // OH, row % OH
        for ow in range(OW):
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
                    if M == 1:  # the common case: every access unit-stride, vectorised
                        for c in range(C):
                            out[c] += xrow[c] * wk[c]
                    else:
                        wk4 = w[kh, kw]
                        for m in range(M):
                            for c in range(C):
                                out[c * M + m] += xrow[c] * wk4[c, m]


@kernel(size_arg=0)
def depthwise_backward(x, w, gy, SH, SW, DH, DW, PT, PL, want_gx, gx, gw_parts):
    """Input gradient (when ``want_gx``) and per-image kernel-gradient partials.

    ``gx[n, ih, iw, c] = sum of gy[n, oh, ow, c*M + m] * w[kh, kw, c, m]`` over the taps that
    read it; ``gw_parts[n, kh, kw, c, m] = sum over oh, ow of x[n, ih, iw, c] * gy[...]``
    (in the input's dtype; the caller sums them over n, in float64).

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
            for ow in range(OW):
                g = gy[n, oh, ow]
                for kh in range(KH):
                    ih = oh * SH + kh * DH - PT
                    if ih < 0 or ih >= H:
                        continue
                    for kw in range(KW):
                        iw = ow * SW + kw * DW - PL
                        if iw < 0 or iw >= W:
                            continue
                        xrow, wk, gwk = x[n, ih, iw], w2[kh, kw], gw2[n, kh, kw]
                        if M == 1:  # the common case: every access unit-stride, vectorised
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
