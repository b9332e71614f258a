"""Inference: MaxPooling2D then Add, as one pass that writes ``maximum + other``.

keras.io's mini-Xception and minicnn's residual cat-dog network end each block with
``Add()([MaxPooling2D(3, 2, "same")(x), Conv2D(f, 1, strides=2)(block_input)])``. Run as two
layers, the pool writes its output, and the Add reads it back with the shortcut and writes a
third array. Here the pool's kernel (``kernels.jit.max_pool_forward``, no argmax) adds the
shortcut as it stores each maximum: one array written instead of two, one read fewer. The
numbers are the layers': the same maxima, then one float32 addition (``a + b`` equals
``b + a`` to the bit).

The graph runner (``minicnn.models.graph.GraphPlan.pool_adds``) offers each pool whose only
reader is a two-input Add, at inference (no gradient recorded, not training); it runs the
pool at the Add's step, once the other addend exists. ``MINICNN_FOLD=0`` turns this off with
the other inference-only rewrites (``minicnn.fast.folding``).
"""

from __future__ import annotations

from minicnn import profiler
from minicnn.fast import routes
from minicnn.layers.merge import Add
from minicnn.layers.pooling import MaxPooling2D
from minicnn.tensor import Tensor


def fusable(pool, add) -> bool:
    """Whether ``add([pool(x), other])`` may run as one pass at inference: a MaxPooling2D
    read only by an Add (the caller checks that, and that the Add has two inputs).

    Example:
        >>> import minicnn as mc
        >>> from minicnn.fast.pool_add import fusable
        >>> fusable(mc.layers.MaxPooling2D(3, 2, "same"), mc.layers.Add())
        True
        >>> fusable(mc.layers.AveragePooling2D(), mc.layers.Add())
        False
    """
    return type(pool) is MaxPooling2D and type(add) is Add  # (pooling is NHWC only)


def run_pool_add(pool, x: Tensor, other: Tensor) -> Tensor | None:
    """``pool(x) + other`` in one pass, or None where it does not apply (folding off, the
    addend not of the pool output's shape and dtype), the caller then running the two
    layers.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.fast.pool_add import run_pool_add
        >>> pool = mc.layers.MaxPooling2D(2)
        >>> x = mc.Tensor(np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1))
        >>> with mc.no_grad():
        ...     y = run_pool_add(pool, x, mc.Tensor(np.ones((1, 2, 2, 1), np.float32)))
        >>> y.data.ravel()
        array([ 6.,  8., 14., 16.], dtype=float32)
    """
    if not routes.FOLD or x.ndim != 4 or other.dtype != x.dtype:
        return None
    shape = pool.compute_output_shape(x.shape)
    if tuple(other.shape) != tuple(shape):
        return None
    options = dict(pool_size=tuple(pool.pool_size), strides=tuple(pool.strides),
                   padding=pool.padding)
    fn, name = routes.choose("max_pool2d", dict(x=x, **options))  # chunks or whole
    if fn is None:
        return None
    profiler.count_route("max_pool2d+add", name)
    return fn.apply(x, **options, who=f"MaxPooling2D '{pool.name}'", add=other.data)
