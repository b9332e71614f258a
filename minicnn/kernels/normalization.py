"""numba kernels for batch normalisation over the last axis (channels of NHWC data).

The NumPy twins are ``minicnn.ops.normalization.moments`` and ``BatchNormFn``'s own arithmetic
(the float64 route of the gradient checks); ``tests/test_modern_kernels.py`` checks that they
agree. Every kernel sees the data as rows (R, C): one row per pixel, one column per channel.
They compile serially (``minicnn.kernels.jit.kernel``); their ``prange`` loops are where the
fast path's parallel builds split the work. Reductions go over ``CHUNKS`` blocks of rows, each
writing its own row of a float64 partial-sum array that the caller adds up, so no two threads
write the same memory; elementwise passes go over rows.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from minicnn.kernels.jit import kernel

#: Row blocks of the parallel reductions (a few per core; the partial sums are (CHUNKS, C)).
CHUNKS = 8


@kernel(size_arg=0)
def channel_sums(x2, shift, partial, partial_sq):
    """Per row block, the column sums of ``x2`` and of ``(x2 - shift) ** 2`` (float64).

    Shape: x2 (R, C), shift (C,) -> partial (CHUNKS, C), partial_sq (CHUNKS, C), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.normalization import channel_sums
        >>> s, q = np.empty((8, 1)), np.empty((8, 1))
        >>> channel_sums(np.array([[1.0], [3.0]]), np.array([2.0]), s, q)
        >>> s.sum(0), q.sum(0)
        (array([4.]), array([2.]))
    """
    R, C = x2.shape
    P = partial.shape[0]
    for p in prange(P):
        partial[p] = 0.0
        partial_sq[p] = 0.0
        for r in range(p * R // P, (p + 1) * R // P):
            for c in range(C):
                v = x2[r, c]
                d = v - shift[c]
                partial[p, c] += v
                partial_sq[p, c] += d * d


@kernel(size_arg=0)
def scale_shift(x2, scale, shift, y2):
    """``y2 = x2 * scale + shift`` per column.

    Shape: x2 (R, C), scale (C,), shift (C,) -> y2 (R, C), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.normalization import scale_shift
        >>> y = np.empty((1, 2))
        >>> scale_shift(np.array([[1.0, 2.0]]), np.array([2.0, 3.0]), np.array([0.5, 0.0]), y)
        >>> y
        array([[2.5, 6. ]])
    """
    R, C = x2.shape
    for r in prange(R):
        for c in range(C):
            y2[r, c] = x2[r, c] * scale[c] + shift[c]


@kernel(size_arg=0)
def grad_sums(gy2, x2, mean, rstd, partial_gb, partial_gg):
    """Per row block, the column sums of ``gy2`` and of ``gy2 * xhat`` (float64), where
    ``xhat = (x2 - mean) * rstd``: the beta and gamma gradients.

    Shape: gy2 (R, C), x2 (R, C), mean (C,), rstd (C,) -> partial_gb, partial_gg (CHUNKS, C).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.normalization import grad_sums
        >>> gb, gg = np.empty((8, 1)), np.empty((8, 1))
        >>> grad_sums(np.ones((2, 1)), np.array([[1.0], [3.0]]), np.array([2.0]),
        ...           np.array([1.0]), gb, gg)
        >>> gb.sum(0), gg.sum(0)
        (array([2.]), array([0.]))
    """
    R, C = x2.shape
    P = partial_gb.shape[0]
    for p in prange(P):
        partial_gb[p] = 0.0
        partial_gg[p] = 0.0
        for r in range(p * R // P, (p + 1) * R // P):
            for c in range(C):
                g = gy2[r, c]
                partial_gb[p, c] += g
                partial_gg[p, c] += g * (x2[r, c] - mean[c]) * rstd[c]


@kernel(size_arg=0)
def input_grad(gy2, x2, mean, rstd, k, gb_mean, gg_mean, gx2):
    """``gx2 = k * (gy2 - gb_mean - xhat * gg_mean)`` per column, ``xhat = (x2 - mean) * rstd``:
    the batch-statistics input gradient with ``k = gamma * rstd`` and the two means of the
    gradient sums (zeros for inference, where it is ``k * gy2``).

    Shape: gy2, x2 (R, C); mean, rstd, k, gb_mean, gg_mean (C,) -> gx2 (R, C), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.normalization import input_grad
        >>> gx, c = np.empty((1, 1)), np.array([1.0])
        >>> input_grad(np.array([[3.0]]), np.array([[0.0]]), c, c, 2 * c, c, c, gx)
        >>> gx
        array([[6.]])
    """
    R, C = x2.shape
    for r in prange(R):
        for c in range(C):
            xhat = (x2[r, c] - mean[c]) * rstd[c]
            gx2[r, c] = k[c] * (gy2[r, c] - gb_mean[c] - xhat * gg_mean[c])


def partial_sums_buffer(C: int) -> np.ndarray:
    """A (CHUNKS, C) float64 buffer for the reductions above."""
    return np.empty((CHUNKS, C), dtype=np.float64)
