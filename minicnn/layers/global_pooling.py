"""GlobalAveragePooling2D and GlobalMaxPooling2D (aliases GlobalAvgPool2D, GlobalMaxPool2D)."""

from __future__ import annotations

from typing import Any

from minicnn.layers.base import Layer
from minicnn.ops.global_pooling import global_avg_pool2d, global_max_pool2d


class _GlobalPooling2D(Layer):
    _op = staticmethod(global_avg_pool2d)

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': only data_format='channels_last' (NHWC) "
                f"is supported. Received: data_format={data_format!r}"
            )
        self.keepdims = bool(keepdims)

    def call(self, x, training=False):
        return self._op(x, self.keepdims, who=f"{type(self).__name__} '{self.name}'")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs of shape "
                f"(batch, height, width, channels). Received: input_shape={tuple(input_shape)}"
            )
        N, _, _, C = input_shape
        return (N, 1, 1, C) if self.keepdims else (N, C)

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Mean of each channel over the whole image.

    Args:
        keepdims: keep the spatial axes as size 1.

    Shape: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims=True``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.GlobalAveragePooling2D()(np.ones((2, 5, 5, 3), np.float32)).shape
        (2, 3)
    """

    _op = staticmethod(global_avg_pool2d)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Maximum of each channel over the whole image. Tied maxima share the gradient equally, as
    in Keras (whose layer is ``reduce_max``; MaxPooling2D instead picks the first maximum).

    Args:
        keepdims: keep the spatial axes as size 1.

    Shape: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with ``keepdims=True``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.GlobalMaxPooling2D(keepdims=True)(np.ones((2, 5, 5, 3), np.float32)).shape
        (2, 1, 1, 3)
    """

    _op = staticmethod(global_max_pool2d)


GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
