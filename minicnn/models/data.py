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


def as_label_array(y: Any, who: str = "fit") -> np.ndarray:
    """Labels: floats become float32, booleans float32, integer class indices stay integers.

    Raises:
        ValueError: labels that are not numbers (strings, objects), naming ``who``.

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import as_label_array
        >>> as_label_array(np.array([0, 2])).dtype.kind, as_label_array([True]).dtype
        ('i', dtype('float32'))
        >>> as_label_array(["cat", "dog"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: fit: `y` must hold numbers: ... Received: y of dtype <U3, e.g. 'cat'. ...
    """
    arr = y.data if isinstance(y, Tensor) else np.asarray(y)
    if arr.dtype.kind not in "biuf":
        first = arr.flat[0] if arr.size else None
        first = first.item() if isinstance(first, np.generic) else first
        example = f", e.g. {first!r}" if arr.size else ""
        raise ValueError(
            f"{who}: `y` must hold numbers: class indices, or 0/1 for binary_crossentropy. "
            f"Received: y of dtype {arr.dtype}{example}. Map the class names to integers "
            "first, e.g. with np.unique(y, return_inverse=True)."
        )
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


class ArrayList(tuple):
    """Several arrays sharing the sample axis: the ``x`` of a model with several inputs, or the
    ``y`` of one with several outputs, in the model's input (output) order. ``shape`` is the
    first array's, so code that asks an ``x`` for its shape sees the batch axis.

    Example:
        >>> import numpy as np
        >>> from minicnn.models.data import ArrayList, batch_len
        >>> xs = ArrayList([np.zeros((4, 2)), np.zeros((4, 3))])
        >>> xs.shape, batch_len(xs), len(xs)
        ((4, 2), 4, 2)
    """

    @property
    def shape(self) -> tuple[int, ...]:
        return self[0].shape


def batch_len(x: Any) -> int:
    """Samples in a batch: ``len(x)``, or of the first array of an ``ArrayList``."""
    return len(x[0]) if isinstance(x, ArrayList) else len(x)


def output_arrays(out: Any) -> Any:
    """A model's output as arrays: ``out.data``, or a list of them for several outputs."""
    if isinstance(out, Tensor):
        return out.data
    values = out.values() if isinstance(out, dict) else out
    return [t.data for t in values]


def _take(a: Any, sel: Any, convert: Any) -> Any:
    if isinstance(a, ArrayList):
        return ArrayList(convert(v[sel]) for v in a)
    return convert(a[sel])


def _as_arrays(a: Any) -> Any:
    if isinstance(a, ArrayList):
        return ArrayList(v.data if isinstance(v, Tensor) else np.asarray(v) for v in a)
    return a.data if isinstance(a, Tensor) else np.asarray(a)


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
        self.x = _as_arrays(x)
        self.y = None if y is None else _as_arrays(y)
        self.w = None if sample_weight is None else as_weight_array(sample_weight)
        if self.w is not None and len(self.w) != batch_len(self.x):
            raise ValueError(
                f"{who}: `sample_weight` must have one weight per sample. Received: "
                f"{len(self.w)} weights for {batch_len(self.x)} samples."
            )
        if any(a.ndim == 0 for a in (self.x if isinstance(self.x, ArrayList) else [self.x])):
            raise ValueError(f"{who}: `x` must have a batch axis. Received: x.shape=()")
        if batch_len(self.x) == 0:
            raise ValueError(f"{who}: `x` holds no samples. Received: x.shape={self.x.shape}")
        if self.y is not None:  # strings fail here, before any training
            _take(self.y, slice(0, 1), lambda a: as_label_array(a, who))
        counts = {batch_len(a) if a.ndim else 0 for part in (self.x, self.y) if part is not None
                  for a in (part if isinstance(part, ArrayList) else [part])}
        if len(counts) > 1:
            raise ValueError(
                f"{who}: `x` and `y` must have the same number of samples. "
                f"Received: x has {batch_len(self.x)} samples, y has "
                f"{batch_len(self.y) if self.y is not None else 0} samples."
            )
        self.batch_size = _check_batch_size(batch_size, who)
        self.shuffle = shuffle
        self.who = who
        self.n = batch_len(self.x)

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
            xb = _take(self.x, sel, as_input_array)
            yb = None if self.y is None else _take(self.y, sel,
                                                   lambda a: as_label_array(a, self.who))
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
                return as_input_array(batch[0]), as_label_array(batch[1], self.who), None
            if len(batch) == 3:
                return (as_input_array(batch[0]), as_label_array(batch[1], self.who),
                        None if batch[2] is None else as_weight_array(batch[2]))
            if isinstance(self.source, (list, tuple)):
                raise ValueError(
                    f"{self.who}: `x` is a Python {type(self.source).__name__} and `y` was not "
                    "given, so each of its items must be a batch `x` or a tuple `(x, y)`. "
                    f"Received: an item that is a {type(batch).__name__} of {len(batch)} "
                    f"elements. To pass samples, pass arrays: {self.who}(np.asarray(x), y)."
                )
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


def check_input_shape(model: Any, data: ArrayData | IterableData, who: str) -> None:
    """Array input whose sample shape differs from the built model's: a ValueError naming both
    (before any batch runs, where the first mismatching layer would name only itself).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models.data import ArrayData, check_input_shape
        >>> model = mc.Sequential([mc.Input((8, 8, 1)), mc.Flatten(), mc.Dense(1)])
        >>> check_input_shape(model, ArrayData(np.zeros((2, 9, 9, 1)), None, 2, False, "fit"),
        ...                   "fit")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: fit: the model expects inputs of shape (None, 8, 8, 1). Received: x with ...
    """
    if (not isinstance(data, ArrayData) or isinstance(data.x, ArrayList)
            or not getattr(model, "built", False)):
        return  # several inputs: each input layer checks its own
    try:
        expected = tuple(model.input_shape)
    except (AttributeError, ValueError, TypeError):
        return
    got = data.x.shape
    if len(got) != len(expected):
        return  # left to the first layer, whose message says what it needs (NHWC)
    differs = [e is not None and e != g for e, g in zip(expected[1:], got[1:])]
    # channels (or features) must match; other sizes only where a Flatten fixes them (a
    # model of convolutions and pooling alone runs on any image size, as in Keras)
    flattens = any(type(layer).__name__ == "Flatten" for layer in model.layers)
    if differs[-1] or (flattens and any(differs)):
        raise ValueError(f"{who}: the model expects inputs of shape {expected}. "
                         f"Received: x with shape {got}.")


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
    x, y = _as_arrays(x), _as_arrays(y)
    n = batch_len(x)
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"Training data contains {n} samples, which is not sufficient to split it into a "
            f"validation and training set as specified by `validation_split="
            f"{validation_split}`. Either provide more data, or a different value for the "
            "`validation_split` argument."
        )
    head, tail = slice(None, split_at), slice(split_at, None)
    keep = lambda a: a  # noqa: E731
    return (_take(x, head, keep), _take(y, head, keep), _take(x, tail, keep),
            _take(y, tail, keep))
