"""Depthwise convolution over NHWC arrays: each input channel convolved with its own filters.

The plain NumPy formulation is a loop over the KH*KW kernel taps: tap (kh, kw) reads one strided
slice of the zero-padded input, (N, OH, OW, C), and multiplies it by ``w[kh, kw]``, (C, M).
That is vectorised over the whole batch, readable, and the same loop gives the gradients.

Notation:
    x (N, H, W, C), w (KH, KW, C, M) with M the depth multiplier, y (N, OH, OW, C*M) where
    output channel ``c*M + m`` is input channel c through filter m (TensorFlow's order).
    Dilation (DH, DW) spaces the taps: tap kh reads input row ``oh*SH + kh*DH - PT``.
"""

from __future__ import annotations

import numpy as np

from minicnn.kernels import depthwise as K
from minicnn.kernels.geometry import output_size_and_padding
from minicnn.ops import route
from minicnn.tensor import Function, Tensor

#: float32 convolutions run the numba kernels of ``minicnn.kernels.depthwise`` (the tap loop
#: below is their NumPy twin, and the float64 route of the gradient checks). Tests turn it off
#: to compare the two.
USE_KERNELS = True


def _fast(*arrays) -> bool:
    return USE_KERNELS and all(a.dtype == np.float32 for a in arrays)


def window_geometry(x_shape, kernel_size, strides, padding, dilation, who):
    """Output size and padding of a (possibly dilated) window over an NHWC input.

    The dilated window spans ``(K - 1) * D + 1`` pixels; "same" pads for that span with TF's
    rule (the odd pixel bottom/right), as ``tf.nn.conv2d`` and ``depthwise_conv2d`` do.

    Returns:
        (OH, OW, PT, PL, Hp, Wp): output size, top/left padding, and the padded input size
        that every tap's strided slice fits into.

    Example:
        >>> from minicnn.ops.depthwise import window_geometry
        >>> window_geometry((1, 7, 7, 1), (3, 3), (1, 1), "same", (2, 2), "demo")
        (7, 7, 2, 2, 11, 11)
    """
    _, H, W, _ = x_shape
    (KH, KW), (SH, SW), (DH, DW) = kernel_size, strides, dilation
    EH, EW = (KH - 1) * DH + 1, (KW - 1) * DW + 1
    OH, PT = output_size_and_padding(H, EH, SH, padding)
    OW, PL = output_size_and_padding(W, EW, SW, padding)
    if OH <= 0 or OW <= 0:
        raise ValueError(
            f"{who}: a {KH}x{KW} window with strides ({SH}, {SW}), dilation ({DH}, {DW}) and "
            f"padding='{padding}' does not fit an input of height {H} and width {W} (the output "
            f"would be {OH}x{OW}). Use padding='same' or a larger input."
        )
    Hp = max(PT + H, (OH - 1) * SH + EH)
    Wp = max(PL + W, (OW - 1) * SW + EW)
    return OH, OW, PT, PL, Hp, Wp


def pad_input(x, PT, PL, Hp, Wp):
    """``x`` zero-padded to (N, Hp, Wp, C) with PT rows on top and PL columns on the left."""
    N, H, W, C = x.shape
    xp = np.zeros((N, Hp, Wp, C), dtype=x.dtype)
    xp[:, PT:PT + H, PL:PL + W, :] = x
    return xp


def tap_slice(kh, kw, OH, OW, strides, dilation):
    """The index of tap (kh, kw)'s input pixels in the padded input: (N, OH, OW, C) of it."""
    (SH, SW), (DH, DW) = strides, dilation
    return (slice(None),
            slice(kh * DH, kh * DH + (OH - 1) * SH + 1, SH),
            slice(kw * DW, kw * DW + (OW - 1) * SW + 1, SW))


class DepthwiseConv2DFn(Function):
    """Depthwise convolution: ``y[..., c*M + m] = sum over taps of x_tap[..., c] * w[kh, kw, c, m]``
    (+ bias). Use ``depthwise_conv2d``.

    Gradients, tap by tap: ``gx_tap += sum_m gy[..., c, m] * w[kh, kw, c, m]`` and
    ``gw[kh, kw] = sum over n, oh, ow of x_tap[..., c] * gy[..., c, m]``; ``gb = gy`` summed over
    N, OH, OW. At stride 1 with M = 1 the kernels get gx as the forward convolution of gy with
    the kernel turned 180 degrees (padding KH-1-PT, KW-1-PL): the same sums, in the same order.

    Shape: x (N, H, W, C), w (KH, KW, C, M), b (C*M,) -> (N, OH, OW, C*M)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.depthwise import DepthwiseConv2DFn
        >>> x = mc.Tensor(np.ones((1, 3, 3, 2)))
        >>> w = mc.Tensor(np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))], -1)[..., None])
        >>> DepthwiseConv2DFn.apply(x, w).data.ravel()
        array([ 9., 18.])
    """

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1),
                who="depthwise_conv2d"):
        KH, KW, C, M = w.shape
        N = x.shape[0]
        OH, OW, PT, PL, Hp, Wp = window_geometry(x.shape, (KH, KW), strides, padding, dilation,
                                                 who)
        self.w, self.x_shape = w, x.shape
        self.geometry = (OH, OW, PT, PL, strides, dilation)
        if _fast(x, w):  # numba: no padded copy (parallel builds on the fast path)
            self.x = x = np.ascontiguousarray(x)
            y = np.empty((N, OH, OW, C * M), dtype=np.float32)
            forward = route.kernel(K.depthwise_forward)
            forward(x, np.ascontiguousarray(w), *strides, *dilation, PT, PL, y)
            if b is not None:
                y += b
            return y
        xp = pad_input(x, PT, PL, Hp, Wp)
        y = np.zeros((N, OH, OW, C, M), dtype=np.result_type(x, w))
        for kh in range(KH):
            for kw in range(KW):
                x_tap = xp[tap_slice(kh, kw, OH, OW, strides, dilation)]  # (N, OH, OW, C)
                y += x_tap[..., None] * w[kh, kw]                          # * (C, M)
        y = y.reshape(N, OH, OW, C * M)  # channel c*M + m, as TensorFlow orders them
        if b is not None:
            y += b
        self.xp = xp
        return y

    def backward(self, gy):
        KH, KW, C, M = self.w.shape
        N, H, W, _ = self.x_shape
        OH, OW, PT, PL, strides, dilation = self.geometry
        want_gx, want_gw = self.needs_input_grad[:2]
        gb = gy.sum(axis=(0, 1, 2)) if self.needs_input_grad[2:] == (True,) else None
        if hasattr(self, "x"):  # the numba route of forward
            gy = np.ascontiguousarray(gy)
            gx = np.empty(self.x_shape, dtype=np.float32) if want_gx else np.empty((N, 0, 0, 0),
                                                                                   np.float32)
            flipped = want_gx and M == 1 and strides == (1, 1) and dilation == (1, 1)
            if flipped:  # stride 1: gx is gy convolved with the kernel turned 180 degrees
                forward = route.kernel(K.depthwise_forward)
                forward(gy, np.ascontiguousarray(self.w[::-1, ::-1]), 1, 1, 1, 1,
                        KH - 1 - PT, KW - 1 - PL, gx)
            parts = np.empty((N, KH, KW, C, M), dtype=np.float32)  # one per image: no races
            backward = route.kernel(K.depthwise_backward)
            backward(self.x, np.ascontiguousarray(self.w), gy, *strides, *dilation, PT, PL,
                     want_gx and not flipped, gx, parts)
            gw = parts.sum(axis=0, dtype=np.float64).astype(np.float32) if want_gw else None
            return (gx if want_gx else None, gw, gb)[:len(self.needs_input_grad)]
        gy5 = gy.reshape(N, OH, OW, C, M)
        gxp = np.zeros_like(self.xp) if want_gx else None
        gw = np.zeros_like(self.w) if want_gw else None
        for kh in range(KH):
            for kw in range(KW):
                index = tap_slice(kh, kw, OH, OW, strides, dilation)
                if want_gx:
                    gxp[index] += (gy5 * self.w[kh, kw]).sum(axis=-1)
                if want_gw:
                    gw[kh, kw] = np.einsum("nhwc,nhwcm->cm", self.xp[index], gy5)
        gx = gxp[:, PT:PT + H, PL:PL + W, :] if want_gx else None
        return (gx, gw, gb)[:len(self.needs_input_grad)]


def depthwise_conv2d(x: Tensor, w: Tensor, b: Tensor | None = None, strides=(1, 1),
                     padding="valid", dilation=(1, 1), who="depthwise_conv2d") -> Tensor:
    """Depthwise 2-D convolution, with TensorFlow's channel order and 'same' padding.

    Args:
        x: the input.  w: the depthwise kernel.  b: an optional bias.
        strides: (SH, SW).  padding: "valid" or "same".  dilation: (DH, DW).
        who: the name used in error messages.

    Shape: x (N, H, W, C), w (KH, KW, C, M), b (C*M,) -> (N, OH, OW, C*M), OH as for ``conv2d``
    with the dilated window ``(KH - 1) * DH + 1``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.depthwise import depthwise_conv2d
        >>> x = mc.Tensor(np.ones((1, 5, 5, 3)))
        >>> depthwise_conv2d(x, mc.Tensor(np.ones((3, 3, 3, 2))), padding="same").shape
        (1, 5, 5, 6)
    """
    if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[2]:
        raise ValueError(
            f"{who}: expected x (N, H, W, C) and a depthwise kernel (KH, KW, C, M) with the same "
            f"C. Received: x.shape={x.shape}, kernel shape={w.shape}"
        )
    args = (x, w) if b is None else (x, w, b)
    return DepthwiseConv2DFn.apply(*args, strides=tuple(strides), padding=padding,
                                   dilation=tuple(dilation), who=who)


class PointwiseConvFn(Function):
    """A 1x1 convolution as one matmul over pixel rows: ``y = x2 @ w2 + b`` (then ReLU when
    ``activation="relu"``), with x2 = x as (N*H*W, C) and w2 = w as (C, F). SeparableConv2D's
    pointwise step. Use ``pointwise_conv``.

    Gradients: ``gx2 = g @ w2.T``, ``gw2 = x2.T @ g``, ``gb = sum of g over rows``, where g is
    gy masked by ``y > 0`` under ReLU.

    On the fast path large float32 batches run as row chunks on the chunk threads
    (``minicnn.fast.pointwise``, route ``pointwise_conv`` / ``chunks``).

    Shape: x (N, H, W, C), w (1, 1, C, F), b (F,) -> (N, H, W, F)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.depthwise import pointwise_conv
        >>> x = mc.Tensor(np.ones((1, 2, 2, 3), np.float32))
        >>> pointwise_conv(x, mc.Tensor(np.ones((1, 1, 3, 2), np.float32))).data[0, 0, 0]
        array([3., 3.], dtype=float32)
    """

    def forward(self, x, w, b=None, activation="linear"):
        N, H, W, C = x.shape
        F = w.shape[-1]
        self.relu = activation == "relu"
        self.w_shape = w.shape
        x2, w2 = np.ascontiguousarray(x).reshape(-1, C), w.reshape(C, F)  # (N*H*W, C), (C, F)
        self.x2, self.w2 = x2, w2
        y2 = x2 @ w2
        if b is not None:
            y2 += b
        if self.relu:
            y2 = np.maximum(y2, 0)
            self.y2 = y2
        return y2.reshape(N, H, W, F)

    def backward(self, gy):
        C, F = self.w2.shape
        gy2 = np.ascontiguousarray(gy).reshape(-1, F)
        want_gx, want_gw = self.needs_input_grad[:2]
        want_gb = self.needs_input_grad[2:] == (True,)
        g = gy2 * (self.y2 > 0) if self.relu else gy2
        gx = (g @ self.w2.T).reshape(*gy.shape[:3], C) if want_gx else None
        gw = (self.x2.T @ g).reshape(self.w_shape) if want_gw else None
        gb = g.sum(axis=0) if want_gb else None
        return (gx, gw, gb)[:len(self.needs_input_grad)]


def pointwise_conv(x: Tensor, w: Tensor, b: Tensor | None = None,
                   activation: str = "linear") -> Tensor:
    """A 1x1, stride-1 convolution (``activation`` "linear" or "relu", applied after the bias).

    Shape: x (N, H, W, C), w (1, 1, C, F), b (F,) -> (N, H, W, F)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.depthwise import pointwise_conv
        >>> pointwise_conv(mc.Tensor(np.ones((2, 3, 3, 4))), mc.Tensor(np.ones((1, 1, 4, 5)))).shape
        (2, 3, 3, 5)
    """
    if x.ndim != 4 or w.ndim != 4 or w.shape[:2] != (1, 1) or x.shape[3] != w.shape[2]:
        raise ValueError(
            "pointwise_conv: expected x (N, H, W, C) and a kernel (1, 1, C, F) with the same C. "
            f"Received: x.shape={x.shape}, kernel shape={w.shape}"
        )
    if activation not in ("linear", "relu"):
        raise ValueError(f"pointwise_conv: activation must be 'linear' or 'relu'. "
                         f"Received: activation={activation!r}")
    args = (x, w) if b is None else (x, w, b)
    fn = route.pick("pointwise_conv", PointwiseConvFn, x=x, w=w, b=b, strides=(1, 1),
                    padding="valid")
    return fn.apply(*args, activation=activation)


def separable_conv2d(x: Tensor, depthwise_kernel: Tensor, pointwise_kernel: Tensor,
                     b: Tensor | None = None, strides=(1, 1), padding="valid", dilation=(1, 1),
                     activation: str = "linear", who: str = "separable_conv2d",
                     relu_input: bool = False) -> Tensor:
    """SeparableConv2D's computation: ``depthwise_conv2d`` (no bias), then ``pointwise_conv``
    with the bias and ``activation`` ("linear" or "relu"). ``relu_input``: of ``x.relu()``, as
    after a ReLU layer (the chunked route reads x through the ReLU instead of writing it).

    On the fast path a batch at inference may run both as one chunked op whose depthwise
    output never leaves cache (route ``separable_conv/chunks``); otherwise, and always on the
    plain path, the two ops one after the other.

    Shape: x (N, H, W, C), depthwise (KH, KW, C, M), pointwise (1, 1, C*M, F), b (F,)
    -> (N, OH, OW, F)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.depthwise import separable_conv2d
        >>> x = mc.Tensor(np.ones((1, 4, 4, 2), np.float32))
        >>> dw = mc.Tensor(np.ones((3, 3, 2, 1), np.float32))
        >>> pw = mc.Tensor(np.ones((1, 1, 2, 3), np.float32))
        >>> separable_conv2d(x, dw, pw).shape
        (1, 2, 2, 3)
    """
    fn = route.pick("separable_conv", None, x=x, w=depthwise_kernel, b=b, pw=pointwise_kernel,
                    strides=tuple(strides), padding=padding)
    if fn is not None:
        args = (x, depthwise_kernel, pointwise_kernel) + (() if b is None else (b,))
        return fn.apply(*args, strides=tuple(strides), padding=padding,
                        dilation=tuple(dilation), activation=activation, who=who,
                        relu_input=relu_input)
    if relu_input:
        x = x.relu()
    y = depthwise_conv2d(x, depthwise_kernel, None, strides, padding, dilation, who=who)
    return pointwise_conv(y, pointwise_kernel, b, activation)

