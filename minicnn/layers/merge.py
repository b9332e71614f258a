"""Merge layers (Keras 3's): ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``, ``Concatenate``, and their functional forms ``add([a, b])``...

Each takes a list of tensors. Elementwise merges follow Keras's shape rule: the sample axes
broadcast NumPy-style (a 1 or None matches anything), the batch axes must agree, and an input of
lower rank gets size-1 axes inserted right after its batch axis (Keras's ``expand_dims(x, 1)``).
Each merge is plain autograd arithmetic, so gradients need no code of their own.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from minicnn.layers.base import Layer
from minicnn.layers.node import call_symbolic, is_symbolic
from minicnn.ops import merge as merge_ops
from minicnn.tensor import Tensor
from minicnn.tensor import concatenate as concatenate_tensors


def _is_shape_list(input_shape: Any) -> bool:
    return (isinstance(input_shape, (list, tuple)) and len(input_shape) > 0
            and all(isinstance(s, (list, tuple)) for s in input_shape))


def _broadcast(shape1: tuple[Any, ...], shape2: tuple[Any, ...], who: str) -> tuple[Any, ...]:
    """Keras's elementwise output shape of two sample shapes (batch axes excluded)."""
    if len(shape2) > len(shape1):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return tuple(shape1)
    out = list(shape1[:len(shape1) - len(shape2)])
    for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ValueError(f"{who}: inputs have incompatible shapes. "
                             f"Received: sample shapes {tuple(shape1)} and {tuple(shape2)}")
    return tuple(out)


class Merge(Layer):
    """Base class of the merge layers: called on a list of tensors, returns one tensor.

    Subclasses implement ``merge(tensors)`` on tensors of equal rank.
    """

    min_inputs = 1
    max_inputs: int | None = None

    def __call__(self, inputs: Any, training: bool = False) -> Any:
        if is_symbolic(inputs):
            return call_symbolic(self, inputs)
        self._check_list(inputs)
        tensors = [t if isinstance(t, Tensor) else Tensor(t) for t in inputs]
        shapes = [t.shape for t in tensors]
        self.ensure_built([(None,) + s[1:] for s in shapes])
        self.compute_output_shape(shapes)  # validates these inputs (they may differ from build's)
        return self.call(tensors, training=training)

    def _check_list(self, inputs: Any) -> None:
        who = f"{type(self).__name__} '{self.name}'"
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"{who} must be called on a list of tensors. "
                             f"Received: an input of type {type(inputs).__name__}")
        n = len(inputs)
        if n < self.min_inputs or (self.max_inputs is not None and n > self.max_inputs):
            want = (f"exactly {self.max_inputs}" if self.max_inputs == self.min_inputs
                    else f"at least {self.min_inputs}")
            raise ValueError(f"{who} must be called on {want} input(s). Received: {n} inputs.")

    def build(self, input_shape):
        if not _is_shape_list(input_shape):
            raise ValueError(f"{type(self).__name__} '{self.name}' must be called on a list of "
                             f"tensors. Received: input_shape={input_shape}")
        self._check_list(list(input_shape))
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        who = f"{type(self).__name__} '{self.name}'"
        shapes = [tuple(s) for s in input_shape]
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ValueError(f"{who}: cannot merge tensors with different batch sizes. "
                             f"Received: shapes {shapes}")
        out = shapes[0][1:]
        for s in shapes[1:]:
            out = _broadcast(out, s[1:], who)
        return (batches.pop() if batches else None,) + out

    def call(self, inputs, training=False):
        rank = max(t.ndim for t in inputs)
        same_rank = [t if t.ndim == rank
                     else t.reshape((t.shape[0],) + (1,) * (rank - t.ndim) + t.shape[1:])
                     for t in inputs]
        return self.merge(same_rank)

    def merge(self, tensors: list[Tensor]) -> Tensor:
        raise NotImplementedError


class Add(Merge):
    """Elementwise sum of a list of tensors: ``Add()([a, b])`` or ``add([a, b])``, as Keras.

    Shape: a list of (N, ...) with broadcastable sample axes -> (N, ...)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.Add()([np.ones((1, 2), np.float32), np.full((1, 2), 2.0, np.float32)]).data
        array([[3., 3.]], dtype=float32)
    """

    def merge(self, tensors):
        return functools.reduce(lambda a, b: a + b, tensors)


class Subtract(Merge):
    """``a - b`` of exactly two tensors, as Keras's ``Subtract``.

    Shape: [(N, ...), (N, ...)] -> (N, ...)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.subtract([np.ones((1, 2), np.float32), np.ones((1, 2), np.float32)]).data
        array([[0., 0.]], dtype=float32)
    """

    min_inputs = max_inputs = 2

    def merge(self, tensors):
        return tensors[0] - tensors[1]


class Multiply(Merge):
    """Elementwise product of a list of tensors, as Keras's ``Multiply``.

    Shape: a list of (N, ...) with broadcastable sample axes -> (N, ...)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> three, two = np.full((1, 2), 3.0, np.float32), np.full((1, 1), 2.0, np.float32)
        >>> mc.layers.multiply([three, two]).data
        array([[6., 6.]], dtype=float32)
    """

    def merge(self, tensors):
        return functools.reduce(lambda a, b: a * b, tensors)


class Average(Merge):
    """Elementwise mean of a list of tensors (their sum divided by their count), as Keras.

    Shape: a list of (N, ...) with broadcastable sample axes -> (N, ...)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.average([np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32)]).data
        array([[0.5, 0.5]], dtype=float32)
    """

    def merge(self, tensors):
        return functools.reduce(lambda a, b: a + b, tensors) / float(len(tensors))


class Maximum(Merge):
    """Elementwise maximum of a list of tensors; on ties the gradient goes to the earlier input
    (TensorFlow's rule).

    Shape: a list of (N, ...) with broadcastable sample axes -> (N, ...)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.maximum([np.array([[1.0, 4.0]], np.float32),
        ...                    np.array([[3.0, 2.0]], np.float32)]).data
        array([[3., 4.]], dtype=float32)
    """

    def merge(self, tensors):
        return functools.reduce(merge_ops.maximum, tensors)


class Minimum(Merge):
    """Elementwise minimum of a list of tensors; ties send the gradient to the earlier input.

    Shape: a list of (N, ...) with broadcastable sample axes -> (N, ...)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.minimum([np.array([[1.0, 4.0]], np.float32),
        ...                    np.array([[3.0, 2.0]], np.float32)]).data
        array([[1., 2.]], dtype=float32)
    """

    def merge(self, tensors):
        return functools.reduce(merge_ops.minimum, tensors)


class Concatenate(Merge):
    """Join a list of tensors along ``axis`` (default the last, the channels of NHWC data).

    Args:
        axis: the axis to join along; every other axis must agree (None matches anything).

    Shape: [(N, H, W, C1), (N, H, W, C2)] -> (N, H, W, C1 + C2) with ``axis=-1``

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.concatenate([np.zeros((2, 3), np.float32), np.ones((2, 1), np.float32)]).shape
        (2, 4)
    """

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"Concatenate '{self.name}': `axis` must be an int. "
                             f"Received: axis={axis!r}")
        self.axis = axis

    def compute_output_shape(self, input_shape):
        who = f"Concatenate '{self.name}'"
        shapes = [tuple(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        rank = len(shapes[0])
        if len(ranks) > 1 or not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ValueError(
                f"{who} needs inputs of one rank and an axis other than the batch axis. "
                f"Received: axis={self.axis} and input shapes {shapes}"
            )
        axis = self.axis % rank
        out: list[Any] = []
        for k in range(rank):
            dims = [s[k] for s in shapes]
            if k == axis:
                out.append(None if None in dims else sum(dims))
                continue
            known = set(dims) - {None}
            if len(known) > 1:
                raise ValueError(
                    f"{who} needs inputs of matching shapes except along the concatenation "
                    f"axis. Received: axis={self.axis} and input shapes {shapes}"
                )
            out.append(known.pop() if known else None)
        return tuple(out)

    def call(self, inputs, training=False):
        return concatenate_tensors(inputs, axis=self.axis % inputs[0].ndim)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _functional(cls: type[Merge]):
    def merge_function(inputs: Sequence[Any], **kwargs: Any) -> Any:
        return cls(**kwargs)(inputs)

    merge_function.__name__ = cls.__name__.lower()
    merge_function.__doc__ = (f"``{cls.__name__}(**kwargs)(inputs)``: the functional form of "
                              f"the ``{cls.__name__}`` layer (symbolic tensors or data).")
    return merge_function


add = _functional(Add)
subtract = _functional(Subtract)
multiply = _functional(Multiply)
average = _functional(Average)
def maximum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``: the functional form of the ``Maximum`` layer."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``: the functional form of the ``Minimum`` layer."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis, **kwargs)(inputs)``: the functional form of ``Concatenate``.

    Example:
        >>> import minicnn as mc
        >>> a, b = mc.Input((4, 4, 2)), mc.Input((4, 4, 3))
        >>> mc.layers.concatenate([a, b]).shape
        (None, 4, 4, 5)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)
