"""Zero padding of the spatial axes of NHWC arrays."""

from __future__ import annotations

import numpy as np

from minicnn.tensor import Function, Tensor


class ZeroPad2DFn(Function):
    """Zeros around H and W: ``((top, bottom), (left, right))``; the gradient is ``gy`` with the
    padding sliced off. Use ``zero_pad2d``.

    Shape: (N, H, W, C) -> (N, top + H + bottom, left + W + right, C)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.padding import ZeroPad2DFn
        >>> x = mc.Tensor(np.ones((1, 1, 1, 1)))
        >>> ZeroPad2DFn.apply(x, padding=((1, 0), (0, 1))).data[0, ..., 0]
        array([[0., 0.],
               [1., 0.]])
    """

    def forward(self, x, padding=((1, 1), (1, 1))):
        (top, bottom), (left, right) = padding
        self.index = (slice(None), slice(top, top + x.shape[1]), slice(left, left + x.shape[2]))
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))

    def backward(self, gy):
        return gy[self.index]


def zero_pad2d(x: Tensor, padding=((1, 1), (1, 1)), who: str = "zero_pad2d") -> Tensor:
    """Pad the spatial axes with zeros.

    Args:
        x: the input.  padding: ((top, bottom), (left, right)), non-negative ints.

    Shape: (N, H, W, C) -> (N, top + H + bottom, left + W + right, C)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.padding import zero_pad2d
        >>> zero_pad2d(mc.Tensor(np.ones((2, 3, 3, 1))), ((1, 2), (0, 1))).shape
        (2, 6, 4, 1)
    """
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D NHWC input. Received: shape {x.shape}")
    padding = tuple(tuple(int(p) for p in pair) for pair in padding)
    return ZeroPad2DFn.apply(x, padding=padding)
