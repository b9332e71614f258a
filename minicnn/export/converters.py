"""The ONNX converter of each layer class: a registry, and one small function per layer.

A converter is ``convert(ctx, layer, inputs) -> (output name, layout)``: it reads its input
tensors (ONNX names) through the ``OnnxBuilder`` ``ctx`` in the layout it wants, emits nodes and
weights, and says in which layout (``NHWC`` or ``NCHW``) it wrote the output. Adding a layer is
one ``@register(TheLayer)`` function; a class without one (or a subclass of one that has one)
raises ``ExportError`` naming the layer and its class.

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

from collections.abc import Callable
from typing import Any

from minicnn.export.builder import NCHW, NHWC, OnnxBuilder, layer_label
from minicnn.export.errors import ExportError
from minicnn.kernels.geometry import output_size_and_padding
from minicnn.layers import (
    Activation,
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPooling2D,
    Rescaling,
)

Converter = Callable[[OnnxBuilder, Any, list[str]], tuple[str, str]]

#: layer class (or, for layers defined elsewhere, its class name) -> converter.
REGISTRY: dict[type | str, Converter] = {}

#: Keras's augmentation and noise layers: identities at inference, left out of the graph.
INFERENCE_IDENTITIES = ("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
                        "RandomContrast", "RandomBrightness", "GaussianNoise", "GaussianDropout",
                        "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D")


def register(*keys: type | str) -> Callable[[Converter], Converter]:
    """Decorator: ``@register(Conv2D)`` makes the function the converter of that class."""

    def add(fn: Converter) -> Converter:
        for key in keys:
            REGISTRY[key] = fn
        return fn

    return add


def converter_for(layer: Any) -> Converter:
    """The converter of ``layer``'s class (or of its nearest registered base class).

    Example:
        >>> import minicnn as mc
        >>> from minicnn.export.converters import converter_for
        >>> converter_for(mc.layers.MaxPool2D()).__name__
        'pooling'
    """
    for cls in type(layer).__mro__:
        if cls in REGISTRY:
            return REGISTRY[cls]
        if cls.__name__ in REGISTRY:
            return REGISTRY[cls.__name__]
        if cls is Layer:
            break
    supported = sorted(k if isinstance(k, str) else k.__name__ for k in REGISTRY)
    raise ExportError(f"Cannot export layer '{getattr(layer, 'name', '?')}' of class "
                      f"{type(layer).__name__}: no ONNX converter for it. Layers that export: "
                      f"{', '.join(supported)}.")


def spatial_pads(ctx: OnnxBuilder, layer: Any, x: str, window: tuple[int, int],
                 strides: tuple[int, int], padding: str) -> list[int]:
    """ONNX ``pads`` [top, left, bottom, right] for TensorFlow's "valid"/"same" rule."""
    _, H, W, _ = ctx.shape(x)
    if H is None or W is None:
        raise ExportError(f"Cannot export {layer_label(layer)}: its input's height and width "
                          f"must be fixed. Received: input shape {ctx.shape(x)}")
    before, after = [], []
    for size, k, s in zip((H, W), window, strides):
        out, pad = output_size_and_padding(size, k, s, padding)
        total = max((out - 1) * s + k - size, 0)
        before.append(pad)
        after.append(total - pad)
    return before + after


@register(Conv2D)
def conv2d(ctx: OnnxBuilder, layer: Conv2D, inputs: list[str]) -> tuple[str, str]:
    """Conv (+ bias) in NCHW, then the activation."""
    x = ctx.get(inputs[0], NCHW)
    w = ctx.weight(f"{layer.name}/kernel", layer.kernel.data.transpose(3, 2, 0, 1))
    args = [x, w] + ([ctx.weight(f"{layer.name}/bias", layer.bias.data)] if layer.use_bias else [])
    y = ctx.node("Conv", args, ctx.before_activation(layer, layer.activation),
                 kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
                 pads=spatial_pads(ctx, layer, x, layer.kernel_size, layer.strides, layer.padding))
    ctx.tensor(y, layer.output_shape, NCHW)
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
    ctx.tensor(y, layer.output_shape, NHWC)
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
