"""A residual cat-vs-dog network with batch normalisation and separable convolutions.

Needs the modern blocks (``BatchNormalization``, ``SeparableConv2D``,
``GlobalAveragePooling2D``) and functional models (``Model``, ``Add``); the layers are imported
when the network is built, so importing this module never fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Filters of the three residual blocks; each block halves the resolution.
BLOCK_FILTERS: tuple[int, ...] = (64, 128, 256)


def catdog_residual_network(
    input_shape: Sequence[int] = (128, 128, 3),
    block_filters: Sequence[int] = BLOCK_FILTERS,
    entry_filters: int = 32,
    head_filters: int = 384,
    dropout: float = 0.25,
    width: float = 1.0,
    rescale: float | None = 1 / 255,
    name: str = "catdog_residual",
) -> Any:
    """A residual network for cats vs dogs, trainable from scratch on 8000 photos on 2 cores.

    The shape of keras.io's "image classification from scratch" network (a small Xception),
    scaled down about 8x in width for 128x128 inputs, 8000 training images and 2 CPU cores:

    - ``Rescaling(1/255)``, so the model takes raw pixels like the original network;
    - entry: ``Conv2D(32, 3, strides=2, "same")`` + ``BatchNormalization`` + ReLU (128 -> 64 px);
    - three residual blocks of 64, 128 and 256 filters (64 -> 32 -> 16 -> 8 px), each
      ReLU -> ``SeparableConv2D(f, 3)`` -> BN -> ReLU -> ``SeparableConv2D(f, 3)`` -> BN ->
      ``MaxPooling2D(3, strides=2, "same")``, added to a shortcut ``Conv2D(f, 1, strides=2)`` of
      the block's input. The shortcut keeps a short path for the gradient (why residual networks
      train deep from scratch); the separable convolutions cost about 1/9 of plain 3x3 ones;
    - ``SeparableConv2D(384, 3)`` + BN + ReLU at 8x8 (the layer Grad-CAM explains by default:
      the last separable convolution, 8x8 maps),
    - ``GlobalAveragePooling2D``, ``Dropout(0.25)``, ``Dense(1, sigmoid)``.

    Convolutions followed by BatchNormalization have no bias (BN's beta takes its place).
    About 0.28 M parameters (the original network: 0.8 M), most of them in the pointwise
    halves of the separable convolutions.

    Train it with augmentation (``examples/catdog.py train --arch residual``); BatchNormalization
    keeps the early layers alive at a learning rate of 1e-3 without the original network's
    warm-up. It is returned uncompiled.

    Args:
        input_shape: (H, W, C) of one image; H and W divisible by 16 keep every map even.
        block_filters: filters of the residual blocks, one block each.
        entry_filters: filters of the entry convolution.
        head_filters: filters of the last separable convolution.
        dropout: dropout rate before the output unit.
        width: a multiplier on every filter count above (rounded to a multiple of 8), for a
            wider network without spelling out each count: ``width=1.5`` gives 48 / 96, 192,
            384 / 576 filters, about 2.2x the parameters and compute.
        rescale: the leading Rescaling's factor (None: no Rescaling layer).
        name: the model's name.

    Returns:
        A built functional ``minicnn.Model`` with one input and one sigmoid output.

    Shape:
        (N, H, W, C) raw pixels -> (N, 1) probability of "dog".

    Example:
        >>> from minicnn.models.residual import catdog_residual_network
        >>> model = catdog_residual_network((64, 64, 3))  # doctest: +SKIP
        >>> model.output_shape  # doctest: +SKIP
        (None, 1)
    """
    import minicnn.layers as L
    from minicnn.models import Model

    if not width > 0:
        raise ValueError(f"catdog_residual_network: width must be > 0, got {width!r}")
    entry_filters = scaled_filters(entry_filters, width)
    block_filters = [scaled_filters(f, width) for f in block_filters]
    head_filters = scaled_filters(head_filters, width)
    relu = "relu"
    inputs = L.Input(tuple(input_shape))
    x = L.Rescaling(rescale)(inputs) if rescale is not None else inputs
    x = L.Conv2D(entry_filters, 3, strides=2, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.Activation(relu)(x)
    previous = x  # the input of the next block, for its shortcut
    for filters in block_filters:
        x = L.Activation(relu)(x)
        x = L.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.Activation(relu)(x)
        x = L.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.MaxPooling2D(3, strides=2, padding="same")(x)
        shortcut = L.Conv2D(filters, 1, strides=2, padding="same")(previous)
        x = L.Add()([x, shortcut])
        previous = x
    x = L.SeparableConv2D(head_filters, 3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.Activation(relu)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(dropout)(x)
    outputs = L.Dense(1, activation="sigmoid")(x)
    return Model(inputs, outputs, name=name)


def scaled_filters(filters: int, width: float) -> int:
    """``filters * width`` rounded to a multiple of 8 (at least 8): SIMD-friendly channel counts."""
    return max(8, int(round(filters * width / 8)) * 8)
