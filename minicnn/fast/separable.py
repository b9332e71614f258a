"""Route ``separable_conv`` / ``chunks``: SeparableConv2D at inference, image by image in cache.

Run as two ops, the depthwise convolution writes its whole output (at 128 px, batch 32, the
residual cat-dog network's first block writes 33 MB) and the pointwise matmul reads it back.
Here each chunk of images (``minicnn.fast.chunks``) runs the depthwise kernel (serial build)
into a buffer that stays in cache and multiplies it by the pointwise kernel at once, then adds
the bias and applies the ReLU in one pass (``minicnn.fast.epilogue``). A ReLU layer just before
(``relu_input``: the residual blocks' ReLU -> SeparableConv2D) is applied by the depthwise
kernel as it reads, so the ReLU's output is never written. The numbers are the two
ops' (the same kernel, the same matmul, per image). No backward: the route applies only where
no gradient is recorded; training keeps the two ops, whose backward needs the depthwise output.

Route ``rows`` is the one-image twin (as the convolutions' rows routes): the image's output rows
in one band per core (``chunks.run_bands``), each band running the depthwise kernel over just the
input rows its outputs read (the top padding shifted to match), then its matmul. A band's output
pixel sees the same taps in the same order as in the whole image, so its depthwise numbers are
the whole image's to the bit; the matmul is the same BLAS call on fewer rows. An image too
small to split runs the chunk route's single chunk (route ``one``).
"""

from __future__ import annotations

import numpy as np

from minicnn.fast import chunks
from minicnn.fast.epilogue import bias_relu
from minicnn.kernels import depthwise as K
from minicnn.ops.depthwise import window_geometry
from minicnn.tensor import Function


class ChunkedSeparableConvFn(Function):
    """``pointwise_conv(depthwise_conv2d(x, dw), pw, b, activation)`` for a float32 batch at
    inference. Use ``minicnn.ops.depthwise.separable_conv2d``, which takes it only there.

    Shape: x (N, H, W, C), dw (KH, KW, C, M), pw (1, 1, C*M, F), b (F,) -> (N, OH, OW, F)
    """

    def forward(self, x, dw, pw, b=None, strides=(1, 1), padding="valid", dilation=(1, 1),
                activation="linear", who="separable_conv2d", relu_input=False):
        KH, KW, C, M = dw.shape
        OH, OW, PT, PL, _, _ = window_geometry(x.shape, (KH, KW), strides, padding, dilation,
                                               who)
        y = np.empty((x.shape[0], OH, OW, pw.shape[-1]), dtype=np.float32)

        def part(x, PT, y):  # x's rows for y's, PT for that slice
            _depthwise_then_pointwise(x, dw, pw.reshape(C * M, -1), b, strides, dilation, PT,
                                      PL, relu_input, activation == "relu", y)

        self._split(np.ascontiguousarray(x), np.ascontiguousarray(dw), strides, dilation, PT,
                    part, y)
        return y

    def _split(self, x, dw, strides, dilation, PT, part, y):
        """Runs ``part`` over chunks of whole images, on the chunk threads."""
        def work(n0, n1):
            part(x[n0:n1], PT, y[n0:n1])

        N, OH, OW, _ = y.shape
        if chunks.run_chunks(work, N, OH * OW * dw.shape[2] * dw.shape[3] * 4) is None:
            work(0, N)  # BLAS refused the hold: the batch as one chunk

    def backward(self, gy):
        raise RuntimeError(f"{type(self).__name__} is an inference-only route: it has no "
                           "backward pass.")


class RowsSeparableConvFn(ChunkedSeparableConvFn):
    """Route ``rows`` of ``separable_conv``: one float32 image at inference, its output rows in
    one band per core, each band's depthwise output kept in cache for its matmul. Use
    ``minicnn.ops.depthwise.separable_conv2d``, which takes it only there.

    Shape: x (1, H, W, C), dw (KH, KW, C, M), pw (1, 1, C*M, F), b (F,) -> (1, OH, OW, F)
    """

    def _split(self, x, dw, strides, dilation, PT, part, y):
        """Runs ``part`` over bands of the image's output rows, one per core."""
        KH, SH, DH, H = dw.shape[0], strides[0], dilation[0], x.shape[1]

        def band(r0, r1):
            # output row r reads input rows r*SH - PT + kh*DH: slice the ones this band reads
            # and shift the top padding so that each output row still finds its own (rows past
            # the slice's end lie outside the image, whose taps the kernel skips anyway)
            top = max(0, r0 * SH - PT)
            stop = min(H, (r1 - 1) * SH - PT + (KH - 1) * DH + 1)
            part(x[:, top:stop], PT - r0 * SH + top, y[:, r0:r1])

        if chunks.run_bands(band, y.shape[1]) is None:
            band(0, y.shape[1])  # BLAS refused the hold: the image as one band


def _depthwise_then_pointwise(x, dw, pw2, b, strides, dilation, PT, PL, relu_input, relu, y):
    """``y`` = pointwise(depthwise(x)) with the bias and the ReLU, through one buffer of the
    depthwise output the size of ``y``'s pixels, which stays in cache.

    Shape: x (n, H', W, C), dw (KH, KW, C, M), pw2 (C*M, F), b (F,) or None -> y (n, R, OW, F),
    C-contiguous (whole images of a batch, or whole rows of one image)
    """
    if not y.flags.c_contiguous:  # the matmul writes through a view of y
        raise ValueError(f"_depthwise_then_pointwise: y must be C-contiguous, got strides "
                         f"{y.strides} for shape {y.shape}")
    F = y.shape[-1]
    depth = np.empty(y.shape[:-1] + (pw2.shape[0],), dtype=np.float32)
    K.depthwise_forward(x, dw, *strides, *dilation, PT, PL, depth, relu_input)
    out = y.reshape(-1, F)  # a view, y being contiguous
    np.matmul(depth.reshape(-1, pw2.shape[0]), pw2, out=out)
    bias_relu(out, b, relu)
