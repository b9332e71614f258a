"""Turn ``fit``/``evaluate``/``predict`` inputs into batches: arrays or iterables of batches."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from minicnn.random import get_rng
from minicnn.tensor import Tensor


def as_input_array(x: Any) -> np.ndarray:
    """An array of inputs in float32 (float64 Tensors kept, for gradient checks).

    Example:
        >>> from minicnn.models.data import as_input_array
        >>> as_input_array([[1, 2]]).dtype
        dtype('float32')
    """
    if isinstance(x, Tensor):
        return x.data
    arr = np.asarray(x)
    return arr if arr.dtype == np.float32 else arr.astype(np.float32)


def as_label_array(y: Any) -> np.ndarray:
    """Labels: floats become float32, booleans float32, integer class indices stay integers.

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import as_label_array
        >>> as_label_array(np.array([0, 2])).dtype.kind, as_label_array([True]).dtype
        ('i', dtype('float32'))
    """
    arr = y.data if isinstance(y, Tensor) else np.asarray(y)
    if arr.dtype.kind == "f" and arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    elif arr.dtype.kind == "b":
        arr = arr.astype(np.float32)
    return arr


def as_weight_array(w: Any) -> np.ndarray:
    """Sample weights as float32 (one per sample, or ``(N, 1)``).

    Example:
        >>> from minicnn.models.data import as_weight_array
        >>> as_weight_array([1, 2]).dtype
        dtype('float32')
    """
    arr = w.data if isinstance(w, Tensor) else np.asarray(w)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"`sample_weight` must be numbers. Received: dtype={arr.dtype}")
    return arr.astype(np.float32, copy=False)


def class_weights_for(y: np.ndarray, class_weight: dict[int, float]) -> np.ndarray:
    """Keras's class_weight -> sample_weight: the class is the arg-max of one-hot rows, else the
    rounded label; classes missing from the dict weigh 1.0.

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import class_weights_for
        >>> class_weights_for(np.array([[1.0], [0.0]]), {0: 1.0, 1: 3.0})
        array([3., 1.], dtype=float32)
    """
    y = np.asarray(y)
    if y.ndim > 1:
        y = y.argmax(axis=-1) if y.shape[-1] != 1 else y[..., 0]
    classes = np.round(y).astype(np.int64)
    return np.array([class_weight.get(int(c), 1.0) for c in classes], dtype=np.float32)


def is_array_like(x: Any) -> bool:
    """Whether ``x`` is a NumPy array or a Tensor (as opposed to an iterable of batches).

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import is_array_like
        >>> is_array_like(np.zeros(2)), is_array_like([np.zeros(2)])
        (True, False)
    """
    return isinstance(x, (np.ndarray, Tensor))


def _check_batch_size(batch_size: Any, who: str) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size <= 0:
        raise ValueError(f"{who}: `batch_size` must be a positive int. "
                         f"Received: batch_size={batch_size!r}")
    return int(batch_size)


class ArrayData:
    """Batches from in-memory arrays, shuffled each epoch with minicnn's seeded generator.

    Args:
        x, y: arrays (or Tensors) with the same first axis; ``y`` may be None (predict).
        batch_size: samples per batch; the last batch may be smaller.
        shuffle: a new permutation every epoch.
        who: the calling method's name, for error messages.

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import ArrayData
        >>> data = ArrayData(np.zeros((5, 2)), np.arange(5), 2, shuffle=False, who="fit")
        >>> len(data), [yb.tolist() for _, yb in data.epoch()]
        (3, [[0, 1], [2, 3], [4]])
    """

    def __init__(self, x: Any, y: Any, batch_size: int, shuffle: bool, who: str,
                 sample_weight: Any = None):
        self.x = x.data if isinstance(x, Tensor) else np.asarray(x)
        self.y = None if y is None else (y.data if isinstance(y, Tensor) else np.asarray(y))
        self.w = None if sample_weight is None else as_weight_array(sample_weight)
        if self.w is not None and len(self.w) != len(self.x):
            raise ValueError(
                f"{who}: `sample_weight` must have one weight per sample. Received: "
                f"{len(self.w)} weights for {len(self.x)} samples."
            )
        if self.x.ndim == 0:
            raise ValueError(f"{who}: `x` must have a batch axis. Received: x.shape=()")
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(
                f"{who}: `x` and `y` must have the same number of samples. "
                f"Received: x has {len(self.x)} samples, y has {len(self.y)} samples."
            )
        self.batch_size = _check_batch_size(batch_size, who)
        self.shuffle = shuffle
        self.n = len(self.x)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def epoch(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for xb, yb, _ in self.batches():
            yield xb, yb

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """One epoch of ``(x, y, sample_weight)`` batches (weights None when not given)."""
        order = get_rng().permutation(self.n) if self.shuffle else None
        for start in range(0, self.n, self.batch_size):
            if order is None:
                sel: Any = slice(start, start + self.batch_size)
            else:
                sel = order[start:start + self.batch_size]
            xb = as_input_array(self.x[sel])
            yb = None if self.y is None else as_label_array(self.y[sel])
            yield xb, yb, None if self.w is None else self.w[sel]


class IterableData:
    """Batches from any iterable of ``x`` or ``(x, y)`` batches, re-iterated each epoch.

    An iterator (a generator) cannot restart: with ``steps_per_epoch`` it is consumed
    across epochs, as Keras does.

    Args:
        source: a list of batches, an ``ImageDataset``, a generator...
        who: the calling method's name, for error messages.
        steps: batches per epoch (None: until the source is exhausted).

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import IterableData
        >>> data = IterableData([(np.zeros((2, 3)), np.ones(2))] * 3, "fit")
        >>> len(data), [xb.shape for xb, _ in data.epoch()]
        (3, [(2, 3), (2, 3), (2, 3)])
    """

    def __init__(self, source: Any, who: str, steps: int | None = None):
        if not hasattr(source, "__iter__"):
            raise TypeError(
                f"{who}: `x` must be a NumPy array or an iterable of (x, y) batches. "
                f"Received: x of type {type(source).__name__}"
            )
        self.source = source
        self.who = who
        self.steps = steps
        self._iterator: Iterator[Any] | None = None
        self.one_shot = iter(source) is source

    def __len__(self) -> int:
        if self.steps is not None:
            return self.steps
        return len(self.source)  # raises TypeError when unknown

    def known_length(self) -> int | None:
        try:
            return len(self)
        except TypeError:
            return None

    def epoch(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        for xb, yb, _ in self.batches():
            yield xb, yb

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray | None]]:
        """One epoch of ``(x, y, sample_weight)``: a batch's third element, as Keras."""
        if self.one_shot:
            if self._iterator is None:
                self._iterator = iter(self.source)
            it = self._iterator
        else:
            it = iter(self.source)
        for i, batch in enumerate(it):
            yield self._split(batch)
            if self.steps is not None and i + 1 >= self.steps:
                break

    def _split(self, batch: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        if isinstance(batch, (tuple, list)):
            if len(batch) == 1:
                return as_input_array(batch[0]), None, None
            if len(batch) == 2:
                return as_input_array(batch[0]), as_label_array(batch[1]), None
            if len(batch) == 3:
                return (as_input_array(batch[0]), as_label_array(batch[1]),
                        None if batch[2] is None else as_weight_array(batch[2]))
            raise ValueError(
                f"{self.who}: each batch must be `x` or a tuple `(x, y)` or "
                f"`(x, y, sample_weight)`. Received: a tuple of {len(batch)} elements."
            )
        return as_input_array(batch), None, None


def make_data(x: Any, y: Any, batch_size: int, shuffle: bool, who: str,
              steps: int | None = None, sample_weight: Any = None) -> ArrayData | IterableData:
    """Arrays (``x`` array-like with ``y``, or an array) or an iterable of batches.

    Returns an ``ArrayData`` or an ``IterableData``; raises Keras-style ValueErrors for
    missing or inconsistent ``x``/``y``.

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import make_data
        >>> type(make_data(np.zeros((4, 2)), np.zeros(4), 2, True, "fit")).__name__
        'ArrayData'
    """
    if is_array_like(x) or (y is not None and not hasattr(x, "__next__")):
        if x is None:
            raise ValueError(f"{who}: `x` is required. Received: x=None")
        return ArrayData(x, y, batch_size, shuffle, who, sample_weight)
    if sample_weight is not None:
        raise ValueError(
            f"{who}: `sample_weight` must not be given when `x` is an iterable of batches "
            "(give each batch as `(x, y, sample_weight)`)."
        )
    if y is not None:
        raise ValueError(
            f"{who}: `y` must not be given when `x` is an iterable of batches (the batches "
            "carry their labels)."
        )
    if x is None:
        raise ValueError(f"{who}: `x` is required. Received: x=None")
    return IterableData(x, who, steps)


def split_validation(x: Any, y: Any, validation_split: float) -> tuple[Any, Any, Any, Any]:
    """Keras's rule: the LAST ``validation_split`` fraction (before any shuffling) validates.

    Returns:
        ``(x_train, y_train, x_val, y_val)``.

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import split_validation
        >>> _, y_train, _, y_val = split_validation(np.zeros((5, 1)), np.arange(5), 0.4)
        >>> y_train, y_val
        (array([0, 1, 2]), array([3, 4]))
    """
    x = x.data if isinstance(x, Tensor) else np.asarray(x)
    y = y.data if isinstance(y, Tensor) else np.asarray(y)
    n = len(x)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a "
            f"validation and training set as specified by `validation_split="
            f"{validation_split}`. Either provide more data, or a different value for the "
            "`validation_split` argument."
        )
    return x[:split_at], y[:split_at], x[split_at:], y[split_at:]
