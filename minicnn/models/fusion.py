"""Run a stack of layers in order, offering each pair to the fast path's conv + pool fusion.

``Sequential`` calls ``run_layers`` instead of calling each layer in turn. On the plain path
(``MINICNN_FAST=0``) it is exactly that loop. On the fast path each Conv2D(relu) +
MaxPooling2D pair whose pool tiles the convolution's output may run as one fused operation
(``minicnn.fast.fused``), with the same numbers as the two layers; it saves writing and
re-reading the convolution's full-size output and gradient (measured in benchmarks/README.md).
``MINICNN_FUSE=0`` runs every layer on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from minicnn.layers.base import Layer
from minicnn.ops import route
from minicnn.tensor import Tensor


def run_layers(layers: Sequence[Layer], x: Tensor, training: bool = False) -> Tensor:
    """``x`` through ``layers`` in order (fused pairs on the fast path, see the module notes).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models.fusion import run_layers
        >>> mc.set_seed(0)
        >>> stack = [mc.layers.Conv2D(4, 3, activation="relu"), mc.layers.MaxPooling2D(2)]
        >>> run_layers(stack, mc.Tensor(np.ones((2, 8, 8, 3), np.float32))).shape
        (2, 3, 3, 4)
    """
    fuse_pair = route.fast("fuse_pair")  # None on the plain path
    i = 0
    while i < len(layers):
        if fuse_pair is not None and i + 1 < len(layers):
            y = fuse_pair(layers[i], layers[i + 1], x)
            if y is not None:
                x, i = y, i + 2
                continue
        x = layers[i](x, training=training)
        i += 1
    return x


def fusable(conv: Layer, pool: Layer) -> bool:
    """Whether ``pool(conv(x))`` could run fused on the fast path (``minicnn.fast.fused``);
    always False on the plain path (``MINICNN_FAST=0``), which never imports ``minicnn.fast``.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.models.fusion import fusable
        >>> from minicnn.ops import route
        >>> pair = mc.layers.Conv2D(8, 3, activation="relu"), mc.layers.MaxPooling2D(2)
        >>> fusable(*pair) == route.FAST  # a fusable pair, fused on the fast path only
        True
    """
    if not route.FAST:
        return False
    from minicnn.fast.fused import fusable as fast_fusable

    return fast_fusable(conv, pool)
