"""Converters of the preprocessing layers that act at inference: Resizing and CenterCrop.

Resizing is ONNX ``Resize`` with TensorFlow's sampling: bilinear with half-pixel centres
(``coordinate_transformation_mode="half_pixel"``; ONNX clamps source positions to the image as
``tf.image.resize`` does), nearest as TF's ``floor((i + 0.5) * in / out)``
(``"tf_half_pixel_for_nn"`` with ``nearest_mode="floor"``). The batch size is dynamic, so the
``sizes`` input is built at run time: ``Concat(Shape(x)[:1], [height, width, C])``. Crops are a
``Slice`` of fixed height and width. Both work in NHWC, the layers' own layout. (The random
augmentation layers, RandomCrop included, are identities at inference: ``converters.py``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minicnn.export.builder import NHWC, OnnxBuilder, layer_label
from minicnn.export.errors import ExportError
from minicnn.export.registry import register


def _fixed_size(ctx: OnnxBuilder, layer: Any, x: str) -> tuple[int, int, int]:
    _, H, W, C = ctx.shape(x)
    if H is None or W is None:
        raise ExportError(f"Cannot export {layer_label(layer)}: its input's height and width "
                          f"must be fixed. Received: input shape {ctx.shape(x)}")
    return H, W, C


def _crop(ctx: OnnxBuilder, x: str, top: int, left: int, height: int, width: int,
          output: str) -> str:
    """``x[:, top:top + height, left:left + width]`` (NHWC)."""
    starts = ctx.weight(f"{output}/starts", np.array([top, left], np.int64))
    ends = ctx.weight(f"{output}/ends", np.array([top + height, left + width], np.int64))
    axes = ctx.weight(f"{output}/axes", np.array([1, 2], np.int64))
    return ctx.node("Slice", [x, starts, ends, axes], output)


@register("Resizing")
def resizing(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """Resize (after a centred aspect-ratio Slice with ``crop_to_aspect_ratio``)."""
    from minicnn.layers.preprocessing import _aspect_crop_box

    x = ctx.get(inputs[0], NHWC)
    H, W, C = _fixed_size(ctx, layer, x)
    if layer.crop_to_aspect_ratio:
        top, left, ch, cw = _aspect_crop_box(H, W, layer.height, layer.width)
        x = _crop(ctx, x, top, left, ch, cw, f"{layer.name}/crop")
        ctx.tensor(x, (None, ch, cw, C), NHWC)
    batch = ctx.node("Slice", [ctx.node("Shape", [x], f"{layer.name}/shape"),
                               ctx.weight(f"{layer.name}/zero", np.array([0], np.int64)),
                               ctx.weight(f"{layer.name}/one", np.array([1], np.int64))],
                     f"{layer.name}/batch")
    rest = ctx.weight(f"{layer.name}/hwc", np.array([layer.height, layer.width, C], np.int64))
    sizes = ctx.node("Concat", [batch, rest], f"{layer.name}/sizes", axis=0)
    if layer.interpolation == "nearest":
        attrs = dict(mode="nearest", coordinate_transformation_mode="tf_half_pixel_for_nn",
                     nearest_mode="floor")
    else:
        attrs = dict(mode="linear", coordinate_transformation_mode="half_pixel")
    y = ctx.node("Resize", [x, "", "", sizes], layer.name, **attrs)
    return y, NHWC


@register("CenterCrop")
def center_crop(ctx: OnnxBuilder, layer: Any, inputs: list[str]) -> tuple[str, str]:
    """The centred (height, width) window; an image smaller than that is not exported."""
    x = ctx.get(inputs[0], NHWC)
    H, W, _ = _fixed_size(ctx, layer, x)
    if H < layer.height or W < layer.width:
        raise ExportError(f"Cannot export {layer_label(layer)}: its input ({H}x{W}) is smaller "
                          f"than the crop ({layer.height}x{layer.width}), which Keras answers "
                          "by resizing; export supports crops that fit the input.")
    top, left = (H - layer.height) // 2, (W - layer.width) // 2
    return _crop(ctx, x, top, left, layer.height, layer.width, layer.name), NHWC
