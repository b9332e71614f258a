"""Convolution and pooling as differentiable functions over NHWC arrays: the plain path.

Each op is one ``Function`` with its forward and backward side by side, moving data with the
numba kernels of ``minicnn.kernels.jit`` (each has a NumPy twin in ``kernels/reference.py``)
and multiplying with BLAS (numpy's matmul):

    conv2d      forward  cols = im2col(x);  y = cols @ w + b  (then ReLU if fused)
                backward gy masked by y > 0;  gb = sum(gy);  gw = cols.T @ gy;
                         gx = col2im(gy @ w.T)
    max_pool2d  forward  y, argmax = window maxima and where they are
                backward each window's gradient to its argmax
    avg_pool2d  forward  window means;  backward  each gradient spread over its window

The public functions (``conv2d``, ``max_pool2d``, ``avg_pool2d``) check their arguments and then
ask the fast path for a faster way to run this call (``minicnn.ops.route.pick``: chunks of images
on a thread pool, Winograd, ... see ``minicnn/fast/routes.py``). With ``MINICNN_FAST=0`` they
always run the Functions below, and ``minicnn.fast`` is never imported.
"""

from __future__ import annotations

import numpy as np

from minicnn.kernels import jit as K
from minicnn.kernels.geometry import fit_window
from minicnn.ops import route
from minicnn.tensor import Function, Tensor


class Conv2DFn(Function):
    """Convolution by im2col -> GEMM -> col2im, with the bias (and optionally a ReLU) added to
    the GEMM's output. Use ``conv2d``, which checks the arguments first.

    Shape: x (N, H, W, C), w (KH, KW, C, F), b (F,) -> (N, OH, OW, F)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.conv import Conv2DFn
        >>> x = mc.Tensor(np.ones((1, 3, 3, 1), int))
        >>> Conv2DFn.apply(x, mc.Tensor(np.ones((2, 2, 1, 1), int)), padding="valid").data[..., 0]
        array([[[4., 4.],
                [4., 4.]]], dtype=float32)
    """

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", activation="linear",
                who="conv2d"):
        KH, KW, C, F = w.shape
        SH, SW = strides
        OH, OW, PT, PL = fit_window(x.shape, (KH, KW), strides, padding, who)
        N = x.shape[0]
        cols = np.empty((N * OH * OW, KH * KW * C), dtype=x.dtype)
        K.im2col(np.ascontiguousarray(x), KH, KW, SH, SW, PT, PL, OH, OW, cols)
        y = cols @ w.reshape(KH * KW * C, F)  # (N*OH*OW, KH*KW*C) @ (KH*KW*C, F)
        if b is not None:
            y += b
        self.relu = activation == "relu"
        if self.relu:
            np.maximum(y, 0, out=y)
            self.y = y
        self.cols, self.w, self.x_shape = cols, w, x.shape
        self.geom = (KH, KW, SH, SW, PT, PL, OH, OW)
        return y.reshape(N, OH, OW, F)

    def backward(self, gy):
        F = self.w.shape[3]
        gy = gy.reshape(-1, F)  # (N*OH*OW, F)
        if self.relu:
            gy = np.where(self.y > 0, gy, 0).astype(gy.dtype, copy=False)
        gx = gw = gb = None
        if self.needs_input_grad[0]:
            gcols = gy @ self.w.reshape(-1, F).T  # (N*OH*OW, KH*KW*C)
            gx = np.empty(self.x_shape, dtype=gy.dtype)
            K.col2im(np.ascontiguousarray(gcols), *self.geom, gx)
        if self.needs_input_grad[1]:
            gw = (self.cols.T @ gy).reshape(self.w.shape)
        if len(self.needs_input_grad) == 3:
            gb = gy.sum(axis=0) if self.needs_input_grad[2] else None
            return gx, gw, gb
        return gx, gw


def check_conv_args(x, w, activation: str, who: str) -> None:
    """Raise ValueError unless x is 4-D, w fits its channels and the activation can be fused."""
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D NHWC input. Received: shape {x.shape}")
    if w.ndim != 4 or w.shape[2] != x.shape[3]:
        raise ValueError(
            f"{who}: kernel shape {w.shape} does not fit an input with {x.shape[3]} channels "
            "(expected (KH, KW, C, F))."
        )
    if activation not in ("linear", "relu"):
        raise ValueError(
            f"{who}: fused activation must be 'linear' or 'relu'. Received: {activation!r}"
        )


def conv2d(
    x: Tensor,
    w: Tensor,
    b: Tensor | None = None,
    strides: tuple[int, int] = (1, 1),
    padding: str = "valid",
    activation: str = "linear",
    who: str = "conv2d",
) -> Tensor:
    """2-D convolution (cross-correlation, as Keras) of NHWC ``x`` with an HWIO kernel.

    ``activation`` may be "linear" or "relu" (fused into the same pass as the bias).

    Shape: x (N, H, W, C), w (KH, KW, C, F), b (F,) -> (N, OH, OW, F) where
    "valid": OH = floor((H - KH) / SH) + 1;  "same": OH = ceil(H / SH)  (likewise OW).

    Args:
        x: the input images.  w: the kernel.  b: an optional bias.
        strides: (SH, SW).  padding: "valid" or "same" (TensorFlow's rule).
        who: the name used in error messages.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = mc.Tensor(np.arange(9).reshape(1, 3, 3, 1))
        >>> y = mc.ops.conv.conv2d(x, mc.Tensor(np.ones((2, 2, 1, 1), int)), padding="same")
        >>> y.shape, y.data[0, :, :, 0]
        ((1, 3, 3, 1), array([[ 8., 12.,  7.],
               [20., 24., 13.],
               [13., 15.,  8.]], dtype=float32))
    """
    check_conv_args(x, w, activation, who)
    strides = tuple(strides)
    fit_window(x.shape, w.shape[:2], strides, padding, who)
    args = (x, w) if b is None else (x, w, b)
    fn = route.pick("conv2d", Conv2DFn, x=x, w=w, b=b, strides=strides, padding=padding,
                    activation=activation)
    return fn.apply(*args, strides=strides, padding=padding, activation=activation, who=who)


class MaxPool2DFn(Function):
    """Max pooling over NHWC windows; backward sends each window's gradient to its first maximum
    (recorded as an argmax in the forward pass). Use ``max_pool2d``.

    Shape: (N, H, W, C) -> (N, OH, OW, C)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.conv import MaxPool2DFn
        >>> x = mc.Tensor(np.arange(4).reshape(1, 2, 2, 1))
        >>> MaxPool2DFn.apply(x, pool_size=(2, 2), strides=(2, 2)).data.ravel()
        array([3.], dtype=float32)
    """

    def forward(self, x, pool_size=(2, 2), strides=(2, 2), padding="valid", who="max_pool2d"):
        N, H, W, C = x.shape
        OH, OW, PT, PL = fit_window(x.shape, pool_size, strides, padding, who, kind="pool")
        y = np.empty((N, OH, OW, C), dtype=x.dtype)
        self.argmax = np.empty((N, OH, OW, C), dtype=np.int32)  # flat ih * W + iw
        K.max_pool_forward(np.ascontiguousarray(x), *pool_size, *strides, PT, PL, y, self.argmax)
        self.x_shape = x.shape
        return y

    def backward(self, gy):
        gx = np.empty(self.x_shape, dtype=gy.dtype)
        K.max_pool_backward(np.ascontiguousarray(gy), self.argmax, gx)
        return gx


class AvgPool2DFn(Function):
    """Average pooling over NHWC windows (padding excluded from each mean); backward spreads each
    window's gradient evenly over its in-bounds positions. Use ``avg_pool2d``.

    Shape: (N, H, W, C) -> (N, OH, OW, C)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.conv import AvgPool2DFn
        >>> x = mc.Tensor(np.arange(4).reshape(1, 2, 2, 1))
        >>> AvgPool2DFn.apply(x, pool_size=(2, 2), strides=(2, 2)).data.ravel()
        array([1.5], dtype=float32)
    """

    def forward(self, x, pool_size=(2, 2), strides=(2, 2), padding="valid", who="avg_pool2d"):
        N, H, W, C = x.shape
        OH, OW, PT, PL = fit_window(x.shape, pool_size, strides, padding, who, kind="pool")
        y = np.empty((N, OH, OW, C), dtype=x.dtype)
        self.geom = (*pool_size, *strides, PT, PL)
        K.avg_pool_forward(np.ascontiguousarray(x), *self.geom, y)
        self.x_shape = x.shape
        return y

    def backward(self, gy):
        gx = np.empty(self.x_shape, dtype=gy.dtype)
        K.avg_pool_backward(np.ascontiguousarray(gy), *self.geom, gx)
        return gx


def _pool(op, fn, x, pool_size, strides, padding, who):
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D NHWC input. Received: shape {x.shape}")
    pool_size = tuple(pool_size)
    strides = pool_size if strides is None else tuple(strides)
    fit_window(x.shape, pool_size, strides, padding, who, kind="pool")
    fn = route.pick(op, fn, x=x, pool_size=pool_size, strides=strides, padding=padding)
    return fn.apply(x, pool_size=pool_size, strides=strides, padding=padding, who=who)


def max_pool2d(x: Tensor, pool_size=(2, 2), strides=None, padding="valid", who="max_pool2d"):
    """Max pooling; the gradient goes to the first maximum of each window.

    Shape: (N, H, W, C) -> (N, OH, OW, C), OH as for ``conv2d`` with the pool as the window;
    strides default to the pool size.

    Args:
        x: the input.  pool_size: (KH, KW).  strides: (SH, SW) or None (the pool size).
        padding: "valid" or "same" (padded positions never win).  who: name for errors.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = mc.Tensor(np.array([1, 4, 2, 3]).reshape(1, 2, 2, 1), requires_grad=True)
        >>> mc.ops.conv.max_pool2d(x).sum().backward()
        >>> x.grad.ravel()
        array([0., 1., 0., 0.], dtype=float32)
    """
    return _pool("max_pool2d", MaxPool2DFn, x, pool_size, strides, padding, who)


def avg_pool2d(x: Tensor, pool_size=(2, 2), strides=None, padding="valid", who="avg_pool2d"):
    """Average pooling; with "same", padded positions are left out of each mean (as TF).

    Args:
        x: the input.  pool_size: (KH, KW).  strides: (SH, SW) or None (the pool size).
        padding: "valid" or "same".  who: name for errors.

    Shape: (N, H, W, C) -> (N, OH, OW, C)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = mc.Tensor(np.arange(9).reshape(1, 3, 3, 1))
        >>> mc.ops.conv.avg_pool2d(x, padding="same").data[0, :, :, 0]
        array([[2. , 3.5],
               [6.5, 8. ]], dtype=float32)
    """
    return _pool("avg_pool2d", AvgPool2DFn, x, pool_size, strides, padding, who)
