"""ONNX converters of the modern CNN blocks, registered by class name (they need not be imported
here): BatchNormalization, DepthwiseConv2D, SeparableConv2D, global pooling, ZeroPadding2D,
Reshape, ReLU and LeakyReLU (see ``registry.py`` for what a converter is).

* BatchNormalization is written as ONNX's BatchNormalization op (inference form, moving
  statistics), not folded into the convolution before it: the graph keeps the model's layers,
  and onnxruntime folds the pair itself when it optimises the session. A normalised axis that is
  not the channel axis becomes the equivalent per-position Mul and Add.
* DepthwiseConv2D is a grouped Conv with ``group = C``: Keras's kernel (KH, KW, C, M) gives
  output channel ``c * M + m``, which is ONNX's weight row ``c * M + m`` of (C * M, 1, KH, KW).
* SeparableConv2D is that depthwise Conv (no bias) then a 1x1 Conv with the bias.
* ReLU(max_value) is Clip; negative_slope adds a LeakyRelu (or a leak term when there is a
  threshold too, which is ThresholdedRelu).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minicnn.export.builder import NCHW, NHWC, OnnxBuilder
from minicnn.export.converters import spatial_pads
from minicnn.export.registry import register


def _depthwise(ctx: OnnxBuilder, layer: Any, x: str, bias: bool, name: str) -> str:
    """The depthwise part of DepthwiseConv2D / SeparableConv2D on NCHW ``x``."""
    KH, KW, C, M = layer.depthwise_kernel.shape
    w = layer.depthwise_kernel.data.transpose(2, 3, 0, 1).reshape(C * M, 1, KH, KW)
    args = [x, ctx.weight(f"{layer.name}/depthwise_kernel", w)]
    if bias:
        args.append(ctx.weight(f"{layer.name}/bias", layer.bias.data))
    dilation = tuple(layer.dilation_rate)
    return ctx.node("Conv", args, name, group=C, kernel_shape=[KH, KW],
                    strides=list(layer.strides), dilations=list(dilation),
                    pads=spatial_pads(ctx, layer, x, (KH, KW), layer.strides, layer.padding,
                                      dilation))


@register("DepthwiseConv2D")
def depthwise_conv2d(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Grouped Conv (group = C), then the activation."""
    x = ctx.get(inputs[0], NCHW)
    y = _depthwise(ctx, layer, x, layer.use_bias, ctx.before_activation(layer, layer.activation))
    ctx.tensor(y, ctx.out_shape, NCHW)
    return ctx.activation(layer, layer.activation, y, layer.name), NCHW


@register("SeparableConv2D")
def separable_conv2d(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Depthwise Conv (no bias), 1x1 Conv (with the bias), then the activation."""
    x = ctx.get(inputs[0], NCHW)
    d = _depthwise(ctx, layer, x, False, f"{layer.name}/depthwise")
    w = layer.pointwise_kernel.data.transpose(3, 2, 0, 1)  # (1, 1, C*M, F) -> (F, C*M, 1, 1)
    args = [d, ctx.weight(f"{layer.name}/pointwise_kernel", w)]
    if layer.use_bias:
        args.append(ctx.weight(f"{layer.name}/bias", layer.bias.data))
    y = ctx.node("Conv", args, ctx.before_activation(layer, layer.activation),
                 kernel_shape=[1, 1])
    ctx.tensor(y, ctx.out_shape, NCHW)
    return ctx.activation(layer, layer.activation, y, layer.name), NCHW


@register("BatchNormalization")
def batch_normalization(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """ONNX BatchNormalization on the channel axis (axis 1 in NCHW, or of (N, C) inputs);
    another normalised axis: x * a + b with a = gamma / sqrt(var + eps), b = beta - mean * a."""
    x = inputs[0]
    rank = len(ctx.shape(x))
    axis = layer.axis % rank
    C = layer.moving_mean.shape[0]
    gamma = layer.gamma.data if layer.gamma is not None else np.ones(C, np.float32)
    beta = layer.beta.data if layer.beta is not None else np.zeros(C, np.float32)
    if (rank, axis) in ((4, 3), (2, 1)):
        x = ctx.get(x, NCHW)
        args = [x] + [ctx.weight(f"{layer.name}/{n}", v) for n, v in (
            ("gamma", gamma), ("beta", beta), ("moving_mean", layer.moving_mean.data),
            ("moving_variance", layer.moving_variance.data))]
        return (ctx.node("BatchNormalization", args, layer.name, epsilon=layer.epsilon),
                ctx.layout(x))
    a = gamma.astype(np.float64) / np.sqrt(layer.moving_variance.data.astype(np.float64)
                                           + layer.epsilon)
    b = beta - layer.moving_mean.data * a
    shape = [1] * rank
    shape[ctx.keras_axis(x, axis)] = C
    y = ctx.node("Mul", [x, ctx.weight(f"{layer.name}/scale", a.reshape(shape))],
                 f"{layer.name}/scaled")
    return ctx.node("Add", [y, ctx.weight(f"{layer.name}/shift", b.reshape(shape))],
                    layer.name), ctx.layout(x)


@register("GlobalAveragePooling2D", "GlobalMaxPooling2D")
def global_pooling(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """GlobalAveragePool / GlobalMaxPool in NCHW: (N, C, 1, 1), flattened unless keepdims."""
    op = "GlobalMaxPool" if "Max" in type(layer).__name__ else "GlobalAveragePool"
    x = ctx.get(inputs[0], NCHW)
    if layer.keepdims:
        return ctx.node(op, [x], layer.name), NCHW
    y = ctx.node(op, [x], f"{layer.name}/keepdims")
    return ctx.node("Flatten", [y], layer.name, axis=1), NHWC


@register("ZeroPadding2D")
def zero_padding2d(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Pad (constant 0) in whatever layout the input is stored."""
    x = inputs[0]
    (top, bottom), (left, right) = layer.padding
    if ctx.layout(x) == NCHW:
        pads = [0, 0, top, left, 0, 0, bottom, right]
    else:
        pads = [0, top, left, 0, 0, bottom, right, 0]
    pads_name = ctx.weight(f"{layer.name}/pads", np.array(pads, np.int64))
    return ctx.node("Pad", [x, pads_name], layer.name, mode="constant"), ctx.layout(x)


@register("Reshape")
def reshape(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Reshape in Keras's (NHWC) order; the batch axis is copied (0), the rest are known."""
    x = ctx.get(inputs[0], NHWC)
    dims = [0] + [-1 if d is None else int(d) for d in ctx.out_shape[1:]]
    shape = ctx.weight(f"{layer.name}/shape", np.array(dims, np.int64))
    return ctx.node("Reshape", [x, shape], layer.name), NHWC


def _scalar(ctx: OnnxBuilder, name: str, value: float) -> str:
    return ctx.weight(name, np.array(value, np.float32))


@register("ReLU")
def relu(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Relu, Clip (max_value), LeakyRelu (negative_slope), ThresholdedRelu (threshold)."""
    x, name = inputs[0], layer.name
    cap, slope, t = layer.max_value, layer.negative_slope, layer.threshold
    if t == 0 and slope == 0:
        if cap is None:
            return ctx.node("Relu", [x], name), ctx.layout(x)
        args = [x, _scalar(ctx, f"{name}/min", 0.0), _scalar(ctx, f"{name}/max", cap)]
        return ctx.node("Clip", args, name), ctx.layout(x)
    leak = t != 0 and slope != 0
    last = cap is None and not leak
    if t == 0:
        y = ctx.node("LeakyRelu", [x], name if last else f"{name}/leaky", alpha=slope)
    else:
        y = ctx.node("ThresholdedRelu", [x], name if last else f"{name}/thresholded", alpha=t)
    if cap is not None:
        y = ctx.node("Clip", [y, "", _scalar(ctx, f"{name}/max", cap)],
                     f"{name}/clipped" if leak else name)
    if leak:  # minus negative_slope * max(threshold - x, 0)
        below = ctx.node("Relu", [ctx.node("Sub", [_scalar(ctx, f"{name}/threshold", t), x],
                                           f"{name}/below")], f"{name}/below_relu")
        scaled = ctx.node("Mul", [below, _scalar(ctx, f"{name}/slope", slope)], f"{name}/leak")
        y = ctx.node("Sub", [y, scaled], name)
    return y, ctx.layout(x)


@register("LeakyReLU")
def leaky_relu(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """LeakyRelu with Keras's negative_slope as alpha."""
    x = inputs[0]
    return ctx.node("LeakyRelu", [x], layer.name, alpha=layer.negative_slope), ctx.layout(x)

