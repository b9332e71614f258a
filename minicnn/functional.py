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
    return x.relu()


def sigmoid(x):
    return x.sigmoid()


def tanh(x):
    return x.tanh()


def softmax(x, axis=-1):
    return x.softmax(axis=axis)


def log_softmax(x, axis=-1):
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
