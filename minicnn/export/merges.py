"""ONNX converters of the merge layers of functional models, registered by class name: Add,
Subtract, Multiply, Average, Maximum, Minimum (elementwise) and Concatenate.

Inputs of one rank are read in one layout (the first input's), so a merge of two convolution
branches stays NCHW, and Concatenate's Keras axis is mapped into that layout (the channels,
-1 in NHWC, are axis 1 in NCHW). Keras broadcasts an input of lower rank by inserting size-1
axes right after the batch axis, not before it as ONNX (and NumPy) do, so such inputs are read in
Keras's order and unsqueezed there first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minicnn.export.builder import NHWC, OnnxBuilder
from minicnn.export.registry import register

#: Keras merge class -> ONNX op (Sum, Mean, Max, Min take any number of inputs; Mul is chained).
_ELEMENTWISE = {"Add": "Sum", "Subtract": "Sub", "Multiply": "Mul", "Average": "Mean",
                "Maximum": "Max", "Minimum": "Min"}


def same_layout(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[list[str], str]:
    """The inputs in one layout and equal rank (Keras's broadcasting), and that layout."""
    ranks = [len(ctx.shape(x)) for x in inputs]
    if len(set(ranks)) == 1:
        layout = ctx.layout(inputs[0])
        return [ctx.get(x, layout) for x in inputs], layout
    rank, out = max(ranks), []
    for x, r in zip(inputs, ranks):
        x = ctx.get(x, NHWC)
        if r < rank:  # (N, ...) -> (N, 1, ..., 1, ...): Keras's expand_dims(x, 1)
            axes = ctx.weight(f"{layer.name}/axes", np.arange(1, rank - r + 1, dtype=np.int64))
            x = ctx.node("Unsqueeze", [x, axes], f"{layer.name}/expanded")
        out.append(x)
    return out, NHWC


@register(*_ELEMENTWISE)
def elementwise(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Sum / Sub / Mul / Mean / Max / Min over the inputs (two-input ops chained)."""
    xs, layout = same_layout(ctx, layer, inputs)
    op = next(_ELEMENTWISE[c.__name__] for c in type(layer).__mro__ if c.__name__ in _ELEMENTWISE)
    if op == "Mul":
        y = xs[0]
        for i, x in enumerate(xs[1:], 1):
            y = ctx.node("Mul", [y, x], layer.name if i == len(xs) - 1 else f"{layer.name}/{i}")
        return y, layout
    return ctx.node(op, xs, layer.name), layout


@register("Concatenate")
def concatenate(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Concat along Keras's axis, mapped into the inputs' layout."""
    xs, layout = same_layout(ctx, layer, inputs)
    return ctx.node("Concat", xs, layer.name, axis=ctx.keras_axis(xs[0], layer.axis)), layout
