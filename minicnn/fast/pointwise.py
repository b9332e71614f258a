"""Routes ``pointwise_conv`` / ``chunks``, ``pointwise_conv`` / ``rows`` and ``conv2d`` /
``chunks-1x1``: a 1x1 convolution's matmul as row chunks on the chunk threads.

A training step holds BLAS at one thread for its chunked convolutions (``minicnn.fast.chunks``),
so SeparableConv2D's pointwise step, one whole-batch matmul, would run on one core. Here the
(N*H*W, C) pixel rows are cut into chunks of about ``POINTWISE_CHUNK_BYTES`` of input, each a
single-threaded matmul on its own thread with the bias and ReLU fused in; backward gives each
chunk's input-gradient rows and its partial kernel-gradient and bias sums (added in float64).
``minicnn.ops.depthwise.PointwiseConvFn`` is the plain twin the tests compare against.
"""

from __future__ import annotations

import numpy as np

from minicnn.fast import chunks
from minicnn.fast.epilogue import bias_relu
from minicnn.ops.depthwise import PointwiseConvFn

#: Rows per chunk, in bytes of input: its rows, products and gradient rows stay in cache
#: between the passes (a few hundred KB to a few MB a chunk).
POINTWISE_CHUNK_BYTES = 1 << 21


def _row_chunks(work, rows: int, row_bytes: int):
    """``work(r0, r1)`` over row chunks on the chunk threads, or None when BLAS's threads
    cannot be held (the caller then runs the plain matmul)."""
    per = max(1, POINTWISE_CHUNK_BYTES // row_bytes)
    blocks = -(-rows // per)  # chunks.run_chunks cuts "items": here blocks of ``per`` rows
    return chunks.run_chunks(lambda b0, b1: work(b0 * per, min(b1 * per, rows)), blocks,
                             per * row_bytes)


class ChunkedPointwiseConvFn(PointwiseConvFn):
    """Route ``chunks`` of ``pointwise_conv`` (float32, big enough: see ``routes.py``)."""

    def forward(self, x, w, b=None, activation="linear"):
        N, H, W, C = x.shape
        F = w.shape[-1]
        self.relu = activation == "relu"
        self.w_shape = w.shape
        x2, w2 = np.ascontiguousarray(x).reshape(-1, C), w.reshape(C, F)
        self.x2, self.w2 = x2, w2
        y2 = np.empty((len(x2), F), np.float32)

        def work(r0, r1):
            out = y2[r0:r1]
            np.matmul(x2[r0:r1], w2, out=out)
            bias_relu(out, b, self.relu)

        if _row_chunks(work, len(x2), 4 * max(C, F)) is None:
            return super().forward(x, w, b, activation)
        if self.relu:
            self.y2 = y2
        return y2.reshape(N, H, W, F)

    def backward(self, gy):
        C, F = self.w2.shape
        gy2 = np.ascontiguousarray(gy).reshape(-1, F)
        want_gx, want_gw = self.needs_input_grad[:2]
        want_gb = self.needs_input_grad[2:] == (True,)
        x2, w2 = self.x2, self.w2
        y2 = self.y2 if self.relu else None
        gx2 = np.empty_like(x2) if want_gx else None

        def work(r0, r1):
            g = gy2[r0:r1]
            if y2 is not None:
                g = np.where(y2[r0:r1] > 0, g, np.float32(0))
            if want_gx:
                np.matmul(g, w2.T, out=gx2[r0:r1])
            gw = x2[r0:r1].T @ g if want_gw else None
            gb = g.sum(axis=0, dtype=np.float64) if want_gb else None
            return gw, gb

        parts = _row_chunks(work, len(x2), 4 * max(C, F))
        if parts is None:
            return super().backward(gy)
        gw = (np.sum([p[0] for p in parts], axis=0, dtype=np.float64)
              .astype(np.float32).reshape(self.w_shape) if want_gw else None)
        gb = np.sum([p[1] for p in parts], axis=0).astype(np.float32) if want_gb else None
        gx = gx2.reshape(*gy.shape[:3], C) if want_gx else None
        return (gx, gw, gb)[:len(self.needs_input_grad)]


class ChunkedMatmulConv2DFn(ChunkedPointwiseConvFn):
    """Route ``chunks-1x1`` of ``conv2d``: a 1x1, stride-1, unpadded Conv2D is the same matmul
    over pixel rows (same call and numbers as ``minicnn.ops.conv.Conv2DFn``)."""

    chunked = True
    method = "1x1"

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", activation="linear",
                who="conv2d"):
        return super().forward(x, w, b, activation)


class RowsPointwiseConvFn(PointwiseConvFn):
    """Route ``rows`` of ``pointwise_conv``: one image at inference, its pixel rows in one band
    per core (``chunks.run_bands``), each band a single-threaded matmul with the bias and ReLU
    fused in. Inside an inference step BLAS is held at one thread, so the whole image's matmul
    ran on one core. No backward: the route applies only where no gradient is recorded.

    Shape: x (1, H, W, C), w (1, 1, C, F), b (F,) -> (1, H, W, F)
    """

    def forward(self, x, w, b=None, activation="linear"):
        N, H, W, C = x.shape
        F = w.shape[-1]
        x2, w2 = np.ascontiguousarray(x).reshape(-1, C), w.reshape(C, F)
        y2 = np.empty((len(x2), F), np.float32)
        relu = activation == "relu"

        def work(r0, r1):
            out = y2[r0:r1]
            np.matmul(x2[r0:r1], w2, out=out)
            bias_relu(out, b, relu)

        if chunks.run_bands(work, len(x2)) is None:
            return super().forward(x, w, b, activation)
        return y2.reshape(N, H, W, F)

    def backward(self, gy):
        raise RuntimeError("RowsPointwiseConvFn is an inference-only route: it has no backward "
                           "pass.")

