"""The second benchmark network: keras.io's "image classification from scratch" mini-Xception.

Entry: Rescaling(1/255), Conv2D(stride 2) + BatchNormalization + ReLU. Then, per width, a block
[ReLU, SeparableConv2D, BN] x 2 + MaxPooling2D(3, strides 2, 'same'), joined by ``add`` to a
strided 1x1 Conv2D of the block's input (the residual). Exit: SeparableConv2D + BN + ReLU,
GlobalAveragePooling2D, Dropout(0.25), Dense. The tutorial's widths are (128, 256, 512, 728,
1024); the smoke test runs narrower ones.

Built once, in minicnn; the Keras child converts it with ``minicnn.keras_compat.to_keras``, so
both frameworks train the same network (same layers, names, shapes and initial weights).
"""

from __future__ import annotations

#: stem filters, the residual blocks' filters, the exit SeparableConv2D's filters (keras.io's).
WIDTHS: tuple[int, ...] = (128, 256, 512, 728, 1024)
DROPOUT = 0.25


def parse_widths(text: str) -> tuple[int, ...]:
    """``"128,256,512,728,1024"`` -> the tuple; at least a stem, one block and the exit."""
    try:
        widths = tuple(int(w) for w in str(text).split(",") if w.strip())
    except ValueError:
        widths = ()
    if len(widths) < 3 or min(widths) < 1:
        raise ValueError("widths must be at least three positive integers (stem, one or more "
                         f"blocks, exit), comma-separated. Received: widths={text!r}")
    return widths


def build(size: int, widths: tuple[int, ...] = WIDTHS, seed: int = 0):
    """The mini-Xception as a ``minicnn.Model`` for ``size`` x ``size`` RGB images, one logit
    (binary classification, as the tutorial's cats vs dogs)."""
    import minicnn as mc

    L = mc.layers
    mc.set_seed(seed)
    stem, *blocks, exit_width = widths
    inputs = mc.Input((size, size, 3), name="image")
    x = L.Rescaling(1.0 / 255, name="rescaling")(inputs)
    x = L.Conv2D(stem, 3, strides=2, padding="same", name="stem_conv")(x)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.Activation("relu", name="stem_relu")(x)
    previous = x
    for i, width in enumerate(blocks):
        for j in (1, 2):
            x = L.Activation("relu", name=f"block{i}_relu{j}")(x)
            x = L.SeparableConv2D(width, 3, padding="same", name=f"block{i}_sepconv{j}")(x)
            x = L.BatchNormalization(name=f"block{i}_bn{j}")(x)
        x = L.MaxPooling2D(3, strides=2, padding="same", name=f"block{i}_pool")(x)
        residual = L.Conv2D(width, 1, strides=2, padding="same",
                            name=f"block{i}_residual")(previous)
        x = L.add([x, residual], name=f"block{i}_add")
        previous = x
    x = L.SeparableConv2D(exit_width, 3, padding="same", name="exit_sepconv")(x)
    x = L.BatchNormalization(name="exit_bn")(x)
    x = L.Activation("relu", name="exit_relu")(x)
    x = L.GlobalAveragePooling2D(name="avg_pool")(x)
    x = L.Dropout(DROPOUT, name="dropout")(x)
    outputs = L.Dense(1, name="logit")(x)
    return mc.Model(inputs, outputs, name="mini_xception")
