"""Keras's general ReLU: threshold, cap and leak in one differentiable function."""

from __future__ import annotations

import numpy as np

from minicnn.tensor import Function, Tensor


class GeneralReLUFn(Function):
    """Keras 3's ``relu(x, negative_slope, max_value, threshold)``. Use ``general_relu``.

    ``y = min(x, max_value)`` where ``x > threshold``, else 0; then minus
    ``negative_slope * max(threshold - x, 0)``: the leak below the threshold. The arithmetic
    follows Keras's so NaN propagates as in TensorFlow (``maximum``, ``minimum`` keep NaN).
    The gradient is ``gy`` where ``threshold < x < max_value``, ``negative_slope * gy`` where
    ``x <= threshold`` (LeakyReLU's rule at 0), else 0.

    Shape: any -> same shape

    Example:
        >>> import minicnn as mc
        >>> from minicnn.ops.relu import GeneralReLUFn
        >>> GeneralReLUFn.apply(mc.Tensor([-2.0, 1.0, 9.0]), max_value=6.0, negative_slope=0.5)
        Tensor([-1.,  1.,  6.])
    """

    def forward(self, x, max_value=None, negative_slope=0.0, threshold=0.0):
        zero = x.dtype.type(0)
        t = x.dtype.type(threshold)
        y = np.maximum(x, zero) if threshold == 0 else np.where(x > t, x, zero)
        if max_value is not None:
            y = np.minimum(y, x.dtype.type(max_value))
        if negative_slope != 0:
            y = y - x.dtype.type(negative_slope) * np.maximum(t - x, zero)
        self.x, self.options = x, (max_value, negative_slope, threshold)
        return y

    def backward(self, gy):
        max_value, negative_slope, threshold = self.options
        x = self.x
        slope = x > threshold
        if max_value is not None:
            slope &= x < max_value
        slope = slope.astype(gy.dtype)
        if negative_slope != 0:
            slope += (x <= threshold) * gy.dtype.type(negative_slope)
        return gy * slope


def general_relu(x: Tensor, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0) -> Tensor:
    """Keras's ``relu`` with its three options (``max_value=6`` is ReLU6).

    Shape: any -> same shape

    Example:
        >>> import minicnn as mc
        >>> from minicnn.ops.relu import general_relu
        >>> general_relu(mc.Tensor([-1.0, 3.0, 8.0]), max_value=6.0)
        Tensor([0., 3., 6.])
    """
    return GeneralReLUFn.apply(x, max_value=None if max_value is None else float(max_value),
                               negative_slope=float(negative_slope), threshold=float(threshold))
