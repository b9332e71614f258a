"""DepthwiseConv2D and SeparableConv2D, with Keras's weight layouts and TensorFlow's channel
order and 'same' padding."""

from __future__ import annotations

from typing import Any

from minicnn import activations, initializers
from minicnn.layers.base import Layer, normalize_padding, normalize_tuple
from minicnn.ops.depthwise import depthwise_conv2d, separable_conv2d, window_geometry


def check_dilation_and_strides(strides, dilation_rate, who):
    # Keras 3 refuses this combination for every convolution (TensorFlow cannot run it)
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(
            f"{who}: `strides > 1` not supported in conjunction with `dilation_rate > 1`. "
            f"Received: strides={strides} and dilation_rate={dilation_rate}"
        )


class _DepthwiseBase(Layer):
    """The depthwise half both layers share: arguments, validation and output geometry."""

    def __init__(self, kernel_size, strides, padding, depth_multiplier, data_format,
                 dilation_rate, activation, use_bias, **kwargs):
        super().__init__(**kwargs)
        who = self._who()
        if (not isinstance(depth_multiplier, int) or isinstance(depth_multiplier, bool)
                or depth_multiplier <= 0):
            raise ValueError(
                f"{who}: `depth_multiplier` must be a positive int. "
                f"Received: depth_multiplier={depth_multiplier!r}"
            )
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"{who}: only data_format='channels_last' (NHWC) is supported. "
                f"Received: data_format={data_format!r}"
            )
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", who)
        self.strides = normalize_tuple(strides, 2, "strides", who)
        self.padding = normalize_padding(padding, who)
        self.depth_multiplier = depth_multiplier
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", who)
        check_dilation_and_strides(self.strides, self.dilation_rate, who)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)

    def _who(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _check_input_shape(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                f"{self._who()} expects inputs of shape (batch, height, width, channels). "
                f"Received: input_shape={tuple(input_shape)}"
            )

    def _spatial_output(self, input_shape):
        N, H, W, C = input_shape
        if H is None or W is None:
            return None, None
        OH, OW, *_ = window_geometry((N, H, W, C), self.kernel_size, self.strides, self.padding,
                                     self.dilation_rate, self._who())
        return OH, OW

    def _depthwise(self, x, bias):
        return depthwise_conv2d(x, self.depthwise_kernel, bias, self.strides, self.padding,
                                self.dilation_rate, who=self._who())

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "depth_multiplier": self.depth_multiplier,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.name_of(self.activation),
            "use_bias": self.use_bias,
        }


class DepthwiseConv2D(_DepthwiseBase):
    """Depthwise convolution: each input channel convolved with its own ``depth_multiplier``
    filters, ``activation(depthwise(x, depthwise_kernel) + bias)``.

    Output channel ``c * depth_multiplier + m`` is input channel c through filter m
    (TensorFlow's order); "same" pads as TF does (the odd pixel bottom/right).

    Args:
        kernel_size: int or (KH, KW).  strides: int or (SH, SW).  padding: "valid" or "same".
        depth_multiplier: filters per input channel, M.
        dilation_rate: int or (DH, DW) (not with strides > 1, as Keras).
        activation, use_bias: as Conv2D.
        depthwise_initializer, bias_initializer: Keras names (glorot_uniform / zeros).

    Shape: (N, H, W, C) -> (N, OH, OW, C*M), depthwise_kernel (KH, KW, C, M), bias (C*M,);
    OH as Conv2D's with the dilated window (KH - 1) * DH + 1.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> layer = mc.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> layer(np.zeros((1, 8, 8, 3), np.float32)).shape, layer.depthwise_kernel.shape
        ((1, 8, 8, 6), (3, 3, 3, 2))
    """

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, **kwargs)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        C, M = input_shape[-1], self.depth_multiplier
        self.depthwise_kernel = self.add_weight("depthwise_kernel", self.kernel_size + (C, M),
                                                self.depthwise_initializer)
        self.bias = (self.add_weight("bias", (C * M,), self.bias_initializer)
                     if self.use_bias else None)
        self.compute_output_shape(input_shape)  # fail now if the window does not fit

    def call(self, x, training=False):
        return self.activation(self._depthwise(x, self.bias))

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        OH, OW = self._spatial_output(input_shape)
        return (input_shape[0], OH, OW, input_shape[-1] * self.depth_multiplier)

    def get_config(self):
        return {
            **super().get_config(),
            "depthwise_initializer": initializers.name_of(self.depthwise_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
        }


class SeparableConv2D(_DepthwiseBase):
    """Depthwise separable convolution: a depthwise convolution (strides, padding and dilation
    apply here, no bias), then a 1x1 pointwise convolution to ``filters`` channels, then the
    bias and the activation, as Keras's layer.

    Args:
        filters: output channels F.  depth_multiplier: depthwise filters per input channel, M.
        kernel_size, strides, padding, dilation_rate, activation, use_bias: as DepthwiseConv2D.
        depthwise_initializer, pointwise_initializer, bias_initializer: Keras names.

    Shape: (N, H, W, C) -> (N, OH, OW, F); weights depthwise_kernel (KH, KW, C, M),
    pointwise_kernel (1, 1, C*M, F), bias (F,), in that ``get_weights`` order.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> layer = mc.layers.SeparableConv2D(8, 3, padding="same")
        >>> layer(np.zeros((1, 8, 8, 3), np.float32)).shape, layer.weight_names()
        ((1, 8, 8, 8), ['depthwise_kernel', 'pointwise_kernel', 'bias'])
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ):
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, **kwargs)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(
                f"{self._who()}: `filters` must be a positive int. Received: filters={filters!r}"
            )
        self.filters = filters
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        C, M = input_shape[-1], self.depth_multiplier
        self.depthwise_kernel = self.add_weight("depthwise_kernel", self.kernel_size + (C, M),
                                                self.depthwise_initializer)
        self.pointwise_kernel = self.add_weight("pointwise_kernel", (1, 1, C * M, self.filters),
                                                self.pointwise_initializer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer)
                     if self.use_bias else None)
        self.compute_output_shape(input_shape)

    def call(self, x, training=False):
        # depthwise (N, OH, OW, C*M), then the pointwise step: one matmul over pixel rows
        # (ops.depthwise.PointwiseConvFn), with ReLU fused into its output pass
        relu = self.activation is activations.relu
        y = separable_conv2d(x, self.depthwise_kernel, self.pointwise_kernel, self.bias,
                             self.strides, self.padding, self.dilation_rate,
                             "relu" if relu else "linear", who=self._who())
        return y if relu else self.activation(y)

    def compute_output_shape(self, input_shape):
        self._check_input_shape(input_shape)
        OH, OW = self._spatial_output(input_shape)
        return (input_shape[0], OH, OW, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "depthwise_initializer": initializers.name_of(self.depthwise_initializer),
            "pointwise_initializer": initializers.name_of(self.pointwise_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
        }
