"""Elementwise maximum and minimum of two tensors (the ``Maximum``/``Minimum`` merge layers).

Ties send the whole gradient to the first input, as TensorFlow's ``maximum``/``minimum`` do
(their masks are ``a >= b`` and ``a <= b``), so gradients match Keras even on equal inputs.
"""

from __future__ import annotations

import numpy as np

from minicnn.tensor import Function, Tensor, unbroadcast


class Maximum(Function):
    """Elementwise ``max(a, b)`` (broadcasting); the gradient goes where each input won, ties
    to ``a``.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.ops.merge import maximum
        >>> a, b = mc.Tensor([1.0, 5.0, 2.0], requires_grad=True), mc.Tensor([3.0, 4.0, 2.0])
        >>> y = maximum(a, b)
        >>> y.sum().backward()
        >>> y.data, a.grad
        (array([3., 5., 2.], dtype=float32), array([0., 1., 1.], dtype=float32))
    """

    def forward(self, a, b):
        self.first = a >= b
        self.shapes = (a.shape, b.shape)
        return np.maximum(a, b)

    def backward(self, gy):
        zero = np.zeros((), gy.dtype)
        ga = unbroadcast(np.where(self.first, gy, zero), self.shapes[0])
        gb = unbroadcast(np.where(self.first, zero, gy), self.shapes[1])
        return ga, gb


class Minimum(Function):
    """Elementwise ``min(a, b)`` (broadcasting); the gradient goes where each input won, ties
    to ``a``."""

    def forward(self, a, b):
        self.first = a <= b
        self.shapes = (a.shape, b.shape)
        return np.minimum(a, b)

    backward = Maximum.backward


def maximum(a: Tensor, b: Tensor) -> Tensor:
    """Differentiable elementwise maximum (see ``Maximum``)."""
    return Maximum.apply(a, b)


def minimum(a: Tensor, b: Tensor) -> Tensor:
    """Differentiable elementwise minimum (see ``Minimum``).

    Example:
        >>> import minicnn as mc
        >>> from minicnn.ops.merge import minimum
        >>> minimum(mc.Tensor([1.0, 5.0]), mc.Tensor([3.0, 4.0])).data
        array([1., 4.], dtype=float32)
    """
    return Minimum.apply(a, b)
