"""Conv2D: 2-D convolution over NHWC inputs with an HWIO kernel, as Keras."""

from __future__ import annotations

from typing import Any

from minicnn import activations, initializers
from minicnn.kernels.geometry import fit_window
from minicnn.layers.base import Layer, normalize_padding, normalize_tuple
from minicnn.layers.depthwise import check_dilation_and_strides
from minicnn.ops.conv import conv2d
from minicnn.ops.dilated import dilated_conv2d


class Conv2D(Layer):
    """2-D convolution layer: ``activation(conv2d(x, kernel) + bias)``.

    Args:
        filters: number of output channels F.
        kernel_size: int or (KH, KW).
        strides: int or (SH, SW), default 1.
        padding: "valid" (no padding) or "same" (TF's rule: the odd pixel goes bottom/right).
        activation: "relu", "sigmoid", "tanh", "softmax", "linear" or None.
        use_bias: whether to add a per-filter bias.
        kernel_initializer, bias_initializer: Keras names (glorot_uniform / zeros by default).

    Shape: (N, H, W, C) -> (N, OH, OW, F), kernel (KH, KW, C, F), bias (F,), where
    "valid": OH = floor((H - KH) / SH) + 1;  "same": OH = ceil(H / SH)  (likewise OW).

    Example:
        >>> import minicnn as mc, numpy as np
        >>> conv = mc.layers.Conv2D(8, 3, activation="relu")
        >>> conv(np.zeros((1, 32, 32, 3), np.float32)).shape
        (1, 30, 30, 8)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        groups: int = 1,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        who = f"Conv2D '{self.name}'"
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(
                f"{who}: `filters` must be a positive int. Received: filters={filters!r}"
            )
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"{who}: only data_format='channels_last' (NHWC) is supported. "
                f"Received: data_format={data_format!r}"
            )
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", who)
        if (not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0
                or filters % groups):
            raise ValueError(f"{who}: `groups` must be a positive int dividing `filters`. "
                             f"Received: groups={groups!r}, filters={filters}")
        self.groups = groups
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", who)
        self.strides = normalize_tuple(strides, 2, "strides", who)
        self.padding = normalize_padding(padding, who)
        check_dilation_and_strides(self.strides, self.dilation_rate, who)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(
                f"Conv2D '{self.name}' expects inputs of shape (batch, height, width, channels). "
                f"Received: input_shape={input_shape}"
            )
        if input_shape[-1] % self.groups:
            raise ValueError(f"Conv2D '{self.name}': the input channels must be divisible by "
                             f"groups={self.groups}. Received: input_shape={input_shape}")
        shape = self.kernel_size + (input_shape[-1] // self.groups, self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer)
                     if self.use_bias else None)
        self.compute_output_shape(input_shape)  # fail now if the window does not fit

    def call(self, x, training=False):
        who = f"Conv2D '{self.name}'"
        if self.dilation_rate != (1, 1) or self.groups != 1:  # the plain tap-loop route
            return self.activation(dilated_conv2d(x, self.kernel, self.bias, self.strides,
                                                  self.padding, self.dilation_rate, self.groups,
                                                  who=who))
        if self.activation is activations.relu:  # fused into the conv's output pass
            return conv2d(x, self.kernel, self.bias, self.strides, self.padding, "relu", who=who)
        y = conv2d(x, self.kernel, self.bias, self.strides, self.padding, who=who)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        # a dilated kernel spans (k - 1) * d + 1 pixels
        span = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
        OH, OW, _, _ = fit_window(input_shape, span, self.strides, self.padding,
                                  f"Conv2D '{self.name}'")
        return (input_shape[0], OH, OW, self.filters)

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "activation": activations.name_of(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
        }
