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
        F = pw.shape[-1]
        OH, OW, PT, PL, _, _ = window_geometry(x.shape, (KH, KW), strides, padding, dilation,
                                               who)
        x, dw = np.ascontiguousarray(x), np.ascontiguousarray(dw)
        pw2 = pw.reshape(C * M, F)
        y = np.empty((x.shape[0], OH, OW, F), dtype=np.float32)
        relu = activation == "relu"

        def work(n0, n1):
            depth = np.empty((n1 - n0, OH, OW, C * M), dtype=np.float32)  # in cache
            K.depthwise_forward(x[n0:n1], dw, *strides, *dilation, PT, PL, depth, relu_input)
            out = y[n0:n1].reshape(-1, F)
            np.matmul(depth.reshape(-1, C * M), pw2, out=out)
            bias_relu(out, b, relu)

        if chunks.run_chunks(work, x.shape[0], OH * OW * C * M * 4) is None:
            work(0, x.shape[0])  # BLAS refused the hold: the batch as one chunk
        return y

    def backward(self, gy):
        raise RuntimeError("ChunkedSeparableConvFn is an inference-only route: it has no "
                           "backward pass.")
