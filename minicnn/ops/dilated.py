"""Dilated and grouped 2-D convolution over NHWC arrays: the plain route of Conv2D when
``dilation_rate != 1`` or ``groups != 1`` (``minicnn.ops.conv`` keeps the fast ordinary case).

A loop over the KH*KW kernel taps: tap (kh, kw) reads one strided slice of the zero-padded input
(rows ``oh*SH + kh*DH - PT``) and multiplies it by ``w[kh, kw]`` group by group: one batched
matmul (G, P, Cg) @ (G, Cg, Fg) per tap, so BLAS does the work (P = N*OH*OW output pixels).

Notation:
    x (N, H, W, C), w (KH, KW, C/G, F) with G groups (Keras's layout), y (N, OH, OW, F).
    Group g maps input channels ``g*Cg .. (g+1)*Cg - 1`` to output channels
    ``g*Fg .. (g+1)*Fg - 1`` (Cg = C/G, Fg = F/G), as TensorFlow groups them.
"""

from __future__ import annotations

import numpy as np

from minicnn.ops.depthwise import pad_input, tap_slice, window_geometry
from minicnn.tensor import Function, Tensor


def _by_group(a, G):
    """(..., G*K) -> (G, rows, K): the last axis split into G groups, the rest flattened.

    Used for activations (N, OH, OW, C) and for one kernel tap (Cg, F), whose F output channels
    are group-major (group g owns g*Fg..(g+1)*Fg - 1).

    Example:
        >>> import numpy as np
        >>> from minicnn.ops.dilated import _by_group
        >>> _by_group(np.arange(8).reshape(2, 4), 2)[1]
        array([[2, 3],
               [6, 7]])
    """
    return a.reshape(-1, G, a.shape[-1] // G).transpose(1, 0, 2)


class DilatedConv2DFn(Function):
    """Convolution with dilation and groups: ``y[..., g, :] += x_tap[..., g, :] @ w[kh, kw, :, g]``
    for every tap and group (+ bias). Use ``dilated_conv2d``.

    Gradients, tap by tap: ``gx_tap[..., g, :] += gy[..., g, :] @ w[kh, kw, :, g].T`` and
    ``gw[kh, kw, :, g] = x_tap[..., g, :].T @ gy[..., g, :]`` (summed over N, OH, OW).

    Shape: x (N, H, W, C), w (KH, KW, C/G, F), b (F,) -> (N, OH, OW, F)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.dilated import DilatedConv2DFn
        >>> x = mc.Tensor(np.arange(25.0).reshape(1, 5, 5, 1))
        >>> w = mc.Tensor(np.ones((2, 2, 1, 1)))
        >>> DilatedConv2DFn.apply(x, w, dilation=(4, 4)).data.ravel()   # the four corners
        array([48.])
    """

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1), groups=1,
                who="conv2d"):
        KH, KW, Cg, F = w.shape
        N, G, Fg = x.shape[0], groups, F // groups
        OH, OW, PT, PL, Hp, Wp = window_geometry(x.shape, (KH, KW), strides, padding, dilation,
                                                 who)
        xp = pad_input(x, PT, PL, Hp, Wp)
        P = N * OH * OW
        y = np.zeros((G, P, Fg), dtype=np.result_type(x, w))
        for kh in range(KH):
            for kw in range(KW):
                x_tap = xp[tap_slice(kh, kw, OH, OW, strides, dilation)]  # (N, OH, OW, C)
                y += _by_group(x_tap, G) @ _by_group(w[kh, kw], G)      # (G, P, Fg)
        y = y.transpose(1, 0, 2).reshape(N, OH, OW, F)  # group g's outputs are g*Fg..
        if b is not None:
            y += b
        self.xp, self.w, self.x_shape, self.groups = xp, w, x.shape, G
        self.geometry = (OH, OW, PT, PL, strides, dilation)
        return y

    def backward(self, gy):
        KH, KW, Cg, F = self.w.shape
        N, H, W, C = self.x_shape
        G = self.groups
        OH, OW, PT, PL, strides, dilation = self.geometry
        gy_g = _by_group(gy, G)  # (G, P, Fg)
        want_gx, want_gw = self.needs_input_grad[:2]
        gxp = np.zeros_like(self.xp) if want_gx else None
        gw = np.zeros_like(self.w) if want_gw else None
        for kh in range(KH):
            for kw in range(KW):
                index = tap_slice(kh, kw, OH, OW, strides, dilation)
                if want_gx:  # (G, P, Fg) @ (G, Fg, Cg) -> pixels back in (N, OH, OW, C)
                    gx_tap = gy_g @ _by_group(self.w[kh, kw], G).transpose(0, 2, 1)
                    gxp[index] += gx_tap.transpose(1, 0, 2).reshape(N, OH, OW, C)
                if want_gw:  # (G, Cg, P) @ (G, P, Fg) -> (Cg, F) in Keras's layout
                    gw_tap = _by_group(self.xp[index], G).transpose(0, 2, 1) @ gy_g
                    gw[kh, kw] = gw_tap.transpose(1, 0, 2).reshape(Cg, F)
        gx = gxp[:, PT:PT + H, PL:PL + W, :] if want_gx else None
        if len(self.needs_input_grad) == 3:
            gb = gy.sum(axis=(0, 1, 2)) if self.needs_input_grad[2] else None
            return gx, gw, gb
        return gx, gw


def dilated_conv2d(x: Tensor, w: Tensor, b: Tensor | None = None, strides=(1, 1),
                   padding="valid", dilation=(1, 1), groups=1, who="conv2d") -> Tensor:
    """2-D convolution with dilation and groups, TensorFlow's 'same' padding for the dilated
    window ``(KH - 1) * DH + 1``.

    Args:
        x: the input.  w: the kernel, (KH, KW, C / groups, F).  b: an optional bias.
        strides: (SH, SW).  padding: "valid" or "same".  dilation: (DH, DW).
        groups: G, dividing both C and F.  who: the name used in error messages.

    Shape: x (N, H, W, C), w (KH, KW, C/G, F), b (F,) -> (N, OH, OW, F)

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.dilated import dilated_conv2d
        >>> x = mc.Tensor(np.ones((1, 9, 9, 4)))
        >>> dilated_conv2d(x, mc.Tensor(np.ones((3, 3, 2, 6))), dilation=(2, 2), groups=2).shape
        (1, 5, 5, 6)
    """
    if x.ndim != 4 or w.ndim != 4 or x.shape[3] != w.shape[2] * groups or w.shape[3] % groups:
        raise ValueError(
            f"{who}: expected x (N, H, W, C) and a kernel (KH, KW, C / groups, F) with F "
            f"divisible by groups={groups}. Received: x.shape={x.shape}, kernel shape={w.shape}"
        )
    args = (x, w) if b is None else (x, w, b)
    return DilatedConv2DFn.apply(*args, strides=tuple(strides), padding=padding,
                                 dilation=tuple(dilation), groups=groups, who=who)
