"""Run a stack of layers, with Conv2D(relu) + MaxPooling2D pairs as one fused operation.

``Sequential`` calls ``run_layers`` instead of calling each layer in turn. A pair fuses when
the convolution's activation is ReLU and the max pooling's windows tile its output (strides
equal to the pool size, padding "valid"), which is how the cat-dog network and most Keras
CNNs pool. The fused operation (``minicnn.ops.fused``) gives the same numbers as the two
layers; it saves writing and re-reading the convolution's full-size output and gradient
(measured in benchmarks/README.md). ``MINICNN_FUSE=0`` runs every layer on its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from minicnn import activations
from minicnn.layers.base import Layer
from minicnn.layers.conv import Conv2D
from minicnn.layers.pooling import MaxPooling2D
from minicnn.ops.fused import conv2d_relu_max_pool
from minicnn.tensor import Tensor

_fuse_on = os.environ.get("MINICNN_FUSE", "1") not in ("0", "false", "False")


def fusable(conv: Layer, pool: Layer) -> bool:
    """Whether ``pool(conv(x))`` can run as one fused operation.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.models.fusion import fusable
        >>> fusable(mc.layers.Conv2D(8, 3, activation="relu"), mc.layers.MaxPooling2D(2))
        True
        >>> fusable(mc.layers.Conv2D(8, 3), mc.layers.MaxPooling2D(2))
        False
    """
    return (type(conv) is Conv2D and conv.activation is activations.relu
            and conv.dilation_rate == (1, 1) and conv.groups == 1
            and type(pool) is MaxPooling2D and pool.strides == pool.pool_size
            and pool.padding == "valid")


def run_layers(layers: Sequence[Layer], x: Tensor, training: bool = False) -> Tensor:
    """``x`` through ``layers`` in order, fusing the pairs that ``fusable`` accepts.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models.fusion import run_layers
        >>> mc.set_seed(0)
        >>> stack = [mc.layers.Conv2D(4, 3, activation="relu"), mc.layers.MaxPooling2D(2)]
        >>> run_layers(stack, mc.Tensor(np.ones((2, 8, 8, 3), np.float32))).shape
        (2, 3, 3, 4)
    """
    i = 0
    while i < len(layers):
        layer = layers[i]
        pool = layers[i + 1] if i + 1 < len(layers) else None
        if _fuse_on and pool is not None and fusable(layer, pool):
            layer.ensure_built((None,) + x.shape[1:])
            pool.ensure_built(layer.output_shape)
            x = conv2d_relu_max_pool(
                x, layer.kernel, layer.bias, layer.strides, layer.padding, pool.pool_size,
                who=f"Conv2D '{layer.name}'", pool_who=f"MaxPooling2D '{pool.name}'",
            )
            i += 2
        else:
            x = layer(x, training=training)
            i += 1
    return x
