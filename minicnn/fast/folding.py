"""Inference: a BatchNormalization folded into the convolution before it, and a ReLU after it.

At inference BatchNormalization is one affine map per channel,
``y = (z - mean) * s + beta`` with ``s = gamma / sqrt(variance + epsilon)``. When ``z`` is a
convolution's output (Conv2D, DepthwiseConv2D, or SeparableConv2D's pointwise half) and that
convolution has no activation of its own, scaling each output channel of its kernel by ``s``
and taking ``(bias - mean) * s + beta`` as its bias gives ``y`` from the convolution alone:
one pass over the activations instead of two. A ReLU right after the BatchNormalization
(``Activation("relu")`` or ``ReLU()`` with its defaults) joins the convolution's own
bias + ReLU pass, a third pass saved. This is what onnxruntime does to the same graph.

The graph runner (``minicnn.models.graph.GraphPlan``) offers each chain conv -> BN [-> ReLU]
whose intermediate values nobody else reads; it runs folded only with no gradient recorded
and the BatchNormalization in inference mode (``predict``, ``evaluate``, ``model(x)``), where
the numbers are the unfolded ones up to float32 rounding (the tests compare them).
``MINICNN_FOLD=0`` (``minicnn.fast.routes.FOLD``) runs every layer on its own.

The folded weights are kept while the source weights stay equal (compared on each call, as
``winograd.cached_transform`` does), so a model that trains between predictions is refolded.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

from minicnn import activations
from minicnn.fast import routes
from minicnn.layers.activation_layers import ReLU
from minicnn.layers.conv import Conv2D
from minicnn.layers.core import Activation
from minicnn.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from minicnn.layers.normalization import BatchNormalization
from minicnn.ops.conv import conv2d
from minicnn.ops.depthwise import depthwise_conv2d, separable_conv2d
from minicnn.ops.dilated import dilated_conv2d
from minicnn.tensor import Tensor

# bn layer -> (source arrays copied when folded, folded arrays)
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _conv_kernel(conv):
    """The kernel whose output channels BatchNormalization scales (the last axis; for a
    DepthwiseConv2D the last two, channel c*M + m)."""
    if isinstance(conv, SeparableConv2D):
        return conv.pointwise_kernel
    if _is_depthwise(conv):
        return conv.depthwise_kernel
    return conv.kernel


def foldable(conv, bn) -> bool:
    """Whether ``bn(conv(x))`` can run as one convolution at inference: a Conv2D,
    DepthwiseConv2D or SeparableConv2D with no activation, then a channels-last
    BatchNormalization over its output.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.fast.folding import foldable
        >>> foldable(mc.layers.Conv2D(8, 3, use_bias=False), mc.layers.BatchNormalization())
        True
        >>> foldable(mc.layers.Conv2D(8, 3, activation="relu"), mc.layers.BatchNormalization())
        False
    """
    return (type(conv) in (Conv2D, DepthwiseConv2D, SeparableConv2D)
            and conv.activation is activations.linear
            and type(bn) is BatchNormalization and bn.axis in (-1, 3))


def is_plain_relu(layer) -> bool:
    """Whether ``layer`` is exactly ``max(x, 0)``: ``Activation("relu")`` or a default ``ReLU()``.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.fast.folding import is_plain_relu
        >>> is_plain_relu(mc.layers.Activation("relu")), is_plain_relu(mc.layers.ReLU(6.0))
        (True, False)
    """
    if type(layer) is Activation:
        return layer.activation is activations.relu
    return (type(layer) is ReLU and layer.max_value is None and layer.negative_slope == 0
            and layer.threshold == 0)


def takes_relu_input(conv) -> bool:
    """Whether a plain ReLU right before ``conv``'s folded chain is better run inside it: a
    SeparableConv2D's depthwise kernel reads its input through the ReLU (the residual blocks'
    ReLU -> SeparableConv2D -> BatchNormalization), so the ReLU's output is never written.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.fast.folding import takes_relu_input
        >>> sep, conv = mc.layers.SeparableConv2D(8, 3), mc.layers.Conv2D(8, 3)
        >>> takes_relu_input(sep), takes_relu_input(conv)
        (True, False)
    """
    return _is_separable(conv)


def folded_weights(conv, bn) -> tuple[np.ndarray, np.ndarray]:
    """(the kernel with BatchNormalization's scale in it, the folded bias), in the kernel's
    dtype; computed in float64 and kept while the source weights stay equal.

    Shape: kernel (..., F) with F the normalised channels -> (..., F), bias (F,)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.fast.folding import folded_weights
        >>> conv, bn = mc.layers.Conv2D(2, 1, use_bias=False), mc.layers.BatchNormalization()
        >>> _ = bn(conv(mc.Tensor(np.ones((1, 3, 3, 1), np.float32))))
        >>> bn.moving_variance.data[:] = 4.0 - bn.epsilon; bn.moving_mean.data[:] = 1.0
        >>> k, b = folded_weights(conv, bn)
        >>> bool(np.allclose(k, conv.kernel.data / 2)), b  # scale 1 / sqrt(4): halved
        (True, array([-0.5, -0.5], dtype=float32))
    """
    kernel = _conv_kernel(conv).data
    parts = [kernel, conv.bias, bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance]
    sources = [p.data if isinstance(p, Tensor) else p for p in parts]
    with _cache_lock:
        kept = _cache.get(bn)
    if kept is not None and kept[0] is conv and _unchanged(kept[1], sources):
        return kept[2]
    _, bias, gamma, beta, mean, var = (None if s is None else s.astype(np.float64)
                                       for s in sources)
    scale = 1.0 / np.sqrt(var + bn.epsilon)
    if gamma is not None:
        scale = scale * gamma
    shift = -mean * scale if bias is None else (bias - mean) * scale
    if beta is not None:
        shift = shift + beta
    if _is_depthwise(conv):  # (KH, KW, C, M): output channel c*M + m
        k = kernel.astype(np.float64) * scale.reshape(kernel.shape[-2:])
    else:
        k = kernel.astype(np.float64) * scale  # broadcast over the last (output) axis
    folded = (k.astype(kernel.dtype), shift.astype(kernel.dtype))
    copies = [None if s is None else s.copy() for s in sources]
    with _cache_lock:
        _cache[bn] = (conv, copies, folded)
    return folded


def _unchanged(copies: list, sources: list) -> bool:
    """Whether every source array still equals its copy (None where both are None). A direct
    ``(a != b).any()``: ``np.array_equal``'s checks cost more than the comparison for these
    small arrays, and a model predicts through a dozen chains per call."""
    for a, b in zip(copies, sources):
        if a is None or b is None:
            if a is not b:
                return False
        elif a.shape != b.shape or (a != b).any():
            return False
    return True


def _is_separable(conv) -> bool:
    return isinstance(conv, SeparableConv2D)


def _is_depthwise(conv) -> bool:
    return isinstance(conv, DepthwiseConv2D)


def run_folded(conv, bn, relu: bool, x: Tensor, relu_input: bool = False) -> Tensor | None:
    """``bn(conv(x))`` (then ReLU if ``relu``) as one convolution with folded weights, or None
    where folding does not apply (the route table's ``conv+batch_norm`` row: inference, the
    kernel in float32, folding on). The caller has checked ``foldable(conv, bn)`` and that the
    BatchNormalization runs in inference mode. ``relu_input``: of ``x.relu()`` (a ReLU layer
    before the convolution; a SeparableConv2D reads x through it, see ``takes_relu_input``).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.fast.folding import run_folded
        >>> mc.set_seed(0)
        >>> conv, bn = mc.layers.Conv2D(4, 3, use_bias=False), mc.layers.BatchNormalization()
        >>> x = mc.Tensor(np.random.default_rng(0).random((2, 8, 8, 3), np.float32))
        >>> apart = bn(conv(x), training=False).relu()
        >>> with mc.no_grad():
        ...     folded = run_folded(conv, bn, True, x)
        >>> bool(np.allclose(folded.data, apart.data, atol=1e-6))
        True
    """
    kernel = _conv_kernel(conv)
    facts = dict(x=x, w=kernel, b=conv.bias, strides=(1, 1), padding="valid")
    if routes.route_for("conv+batch_norm", facts) is None:
        return None
    k, b = folded_weights(conv, bn)
    k, b, act = Tensor(k), Tensor(b), ("relu" if relu else "linear")
    if _is_separable(conv):
        return separable_conv2d(x, conv.depthwise_kernel, k, b, conv.strides, conv.padding,
                                conv.dilation_rate, act, who=conv._who(),
                                relu_input=relu_input)
    if relu_input:
        x = x.relu()
    if _is_depthwise(conv):
        y = depthwise_conv2d(x, k, b, conv.strides, conv.padding, conv.dilation_rate,
                             who=conv._who())
        return y.relu() if relu else y
    who = f"Conv2D '{conv.name}'"
    if conv.dilation_rate != (1, 1) or conv.groups != 1:
        y = dilated_conv2d(x, k, b, conv.strides, conv.padding, conv.dilation_rate,
                           conv.groups, who=who)
        return y.relu() if relu else y
    return conv2d(x, k, b, conv.strides, conv.padding, act, who=who)
