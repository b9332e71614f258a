"""Global average and max pooling over the spatial axes of NHWC arrays."""

from __future__ import annotations

import numpy as np

from minicnn.tensor import Function, Tensor


class GlobalAvgPool2DFn(Function):
    """Mean over H and W; the gradient spreads ``gy / (H * W)`` evenly. Use ``global_avg_pool2d``.

    Shape: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims``

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.global_pooling import GlobalAvgPool2DFn
        >>> GlobalAvgPool2DFn.apply(mc.Tensor(np.arange(4.0).reshape(1, 2, 2, 1))).data
        array([[1.5]])
    """

    def forward(self, x, keepdims=False):
        self.x_shape = x.shape
        return x.mean(axis=(1, 2), keepdims=keepdims)

    def backward(self, gy):
        N, H, W, C = self.x_shape
        gy = gy.reshape(N, 1, 1, C) / gy.dtype.type(H * W)
        return np.broadcast_to(gy, self.x_shape).copy()


class GlobalMaxPool2DFn(Function):
    """Maximum over H and W. Use ``global_max_pool2d``.

    Tied maxima share the gradient equally, as TensorFlow's ``reduce_max`` (which Keras's
    GlobalMaxPooling2D is) does; this differs from MaxPooling2D, whose TF op sends it to the
    first maximum. A NaN in a channel makes its maximum NaN, as in TensorFlow.

    Shape: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims``

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.global_pooling import GlobalMaxPool2DFn
        >>> x = mc.Tensor(np.array([1.0, 5.0, 5.0, 2.0]).reshape(1, 2, 2, 1), requires_grad=True)
        >>> GlobalMaxPool2DFn.apply(x).sum().backward()
        >>> x.grad.ravel()
        array([0. , 0.5, 0.5, 0. ])
    """

    def forward(self, x, keepdims=False):
        y = x.max(axis=(1, 2), keepdims=True)  # (N, 1, 1, C)
        self.x, self.y = x, y
        return y if keepdims else y.reshape(x.shape[0], x.shape[3])

    def backward(self, gy):
        N, _, _, C = self.x.shape
        winners = (self.x == self.y).astype(gy.dtype)
        winners /= winners.sum(axis=(1, 2), keepdims=True)
        return winners * gy.reshape(N, 1, 1, C)


def _check(x: Tensor, who: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D NHWC input. Received: shape {x.shape}")


def global_avg_pool2d(x: Tensor, keepdims: bool = False, who: str = "global_avg_pool2d"):
    """Mean over the spatial axes.

    Shape: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims``

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.global_pooling import global_avg_pool2d
        >>> global_avg_pool2d(mc.Tensor(np.ones((2, 3, 3, 4))), keepdims=True).shape
        (2, 1, 1, 4)
    """
    _check(x, who)
    return GlobalAvgPool2DFn.apply(x, keepdims=bool(keepdims))


def global_max_pool2d(x: Tensor, keepdims: bool = False, who: str = "global_max_pool2d"):
    """Maximum over the spatial axes; tied maxima share the gradient, as TensorFlow's.

    Shape: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims``

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.global_pooling import global_max_pool2d
        >>> global_max_pool2d(mc.Tensor(np.ones((2, 3, 3, 4)))).shape
        (2, 4)
    """
    _check(x, who)
    return GlobalMaxPool2DFn.apply(x, keepdims=bool(keepdims))
