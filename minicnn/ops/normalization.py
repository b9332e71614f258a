"""Batch normalisation as one differentiable function, with TensorFlow's arithmetic.

Notation:
    x has the normalised axis ``axis`` (channels, C); every other axis is reduced over, R values
    per channel. mean and var are per channel; ``var`` is the *biased* batch variance
    (divided by R, as ``tf.nn.moments``), used both to normalise and by Keras's moving-variance
    update. ``inv = gamma / sqrt(var + epsilon)``; ``y = x * inv + (beta - mean * inv)``, the
    order ``tf.nn.batch_normalization`` computes it in.
"""

from __future__ import annotations

import numpy as np

from minicnn.kernels import normalization as K
from minicnn.ops import route
from minicnn.tensor import Function, Tensor

#: float32 inputs normalised over their last axis run the numba kernels of
#: ``minicnn.kernels.normalization`` (the NumPy code here is their twin, and the float64 route
#: of the gradient checks). Tests turn it off to compare the two.
USE_KERNELS = True


def _fast(x: np.ndarray, axis: int) -> bool:
    return (USE_KERNELS and x.dtype == np.float32 and axis % x.ndim == x.ndim - 1
            and x.flags.c_contiguous)


def reduction_axes(ndim: int, axis: int) -> tuple[int, ...]:
    """Every axis but ``axis`` (negative allowed).

    Example:
        >>> from minicnn.ops.normalization import reduction_axes
        >>> reduction_axes(4, -1)
        (0, 1, 2)
    """
    axis %= ndim
    return tuple(i for i in range(ndim) if i != axis)


def moments(x: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance of ``x`` over every axis but ``axis``.

    Shape: x (..., C, ...) -> (C,), (C,)

    Example:
        >>> import numpy as np
        >>> from minicnn.ops.normalization import moments
        >>> moments(np.array([[1.0], [3.0]]))
        (array([2.]), array([1.]))
    """
    if _fast(x, axis):  # one pass in float64, shifted by the first row against cancellation
        x2 = x.reshape(-1, x.shape[-1])
        shift = x2[0].astype(np.float64)
        sums, squares = K.partial_sums_buffer(x2.shape[1]), K.partial_sums_buffer(x2.shape[1])
        route.kernel(K.channel_sums)(x2, shift, sums, squares)
        mean = sums.sum(axis=0) / len(x2)
        var = squares.sum(axis=0) / len(x2) - np.square(mean - shift)
        return mean.astype(x.dtype), np.maximum(var, 0.0).astype(x.dtype)
    axes = reduction_axes(x.ndim, axis)
    mean = x.mean(axis=axes, keepdims=True)
    var = np.square(x - mean).mean(axis=axes)  # biased: divided by R, as tf.nn.moments
    return mean.reshape(-1), var


class BatchNormFn(Function):
    """``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` per channel. Use ``batch_norm``.

    ``batch_stats=True`` means mean and var are the batch's own statistics of x (training
    mode), so the gradient flows through them too, the full batch-norm backward:
    ``gx = gamma * rstd / R * (R * gy - sum(gy) - xhat * sum(gy * xhat))``.
    With ``batch_stats=False`` (moving statistics, inference) they are constants:
    ``gx = gy * gamma * rstd``. Either way ``ggamma = sum(gy * xhat)``, ``gbeta = sum(gy)``,
    where ``xhat = (x - mean) * rstd`` and sums run over the R values of each channel.

    Shape: x (..., C, ...), gamma (C,), beta (C,) -> like x

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.normalization import BatchNormFn
        >>> x = mc.Tensor([[1.0], [3.0]])
        >>> BatchNormFn.apply(x, mc.Tensor([1.0]), mc.Tensor([0.0]), mean=np.array([2.0]),
        ...                   var=np.array([1.0]), epsilon=0.0, axis=-1, batch_stats=True)
        Tensor([[-1.],
                [ 1.]])
    """

    def forward(self, x, gamma, beta, mean, var, epsilon, axis=-1, batch_stats=True):
        axes = reduction_axes(x.ndim, axis)
        shape = [1] * x.ndim
        shape[axis] = -1  # parameters broadcast along the channel axis
        dtype = np.result_type(x, gamma, beta)
        mean = np.asarray(mean, dtype).reshape(shape)
        var = np.asarray(var, dtype).reshape(shape)
        rstd = 1.0 / np.sqrt(var + dtype.type(epsilon))
        inv = rstd * gamma.reshape(shape)
        shift = beta.reshape(shape) - mean * inv
        self.x, self.mean, self.rstd, self.gamma = x, mean, rstd, gamma.reshape(shape)
        self.axes, self.batch_stats = axes, batch_stats
        self.fast = _fast(x, axis) and dtype == np.float32
        if self.fast:  # numba: one pass, no temporaries
            y = np.empty_like(x)
            route.kernel(K.scale_shift)(x.reshape(-1, x.shape[-1]), inv.ravel(), shift.ravel(),
                                        y.reshape(-1, x.shape[-1]))
            return y
        y = x * inv + shift
        return y.astype(dtype, copy=False)

    def backward(self, gy):
        if self.fast:
            return self._backward_kernels(np.ascontiguousarray(gy))
        xhat = (self.x - self.mean) * self.rstd
        gbeta = gy.sum(axis=self.axes, keepdims=True)
        ggamma = (gy * xhat).sum(axis=self.axes, keepdims=True)
        gx = None
        if self.needs_input_grad[0]:
            if self.batch_stats:  # mean and var move with x: their paths are the last two terms
                R = self.x.size // self.gamma.size
                gx = (self.gamma * self.rstd / R) * (R * gy - gbeta - xhat * ggamma)
            else:
                gx = gy * (self.gamma * self.rstd)
        return gx, ggamma.reshape(-1), gbeta.reshape(-1)

    def _backward_kernels(self, gy):
        """The same gradients from the numba kernels (float64 sums, one pass each)."""
        C = self.x.shape[-1]
        x2, gy2 = self.x.reshape(-1, C), gy.reshape(-1, C)
        mean, rstd = self.mean.ravel(), self.rstd.ravel()
        sums_gb, sums_gg = K.partial_sums_buffer(C), K.partial_sums_buffer(C)
        route.kernel(K.grad_sums)(gy2, x2, mean, rstd, sums_gb, sums_gg)
        gbeta, ggamma = sums_gb.sum(axis=0), sums_gg.sum(axis=0)
        gx = None
        if self.needs_input_grad[0]:
            k = (self.gamma.ravel() * rstd).astype(np.float32)
            if self.batch_stats:
                gb_mean, gg_mean = gbeta / len(x2), ggamma / len(x2)
            else:
                gb_mean = gg_mean = np.zeros(C)
            gx = np.empty_like(gy)
            route.kernel(K.input_grad)(gy2, x2, mean, rstd, k, gb_mean.astype(np.float32),
                                       gg_mean.astype(np.float32), gx.reshape(-1, C))
        return gx, ggamma.astype(np.float32), gbeta.astype(np.float32)


def batch_norm(x: Tensor, gamma: Tensor, beta: Tensor, mean: np.ndarray, var: np.ndarray,
               epsilon: float = 1e-3, axis: int = -1, batch_stats: bool = True) -> Tensor:
    """Batch normalisation of ``x`` along ``axis`` with the given statistics.

    Args:
        x: the input.  gamma, beta: per-channel scale and offset (Tensors).
        mean, var: per-channel statistics (arrays): the batch's own, from ``moments(x.data)``,
            with ``batch_stats=True`` (training), or moving ones with ``batch_stats=False``.
        epsilon: added to the variance.  axis: the channel axis.

    Shape: x (..., C, ...), gamma (C,), beta (C,), mean (C,), var (C,) -> like x

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.normalization import batch_norm, moments
        >>> x = mc.Tensor(np.array([[0.0, 10.0], [2.0, 30.0]]))
        >>> y = batch_norm(x, mc.Tensor(np.ones(2)), mc.Tensor(np.zeros(2)), *moments(x.data),
        ...                epsilon=0.0)
        >>> y.data
        array([[-1., -1.],
               [ 1.,  1.]])
    """
    return BatchNormFn.apply(x, gamma, beta, mean=mean, var=var, epsilon=float(epsilon),
                             axis=axis, batch_stats=batch_stats)
