"""Conv2D(relu) followed by MaxPooling2D as one operation, chunk by chunk in cache.

The model's layer loop (``minicnn.models.fusion.run_layers``) offers each pair of layers to
``fuse_pair``; a pair fuses when the convolution's activation is ReLU, the max pooling's
windows tile its output (strides equal to the pool size, padding "valid"), which is how the
cat-dog network and most Keras CNNs pool, and the route table's ``conv2d+max_pool2d`` row
applies (``minicnn.fast.routes``; ``MINICNN_FUSE=0`` switches it off).

Run as two layers, a convolution writes its whole output to memory (at 128 px, batch 32, the
first cat-dog convolution's is 65 MB), max pooling reads it back, and in backward the pooling
writes a gradient of the same size that the convolution reads again together with its output
(for the ReLU's mask). Fused, each chunk of images (``minicnn.fast.chunks``) computes its
convolution into a buffer that stays in cache, pools it there, and keeps only the pooled
values and where each maximum was (at inference, with no backward to come, the values only).
Backward rebuilds each chunk's gradient at the convolution's output from the pooled gradient,
in cache, and goes on as the convolution's own chunked backward (kernel, bias and input
gradients).

The numbers are the same as the two layers': ReLU before a max is the same as after it, the
same first maximum of each window gets the gradient, and the ReLU's mask at that position is
whether the pooled value is positive (a window whose maximum is 0 passes no gradient either
way).
"""

from __future__ import annotations

import numpy as np

from minicnn import activations, profiler
from minicnn.fast import chunks, routes
from minicnn.fast.conv import FastConv2DFn, mask_and_partial_sums
from minicnn.kernels import jit as K
from minicnn.ops.conv import check_conv_args, conv2d, max_pool2d
from minicnn.tensor import Tensor, is_grad_enabled


class Conv2DReluMaxPoolFn(FastConv2DFn):
    """``max_pool2d(conv2d(x, w, b, activation="relu"))`` for pools that tile the output.

    Called as ``Conv2DReluMaxPoolFn.apply(x, w[, b], strides=, padding=, pool_size=, method=,
    who=)`` with ``method`` the chunks' way to convolve ("winograd", "planar" or "im2col", as
    the conv2d route would pick); use ``conv2d_relu_max_pool``, which takes this route only
    where it applies.

    Shape: x (N, H, W, C), w (KH, KW, C, F), b (F,) -> (N, OH // PH, OW // PW, F)
    """

    chunked = True

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", pool_size=(2, 2),
                method="im2col", who="conv2d"):
        self.method = method
        x = self._setup(x, w, strides, padding, "relu", who)
        N, F = x.shape[0], w.shape[3]
        OH, OW = self.geom[6:]
        PH, PW = self.pool_size = pool_size
        P, item_bytes = self._chunk_geometry()
        w2 = w.reshape(-1, F)
        y = np.empty((N, OH // PH, OW // PW, F), dtype=x.dtype)
        # no backward to come (inference): the pooling kernel writes the maxima only
        inference = not (is_grad_enabled() and any(self.needs_input_grad))
        argmax = None if inference else np.empty(y.shape, dtype=np.int32)

        def work(n0, n1):  # the chunk's convolution lives only in `conv`, in cache
            conv = np.empty(((n1 - n0) * P, F), dtype=x.dtype)
            self._chunk_forward(x[n0:n1], w2, b, conv)
            K.max_pool_forward(conv.reshape(n1 - n0, OH, OW, F), PH, PW, PH, PW, 0, 0,
                               y[n0:n1], None if argmax is None else argmax[n0:n1])

        if chunks.run_chunks(work, N, item_bytes) is None:
            work(0, N)  # BLAS refused the hold: the batch as one chunk
        self.y_pool, self.argmax = y, argmax
        if self.needs_input_grad[1]:
            self.x = x  # the chunks rebuild their columns in backward
        return y

    def backward(self, gy):
        OH, OW = self.geom[6:]
        PH, PW = self.pool_size
        F = self.w.shape[3]
        gy = np.ascontiguousarray(gy)
        pooled = gy.shape[1] * gy.shape[2]  # pooled positions per image
        gy2, y2 = gy.reshape(-1, F), self.y_pool.reshape(-1, F)
        want_gb = len(self.needs_input_grad) == 3 and self.needs_input_grad[2]

        def chunk_grad(n0, n1):
            # the ReLU's mask at each window's maximum is the pooled value's sign, so mask at the
            # pooled size (4x fewer values), then send each value to its window's maximum
            rows = slice(n0 * pooled, n1 * pooled)
            g_pool, part = mask_and_partial_sums(gy2[rows], y2[rows], want_gb, 1, serial=True)
            g = np.empty((n1 - n0, OH, OW, F), dtype=gy.dtype)
            K.max_pool_backward_tiled(g_pool.reshape(gy[n0:n1].shape),
                                             self.argmax[n0:n1], PH, PW, g)
            return g.reshape(-1, F), part

        gx, gw, gb = self._backward_chunks(chunk_grad, want_gb)
        return (gx, gw, gb) if len(self.needs_input_grad) == 3 else (gx, gw)


class RowsConv2DReluMaxPoolFn(FastConv2DFn):
    """Inference on one image: ``Conv2DReluMaxPoolFn``'s numbers, the pooled rows in bands
    over the cores (``chunks.run_bands``); each band's convolution (its pooled rows times the
    pool height) lives only in a buffer in cache. No backward: the route applies only where
    no gradient is recorded.

    Shape: x (1, H, W, C), w (KH, KW, C, F), b (F,) -> (1, OH // PH, OW // PW, F)
    """

    rows = True

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", pool_size=(2, 2),
                method="im2col", who="conv2d"):
        self.method = method
        x = self._setup(x, w, strides, padding, "relu", who)
        OH, OW, F = self.geom[6], self.geom[7], w.shape[3]
        PH, PW = pool_size
        y = np.empty((1, OH // PH, OW // PW, F), dtype=x.dtype)
        w2 = w.reshape(-1, F)

        def work(p0, p1):
            conv = np.empty((1, (p1 - p0) * PH, OW, F), dtype=x.dtype)
            self._band_forward(x, w2, b, p0 * PH, p1 * PH, conv)
            K.max_pool_forward(conv, PH, PW, PH, PW, 0, 0, y[:, p0:p1], None)  # maxima only

        if chunks.run_bands(work, OH // PH) is None:
            work(0, OH // PH)  # BLAS refused the hold: the image as one band
        return y


def conv2d_relu_max_pool(
    x: Tensor,
    w: Tensor,
    b: Tensor | None = None,
    strides: tuple[int, int] = (1, 1),
    padding: str = "valid",
    pool_size: tuple[int, int] = (2, 2),
    who: str = "conv2d",
    pool_who: str = "max_pool2d",
) -> Tensor:
    """``max_pool2d(conv2d(x, w, b, strides, padding, "relu"), pool_size)``, fused where it pays.

    The pool's strides are its size and it has no padding (the windows tile the convolution's
    output; a last row or column they do not reach is dropped, as ``max_pool2d`` does). Where
    the route table's ``conv2d+max_pool2d`` row applies, the fused route
    (``Conv2DReluMaxPoolFn``); elsewhere (one image, float64, small) the two ops one after the
    other, each on its own route.

    Shape: x (N, H, W, C), w (KH, KW, C, F), b (F,) -> (N, OH // PH, OW // PW, F)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.fast.fused import conv2d_relu_max_pool
        >>> x = mc.Tensor(np.random.default_rng(0).random((8, 40, 40, 3), np.float32))
        >>> w = mc.Tensor(np.random.default_rng(1).standard_normal((3, 3, 3, 8), np.float32),
        ...               requires_grad=True)
        >>> fused = conv2d_relu_max_pool(x, w)
        >>> apart = mc.ops.conv.max_pool2d(mc.ops.conv.conv2d(x, w, activation="relu"))
        >>> fused.shape, bool(np.array_equal(fused.data, apart.data))
        ((8, 19, 19, 8), True)
    """
    check_conv_args(x, w, "relu", who)
    facts = dict(x=x, w=w, b=b, strides=tuple(strides), padding=padding, activation="relu",
                 pool_size=tuple(pool_size))
    row = routes.route_for("conv2d+max_pool2d", facts)
    if row is None:
        y = conv2d(x, w, b, strides, padding, "relu", who=who)
        return max_pool2d(y, pool_size, pool_size, "valid", who=pool_who)
    conv_fn, _ = routes.choose("conv2d", facts)
    profiler.count_route("conv2d+max_pool2d", row.name)
    args = (x, w) if b is None else (x, w, b)
    return routes.function_of(row).apply(*args, strides=tuple(strides), padding=padding,
                                     pool_size=tuple(pool_size), method=conv_fn.method, who=who)


def fusable(conv, pool) -> bool:
    """Whether ``pool(conv(x))`` is a Conv2D(relu) + tiling MaxPooling2D pair (layers).

    Example:
        >>> import minicnn as mc
        >>> from minicnn.fast.fused import fusable
        >>> fusable(mc.layers.Conv2D(8, 3, activation="relu"), mc.layers.MaxPooling2D(2))
        True
        >>> fusable(mc.layers.Conv2D(8, 3), mc.layers.MaxPooling2D(2))
        False
    """
    from minicnn.layers.conv import Conv2D
    from minicnn.layers.pooling import MaxPooling2D

    return (type(conv) is Conv2D and conv.activation is activations.relu
            and conv.dilation_rate == (1, 1) and conv.groups == 1
            and type(pool) is MaxPooling2D and pool.strides == pool.pool_size
            and pool.padding == "valid")


def fuse_pair(conv, pool, x: Tensor) -> Tensor | None:
    """``pool(conv(x))`` as one fused op when the pair is ``fusable`` and fusion is on
    (``routes.FUSE``); None to run the two layers one by one.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.fast.fused import fuse_pair
        >>> mc.set_seed(0)
        >>> conv, pool = mc.layers.Conv2D(4, 3, activation="relu"), mc.layers.MaxPooling2D(2)
        >>> fuse_pair(conv, pool, mc.Tensor(np.ones((2, 8, 8, 3), np.float32))).shape
        (2, 3, 3, 4)
    """
    if not (routes.FUSE and fusable(conv, pool)):
        return None
    conv.ensure_built((None,) + x.shape[1:])
    pool.ensure_built(conv.output_shape)
    return conv2d_relu_max_pool(
        x, conv.kernel, conv.bias, conv.strides, conv.padding, pool.pool_size,
        who=f"Conv2D '{conv.name}'", pool_who=f"MaxPooling2D '{pool.name}'",
    )
