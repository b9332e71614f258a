"""MaxPooling2D and AveragePooling2D (aliases MaxPool2D, AvgPool2D)."""

from __future__ import annotations

from typing import Any

from minicnn.kernels.geometry import fit_window
from minicnn.layers.base import Layer, normalize_padding, normalize_tuple
from minicnn.ops.conv import avg_pool2d, max_pool2d


class _Pooling2D(Layer):
    _op = staticmethod(max_pool2d)

    def __init__(
        self,
        pool_size: Any = (2, 2),
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        who = f"{type(self).__name__} '{self.name}'"
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"{who}: only data_format='channels_last' (NHWC) is supported. "
                f"Received: data_format={data_format!r}"
            )
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", who)
        self.strides = (self.pool_size if strides is None
                        else normalize_tuple(strides, 2, "strides", who))
        self.padding = normalize_padding(padding, who)

    def call(self, x, training=False):
        return self._op(x, self.pool_size, self.strides, self.padding,
                        who=f"{type(self).__name__} '{self.name}'")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs of shape "
                f"(batch, height, width, channels). Received: input_shape={tuple(input_shape)}"
            )
        OH, OW, _, _ = fit_window(input_shape, self.pool_size, self.strides, self.padding,
                                  f"{type(self).__name__} '{self.name}'", kind="pool")
        return (input_shape[0], OH, OW, input_shape[3])

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling2D):
    """Max pooling over NHWC windows; ties send the gradient to the first maximum.

    Args:
        pool_size: int or (KH, KW), default 2.
        strides: int or (SH, SW); defaults to ``pool_size``.
        padding: "valid" or "same" (padded positions never win).

    Shape: (N, H, W, C) -> (N, OH, OW, C), "valid": OH = floor((H - KH) / SH) + 1;
    "same": OH = ceil(H / SH).

    Example:
        >>> import minicnn as mc, numpy as np
        >>> mc.layers.MaxPooling2D(2)(np.zeros((1, 5, 5, 3), np.float32)).shape
        (1, 2, 2, 3)
    """

    _op = staticmethod(max_pool2d)


class AveragePooling2D(_Pooling2D):
    """Average pooling over NHWC windows; "same" leaves padded positions out of the mean.

    Shape: (N, H, W, C) -> (N, OH, OW, C), as MaxPooling2D.

    Example:
        >>> import minicnn as mc, numpy as np
        >>> mc.layers.AveragePooling2D(2)(np.ones((1, 4, 4, 1), np.float32)).shape
        (1, 2, 2, 1)
    """

    _op = staticmethod(avg_pool2d)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
