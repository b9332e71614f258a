"""The converter registry: layer class (or class name) -> function that writes its ONNX nodes.

A converter is ``convert(ctx, layer, inputs) -> (output name, layout)``: it reads its input
tensors (ONNX names, one per input of the call) through the ``OnnxBuilder`` ``ctx`` in the layout
it wants, emits nodes and weights, and says in which layout (``NHWC`` or ``NCHW``) it wrote the
output; ``ctx.out_shape`` is the call's output shape in Keras's order. Adding a layer is one
``@register(TheLayer)`` function (or ``@register("TheLayer")`` for a class defined where the
exporter cannot import it). A layer whose class (and every base class up to ``Layer``) has none
raises ``ExportError`` naming the layer and its class.

Converters live in ``converters.py`` (the core layers), ``blocks.py`` (normalisation,
depthwise/separable convolutions, global pooling, padding, reshaping, ReLU variants) and
``merges.py`` (Add, Concatenate...) and ``preprocessing.py`` (Resizing, CenterCrop).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from minicnn.export.errors import ExportError

Converter = Callable[..., tuple[str, str]]

#: layer class, or class name, -> converter.
REGISTRY: dict[type | str, Converter] = {}


def register(*keys: type | str) -> Callable[[Converter], Converter]:
    """Decorator: ``@register(Conv2D)`` makes the function the converter of that class."""

    def add(fn: Converter) -> Converter:
        for key in keys:
            REGISTRY[key] = fn
        return fn

    return add


def _load_converters() -> None:
    from minicnn.export import blocks, converters, merges, preprocessing  # noqa: F401


def find_converter(cls: type) -> Converter | None:
    """The converter of ``cls`` or of its nearest base class that has one (None if none).

    Example:
        >>> import minicnn as mc
        >>> from minicnn.export.registry import find_converter
        >>> find_converter(mc.layers.MaxPool2D).__name__
        'pooling'
    """
    _load_converters()
    for base in cls.__mro__:
        if base in REGISTRY:
            return REGISTRY[base]
        if base.__name__ in REGISTRY:
            return REGISTRY[base.__name__]
        if base.__name__ == "Layer":
            break
    return None


def converter_for(layer: Any) -> Converter:
    """``find_converter`` for ``layer``'s class, or an ExportError naming the layer and class."""
    convert = find_converter(type(layer))
    if convert is None:
        supported = sorted(k if isinstance(k, str) else k.__name__ for k in REGISTRY)
        raise ExportError(f"Cannot export layer '{getattr(layer, 'name', '?')}' of class "
                          f"{type(layer).__name__}: no ONNX converter for it. Layers that "
                          f"export: {', '.join(supported)}.")
    return convert
