"""A few of ``keras.ops``'s array functions, so Keras scripts run with ``import minicnn as keras``.

keras.io's scripts call them on NumPy results, e.g. ``keras.ops.expand_dims(img_array, 0)``
before ``predict`` and ``float(keras.ops.sigmoid(predictions[0][0]))`` after it. Here they
return NumPy arrays for array (and scalar, list) inputs -- where Keras returns a backend tensor,
which a script only reads back with ``float()``, ``np.asarray`` or ``convert_to_numpy`` -- and
minicnn Tensors for Tensor inputs (differentiable where the op has a gradient: expand_dims,
squeeze, sigmoid, softmax).

Dtypes as Keras's: float arrays keep their dtype, Python floats and lists become float32,
``sigmoid``/``softmax`` of an integer array is an error, ``argmax`` gives int32.

Example:
    >>> import numpy as np, minicnn as keras
    >>> img_array = keras.ops.expand_dims(np.zeros((4, 4, 3), np.float32), 0)
    >>> img_array.shape
    (1, 4, 4, 3)
    >>> float(keras.ops.sigmoid(np.float32(0.0)))
    0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minicnn.tensor import Tensor, stable_sigmoid

__all__ = ["argmax", "convert_to_numpy", "convert_to_tensor", "expand_dims", "sigmoid",
           "softmax", "squeeze"]


def _array(x: Any) -> np.ndarray:
    """``x`` as an ndarray: Tensors give their data, Python numbers and lists float32 when
    they hold floats (Keras's default float type)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray | np.generic):
        return np.asarray(x)
    arr = np.asarray(x)
    return arr.astype(np.float32) if arr.dtype == np.float64 else arr


def _float(x: Any, who: str) -> np.ndarray:
    arr = _array(x)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"keras.ops.{who} expects floating-point input. "
                        f"Received: an array of dtype {arr.dtype}")
    return arr


def _axes(axis: Any, ndim: int, who: str, *, extra: int = 0) -> int:
    """A valid axis in ``[-ndim - extra, ndim + extra)``, or a Keras-style error."""
    limit = ndim + extra
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer) \
            or not -limit <= axis < limit:
        raise ValueError(f"keras.ops.{who}: `axis` must be an int in [{-limit}, {limit}). "
                         f"Received: axis={axis!r}")
    return int(axis)


def expand_dims(x: Any, axis: int) -> Any:
    """``x`` with a new axis of length 1 at ``axis`` (``0`` adds a batch axis).

    Shape: (d0, ..., dn) -> the same with a 1 inserted at ``axis``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.ops.expand_dims(np.ones((2, 3), np.float32), -1).shape
        (2, 3, 1)
    """
    arr = _array(x)
    axis = _axes(axis, arr.ndim, "expand_dims", extra=1)
    shape = np.expand_dims(arr, axis).shape
    return x.reshape(shape) if isinstance(x, Tensor) else np.expand_dims(arr, axis)


def squeeze(x: Any, axis: int | None = None) -> Any:
    """``x`` without its length-1 axes (or only ``axis``, which must have length 1).

    Shape: (1, d, 1) -> (d,); with ``axis=0``, (1, d, 1) -> (d, 1).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.ops.squeeze(np.ones((1, 3, 1), np.float32)).shape
        (3,)
    """
    arr = _array(x)
    if axis is not None:
        axis = _axes(axis, arr.ndim, "squeeze")
        if arr.shape[axis] != 1:
            raise ValueError(f"keras.ops.squeeze: cannot squeeze axis={axis}, because the "
                             f"dimension is not 1. Received: an input of shape {arr.shape}")
    shape = np.squeeze(arr, axis).shape
    return x.reshape(shape) if isinstance(x, Tensor) else np.squeeze(arr, axis)


def sigmoid(x: Any) -> Any:
    """``1 / (1 + exp(-x))`` elementwise, overflow-free (turns a logit into a probability).

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.ops.sigmoid(np.array([-100.0, 0.0, 100.0], np.float32))
        array([0. , 0.5, 1. ], dtype=float32)
    """
    if isinstance(x, Tensor):
        return x.sigmoid()
    return stable_sigmoid(_float(x, "sigmoid"))


def softmax(x: Any, axis: int = -1) -> Any:
    """``exp(x) / sum(exp(x))`` along ``axis`` (max-shifted, so large logits do not overflow).

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.ops.softmax(np.array([[0.0, 0.0]], np.float32))
        array([[0.5, 0.5]], dtype=float32)
    """
    arr = _float(x, "softmax")
    axis = _axes(axis, arr.ndim, "softmax")
    if isinstance(x, Tensor):
        return x.softmax(axis)
    e = np.exp(arr - arr.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """Index of the largest value (first on ties), over the flattened input when ``axis`` is
    None; int32 as Keras's. No gradient (a Tensor gives an array too).

    Shape: the input's shape without ``axis`` (kept as 1 with ``keepdims``).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.ops.argmax(np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]), axis=-1)
        array([1, 0], dtype=int32)
    """
    arr = _array(x)
    if axis is not None:
        axis = _axes(axis, arr.ndim, "argmax")
    return np.asarray(np.argmax(arr, axis=axis, keepdims=keepdims), dtype=np.int32)


def convert_to_numpy(x: Any) -> np.ndarray:
    """``x`` (a Tensor, array, number or list) as a NumPy array.

    Example:
        >>> import minicnn as mc
        >>> mc.ops.convert_to_numpy(mc.Tensor([1.0, 2.0]))
        array([1., 2.], dtype=float32)
    """
    return np.asarray(_array(x))


def convert_to_tensor(x: Any, dtype: Any = None) -> Tensor:
    """``x`` as a minicnn Tensor (float32, or float64 for float64 data or ``dtype``; minicnn
    Tensors are floating-point only).

    Example:
        >>> import minicnn as mc
        >>> mc.ops.convert_to_tensor([1, 2]).numpy()
        array([1., 2.], dtype=float32)
    """
    if isinstance(x, Tensor) and dtype is None:
        return x
    if dtype is not None and not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError("keras.ops.convert_to_tensor: minicnn Tensors are float32 or "
                         f"float64. Received: dtype={dtype!r}")
    return Tensor(_array(x), dtype=dtype)
