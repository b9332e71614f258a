"""ONNX converters of the core layers: Conv2D, pooling, Dense, Flatten, Activation, Rescaling,
Dropout (see ``registry.py`` for what a converter is).

Rules pinned by tests/test_onnx_export.py:

* TensorFlow's "same" padding is asymmetric (the odd pixel goes bottom/right), so it is written
  as explicit ``pads``, never ``auto_pad`` (whose SAME_UPPER agrees only by convention).
* AveragePool leaves padded positions out of the mean (``count_include_pad=0``) as Keras does;
  MaxPool's padded positions never win (ONNX ignores them, as -inf would).
* Conv weights: Keras's (KH, KW, C, F) -> ONNX's (F, C, KH, KW).
* Flatten runs on NHWC (the builder transposes back first), so it flattens in Keras's order and
  the Dense kernel after it is used as is (its rows are not permuted).
* Dropout (and the augmentation layers, identities at inference) emit nothing.
"""

from __future__ import annotations

from typing import Any

from minicnn.export.builder import NCHW, NHWC, OnnxBuilder, layer_label
from minicnn.export.errors import ExportError
from minicnn.export.registry import register
from minicnn.kernels.geometry import output_size_and_padding
from minicnn.layers import (
    Activation,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    MaxPooling2D,
    Rescaling,
)

#: Keras's augmentation and noise layers: identities at inference, left out of the graph.
INFERENCE_IDENTITIES = ("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                        "RandomContrast", "RandomBrightness", "RandomCrop", "GaussianNoise",
                        "GaussianDropout", "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D")


def spatial_pads(ctx: OnnxBuilder, layer: Any, x: str, window: tuple[int, int],
                 strides: tuple[int, int], padding: str,
                 dilation: tuple[int, int] = (1, 1)) -> list[int]:
    """ONNX ``pads`` [top, left, bottom, right] for TensorFlow's "valid"/"same" rule (a dilated
    window spans (k - 1) * d + 1 pixels)."""
    _, H, W, _ = ctx.shape(x)
    if H is None or W is None:
        raise ExportError(f"Cannot export {layer_label(layer)}: its input's height and width "
                          f"must be fixed. Received: input shape {ctx.shape(x)}")
    before, after = [], []
    for size, k, s, d in zip((H, W), window, strides, dilation):
        k = (k - 1) * d + 1
        out, pad = output_size_and_padding(size, k, s, padding)
        total = max((out - 1) * s + k - size, 0)
        before.append(pad)
        after.append(total - pad)
    return before + after


@register(Conv2D)
def conv2d(ctx: OnnxBuilder, layer: Conv2D, inputs: list[str]) -> tuple[str, str]:
    """Conv (+ bias) in NCHW, then the activation; dilation and groups as ONNX's attributes
    (a grouped kernel (KH, KW, C/G, F) becomes (F, C/G, KH, KW), TF's group order is ONNX's)."""
    x = ctx.get(inputs[0], NCHW)
    dilation = tuple(getattr(layer, "dilation_rate", (1, 1)))
    w = ctx.weight(f"{layer.name}/kernel", layer.kernel.data.transpose(3, 2, 0, 1))
    args = [x, w] + ([ctx.weight(f"{layer.name}/bias", layer.bias.data)] if layer.use_bias else [])
    y = ctx.node("Conv", args, ctx.before_activation(layer, layer.activation),
                 kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                 dilations=list(dilation), group=int(getattr(layer, "groups", 1)),
                 pads=spatial_pads(ctx, layer, x, layer.kernel_size, layer.strides,
                                   layer.padding, dilation))
    ctx.tensor(y, ctx.out_shape, NCHW)
    return ctx.activation(layer, layer.activation, y, layer.name), NCHW


@register(MaxPooling2D, AveragePooling2D)
def pooling(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """MaxPool / AveragePool in NCHW with explicit pads (padding never counted in a mean)."""
    x = ctx.get(inputs[0], NCHW)
    attrs = dict(kernel_shape=list(layer.pool_size), strides=list(layer.strides),
                 pads=spatial_pads(ctx, layer, x, layer.pool_size, layer.strides, layer.padding))
    if isinstance(layer, AveragePooling2D):
        return ctx.node("AveragePool", [x], layer.name, count_include_pad=0, **attrs), NCHW
    return ctx.node("MaxPool", [x], layer.name, **attrs), NCHW


@register(Dense)
def dense(ctx: OnnxBuilder, layer: Dense, inputs: list[str]) -> tuple[str, str]:
    """Gemm on (N, in) inputs; MatMul (+ Add) on the last axis of higher-rank ones."""
    x = ctx.get(inputs[0], NHWC)
    w = ctx.weight(f"{layer.name}/kernel", layer.kernel.data)
    b = [ctx.weight(f"{layer.name}/bias", layer.bias.data)] if layer.use_bias else []
    name = ctx.before_activation(layer, layer.activation)
    if len(ctx.shape(x)) == 2:
        y = ctx.node("Gemm", [x, w] + b, name)
    else:
        y = ctx.node("MatMul", [x, w], f"{name}/matmul" if b else name)
        y = ctx.node("Add", [y] + b, name) if b else y
    ctx.tensor(y, ctx.out_shape, NHWC)
    return ctx.activation(layer, layer.activation, y, layer.name), NHWC


@register(Flatten)
def flatten(ctx: OnnxBuilder, layer: Flatten, inputs: list[str]) -> tuple[str, str]:
    """Flatten in Keras's (h, w, c) order: the input is transposed back to NHWC first."""
    return ctx.node("Flatten", [ctx.get(inputs[0], NHWC)], layer.name, axis=1), NHWC


@register(Activation)
def activation(ctx: OnnxBuilder, layer: Activation, inputs: list[str]) -> tuple[str, str]:
    """The activation in whatever layout the input is stored (softmax on its channel axis)."""
    x = inputs[0]
    return ctx.activation(layer, layer.activation, x, layer.name), ctx.layout(x)


@register(Rescaling)
def rescaling(ctx: OnnxBuilder, layer: Rescaling, inputs: list[str]) -> tuple[str, str]:
    """``x * scale + offset`` (Mul, and Add when the offset is not 0), in any layout."""
    x = inputs[0]
    y = ctx.node("Mul", [x, ctx.weight(f"{layer.name}/scale", layer.scale)],
                 f"{layer.name}/scaled" if layer.offset else layer.name)
    if layer.offset:
        y = ctx.node("Add", [y, ctx.weight(f"{layer.name}/offset", layer.offset)], layer.name)
    return y, ctx.layout(x)


@register(Dropout, *INFERENCE_IDENTITIES)
def identity(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Inference identities: no node, the input passes through."""
    return inputs[0], ctx.layout(inputs[0])
