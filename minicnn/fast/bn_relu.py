"""BatchNormalization followed by ReLU as one operation, in training and at inference.

Run as two layers, BatchNormalization writes its output, ReLU reads it and writes its own, and
in backward ReLU reads its output and the incoming gradient to write a masked gradient that
BatchNormalization's two backward passes read again. Fused, the forward pass applies the ReLU
as it writes (``scale_shift_relu``), and the backward kernels mask the gradient as they read it,
recomputing the ReLU's mask from the saved input (``x * scale + shift > 0``, the same float32
arithmetic as the forward pass, so the same mask): per pair, 13 passes over a tensor of the
activations' size become 8, and ReLU's output is never kept.

The graph runner (``minicnn.models.graph.GraphPlan.bn_relus``) offers each BatchNormalization
whose output only a plain ReLU (``Activation("relu")``, default ``ReLU()``) reads and is no
model output. The numbers are the two layers': the same statistics, moving-average update,
forward values and gradients (``tests/test_bn_relu.py`` compares them exactly).
The route table's ``batch_norm+relu`` row decides (``MINICNN_FUSE=0`` runs every layer on its
own, as for the conv + pool fusion).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from minicnn.fast import routes
from minicnn.fast.folding import is_plain_relu
from minicnn.kernels import normalization as NK
from minicnn.kernels.jit import kernel
from minicnn.layers.base import resolve_training
from minicnn.layers.normalization import BatchNormalization
from minicnn.ops import route
from minicnn.ops.normalization import BatchNormFn, _fast
from minicnn.tensor import Tensor


@kernel(size_arg=0)
def scale_shift_relu(x2, scale, shift, y2):
    """``y2 = max(x2 * scale + shift, 0)`` per column; NaN stays NaN (as ReLU's np.maximum).

    Shape: x2 (R, C), scale (C,), shift (C,) -> y2 (R, C), overwritten.

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.bn_relu import scale_shift_relu
        >>> y = np.empty((1, 2), np.float32)
        >>> scale_shift_relu(np.array([[1, -2]], np.float32), np.array([2, 3], np.float32),
        ...                  np.array([0.5, 1], np.float32), y)
        >>> y
        array([[2.5, 0. ]], dtype=float32)
    """
    R, C = x2.shape
    for r in prange(R):
        for c in range(C):
            v = x2[r, c] * scale[c] + shift[c]
            y2[r, c] = 0 if v <= 0 else v


@kernel(size_arg=0)
def grad_sums_relu(gy2, x2, scale, shift, mean, rstd, partial_gb, partial_gg):
    """``minicnn.kernels.normalization.grad_sums`` of the gradient masked by the ReLU
    (``gy2`` where ``x2 * scale + shift > 0``, times 0 elsewhere, as ReLU's backward).

    Shape: gy2 (R, C), x2 (R, C), scale, shift, mean, rstd (C,) -> partial_gb, partial_gg
    (CHUNKS, C), overwritten.
    """
    R, C = x2.shape
    P = partial_gb.shape[0]
    for p in prange(P):
        partial_gb[p] = 0.0
        partial_gg[p] = 0.0
        for r in range(p * R // P, (p + 1) * R // P):
            for c in range(C):
                on = x2[r, c] * scale[c] + shift[c] > 0
                g = gy2[r, c] * (np.float32(1.0) if on else np.float32(0.0))
                partial_gb[p, c] += g
                partial_gg[p, c] += g * (x2[r, c] - mean[c]) * rstd[c]


@kernel(size_arg=0)
def input_grad_relu(gy2, x2, scale, shift, mean, rstd, k, gb_mean, gg_mean, gx2):
    """``minicnn.kernels.normalization.input_grad`` of the gradient masked by the ReLU.

    Shape: gy2, x2 (R, C); scale, shift, mean, rstd, k, gb_mean, gg_mean (C,) -> gx2 (R, C).
    """
    R, C = x2.shape
    for r in prange(R):
        for c in range(C):
            on = x2[r, c] * scale[c] + shift[c] > 0
            g = gy2[r, c] * (np.float32(1.0) if on else np.float32(0.0))
            xhat = (x2[r, c] - mean[c]) * rstd[c]
            gx2[r, c] = k[c] * (g - gb_mean[c] - xhat * gg_mean[c])


class BatchNormReluFn(BatchNormFn):
    """``relu(batch_norm(x, ...))`` for float32 channels-last data (``BatchNormFn``'s
    arguments). Use ``batch_norm_relu``, which takes it only where it applies.

    Shape: x (..., C), gamma (C,), beta (C,) -> like x
    """

    def forward(self, x, gamma, beta, mean, var, epsilon, axis=-1, batch_stats=True):
        C = x.shape[-1]
        mean = np.asarray(mean, np.float32).reshape(1, C)
        rstd = np.float32(1.0) / np.sqrt(np.asarray(var, np.float32).reshape(1, C)
                                         + np.float32(epsilon))
        inv = rstd * gamma.reshape(1, C)
        shift = beta.reshape(1, C) - mean * inv  # BatchNormFn's arithmetic, in its order
        self.x, self.mean, self.rstd, self.gamma = x, mean, rstd, gamma.reshape(1, C)
        self.inv, self.shift, self.batch_stats = inv.ravel(), shift.ravel(), batch_stats
        y = np.empty_like(x)
        route.kernel(scale_shift_relu)(x.reshape(-1, C), self.inv, self.shift,
                                       y.reshape(-1, C))
        return y

    def backward(self, gy):
        C = self.x.shape[-1]
        x2, gy2 = self.x.reshape(-1, C), np.ascontiguousarray(gy).reshape(-1, C)
        mean, rstd = self.mean.ravel(), self.rstd.ravel()
        sums_gb, sums_gg = NK.partial_sums_buffer(C), NK.partial_sums_buffer(C)
        route.kernel(grad_sums_relu)(gy2, x2, self.inv, self.shift, mean, rstd, sums_gb,
                                     sums_gg)
        gbeta, ggamma = sums_gb.sum(axis=0), sums_gg.sum(axis=0)
        gx = None
        if self.needs_input_grad[0]:
            k = (self.gamma.ravel() * rstd).astype(np.float32)
            if self.batch_stats:
                gb_mean, gg_mean = gbeta / len(x2), ggamma / len(x2)
            else:
                gb_mean = gg_mean = np.zeros(C)
            gx = np.empty_like(self.x)
            route.kernel(input_grad_relu)(gy2, x2, self.inv, self.shift, mean, rstd, k,
                                          gb_mean.astype(np.float32),
                                          gg_mean.astype(np.float32), gx.reshape(-1, C))
        return gx, ggamma.astype(np.float32), gbeta.astype(np.float32)


def fusable(bn, relu) -> bool:
    """Whether ``relu(bn(x))`` is a channels-last BatchNormalization and a plain ReLU.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.fast.bn_relu import fusable
        >>> fusable(mc.layers.BatchNormalization(), mc.layers.Activation("relu"))
        True
        >>> fusable(mc.layers.BatchNormalization(), mc.layers.ReLU(max_value=6.0))
        False
    """
    return type(bn) is BatchNormalization and bn.axis in (-1, 3) and is_plain_relu(relu)


def run_bn_relu(bn, x: Tensor, training) -> Tensor | None:
    """``relu(bn(x, training))`` as one op, or None to run the two layers (fusion off, or the
    data not float32 channels-last contiguous). ``training`` as the graph runner has it (None:
    the layer's default, inference). The caller has checked ``fusable``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.fast.bn_relu import run_bn_relu
        >>> bn = mc.layers.BatchNormalization()
        >>> x = mc.Tensor(np.random.default_rng(0).normal(size=(4, 3, 3, 2)).astype(np.float32))
        >>> apart = bn(x, training=False).relu()
        >>> bool(np.array_equal(run_bn_relu(bn, x, False).data, apart.data))
        True
    """
    bn.ensure_built((None,) + x.shape[1:])
    if (routes.route_for("batch_norm+relu", dict(x=x)) is None or not _fast(x.data, bn.axis)
            or bn.moving_mean.dtype != np.float32):
        return None
    gamma, beta, mean, var, eps, axis, batch_stats = bn.normalisation_args(
        x, resolve_training(training, False))
    return BatchNormReluFn.apply(x, gamma, beta, mean=mean, var=var, epsilon=float(eps),
                                 axis=axis, batch_stats=batch_stats)
