"""ZeroPadding2D and Reshape."""

from __future__ import annotations

import math
from typing import Any

from minicnn.layers.base import Layer
from minicnn.ops.padding import zero_pad2d


def _padding_pairs(padding: Any, who: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's three forms: int, (sym_height, sym_width), ((top, bottom), (left, right))."""
    def is_int(v):
        return isinstance(v, int) and not isinstance(v, bool)

    pairs = None
    if is_int(padding):
        pairs = ((padding, padding), (padding, padding))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        if all(is_int(p) for p in padding):
            pairs = ((padding[0], padding[0]), (padding[1], padding[1]))
        elif all(isinstance(p, (tuple, list)) and len(p) == 2 and all(is_int(v) for v in p)
                 for p in padding):
            pairs = (tuple(padding[0]), tuple(padding[1]))
    if pairs is None or any(v < 0 for pair in pairs for v in pair):
        raise ValueError(
            f"{who}: `padding` should be either a non-negative int, a tuple of 2 ints "
            "(symmetric_height_pad, symmetric_width_pad), or a tuple of 2 tuples of 2 ints "
            f"((top_pad, bottom_pad), (left_pad, right_pad)). Received: padding={padding!r}"
        )
    return pairs


class ZeroPadding2D(Layer):
    """Add rows and columns of zeros around each image.

    Args:
        padding: an int (all sides), a pair (symmetric height, symmetric width), or a pair of
            pairs ((top, bottom), (left, right)), as Keras.

    Shape: (N, H, W, C) -> (N, top + H + bottom, left + W + right, C)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.ZeroPadding2D(((1, 0), (2, 1)))(np.ones((1, 4, 4, 3), np.float32)).shape
        (1, 5, 7, 3)
    """

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = f"ZeroPadding2D '{self.name}'"
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"{who}: only data_format='channels_last' (NHWC) is supported. "
                f"Received: data_format={data_format!r}"
            )
        self.padding = _padding_pairs(padding, who)

    def call(self, x, training=False):
        return zero_pad2d(x, self.padding, who=f"ZeroPadding2D '{self.name}'")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"ZeroPadding2D '{self.name}' expects inputs of shape (batch, height, width, "
                f"channels). Received: input_shape={tuple(input_shape)}"
            )
        N, H, W, C = input_shape
        (top, bottom), (left, right) = self.padding
        return (N, None if H is None else top + H + bottom,
                None if W is None else left + W + right, C)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "padding": [list(pair) for pair in self.padding]}


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (at most one -1, inferred), in NHWC order.

    Args:
        target_shape: the new shape of one sample, without the batch axis.

    Shape: (N, ...) -> (N, *target_shape)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.Reshape((-1, 2))(np.zeros((3, 2, 2, 2), np.float32)).shape
        (3, 4, 2)
    """

    def __init__(self, target_shape: Any, **kwargs: Any):
        super().__init__(**kwargs)
        try:
            shape = tuple(target_shape)
            ok = all(isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1)
                     for d in shape) and shape.count(-1) <= 1
        except TypeError:
            shape, ok = (), False
        if not ok:
            raise ValueError(
                f"Reshape '{self.name}': `target_shape` must be a tuple of positive ints with at "
                f"most one -1. Received: target_shape={target_shape!r}"
            )
        self.target_shape = shape

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(rest), math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and size % known) or (
                -1 not in self.target_shape and size != known):
            raise ValueError(
                f"Reshape '{self.name}': the total size of the new shape must equal the input's "
                f"({size}). Received: target_shape={self.target_shape}, "
                f"input_shape={tuple(input_shape)}"
            )
        shape = tuple(size // known if d == -1 else d for d in self.target_shape)
        return (input_shape[0],) + shape

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def call(self, x, training=False):
        target = self.compute_output_shape((x.shape[0],) + x.shape[1:])
        return x.reshape((x.shape[0],) + target[1:])

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}
