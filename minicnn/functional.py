"""Lowercase functional API: the differentiable building blocks the layers are made of.

Example:
    >>> import minicnn.functional as F, numpy as np
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> F.max_pool2d(F.tensor(x), (2, 2)).data[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
"""

from minicnn.ops.conv import avg_pool2d, conv2d, max_pool2d
from minicnn.ops.nn import dropout, linear
from minicnn.tensor import Tensor as tensor
from minicnn.tensor import concatenate


def relu(x):
    """``max(x, 0)`` elementwise (differentiable).

    Example:
        >>> import minicnn.functional as F
        >>> F.relu(F.tensor([-1.0, 3.0]))
        Tensor([0., 3.])
    """
    return x.relu()


def sigmoid(x):
    """``1 / (1 + exp(-x))`` elementwise.

    Example:
        >>> import minicnn.functional as F
        >>> F.sigmoid(F.tensor([0.0]))
        Tensor([0.5])
    """
    return x.sigmoid()


def tanh(x):
    """Hyperbolic tangent elementwise.

    Example:
        >>> import minicnn.functional as F
        >>> F.tanh(F.tensor([0.0]))
        Tensor([0.])
    """
    return x.tanh()


def softmax(x, axis=-1):
    """Softmax along ``axis`` (default the last): each slice sums to 1.

    Shape: unchanged.

    Example:
        >>> import minicnn.functional as F
        >>> F.softmax(F.tensor([[1.0, 1.0, 1.0, 1.0]]))
        Tensor([[0.25, 0.25, 0.25, 0.25]])
    """
    return x.softmax(axis=axis)


def log_softmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed stably (no log of 0).

    Shape: unchanged.

    Example:
        >>> import minicnn.functional as F
        >>> F.log_softmax(F.tensor([[0.0, 0.0]])).numpy().round(4)
        array([[-0.6931, -0.6931]], dtype=float32)
    """
    return x.log_softmax(axis=axis)


__all__ = [
    "avg_pool2d",
    "concatenate",
    "conv2d",
    "dropout",
    "linear",
    "log_softmax",
    "max_pool2d",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "tensor",
]
