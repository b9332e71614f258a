"""The fast convolution and pooling Functions: one class per row of ``minicnn.fast.routes``.

Each computes what its plain twin in ``minicnn.ops.conv`` computes (the tests compare them),
faster:

- chunks (``Chunked*``): the batch in chunks of whole images on the thread pool
  (``minicnn.fast.chunks``), each chunk's im2col, GEMM and fused bias/ReLU pass in cache; in
  backward each chunk rebuilds its columns from the saved input, takes its share of the kernel
  gradient and reuses the column buffer for ``g @ w.T`` before col2im writes its images of gx.
- Winograd F(2x2, 3x3) (``minicnn.fast.winograd``) instead of im2col for 3x3 stride-1
  convolutions with many channels: forward, input gradient (Winograd with the kernel turned
  180 degrees) and kernel gradient (in the Winograd domain, turned back at the end).
- rows (``Rows*``, ``OneImage*``; inference only): one image's output rows in bands, one per
  core (``chunks.run_bands``), each band a convolution of the input rows it reads; Winograd's
  kernel transform cached while the weights stay equal (``winograd.cached_transform``).
- planar im2col for few channels, a plain matmul for 1x1 convolutions, parallel kernel builds
  for large calls, bias and ReLU in one pass, and columns rebuilt in backward instead of kept
  (many channels).
"""

from __future__ import annotations

import numpy as np

from minicnn.fast import chunks, routes, winograd
from minicnn.fast.epilogue import bias_relu
from minicnn.fast.parallel import auto
from minicnn.kernels import jit as K
from minicnn.kernels.geometry import fit_window
from minicnn.ops.conv import AvgPool2DFn, Conv2DFn, MaxPool2DFn
from minicnn.tensor import is_grad_enabled

_SUM_CHUNKS = 8  # row chunks for the parallel bias-gradient sums (a few per core)


def _pick(kern, serial: bool):
    return kern if serial else auto(kern)


def mask_and_partial_sums(gy2, y2, want_gb, chunks_=1, serial=False):
    """(gy2 masked by y2 > 0 if y2 is given, float64 column sums by ``chunks_`` row chunks or
    None), in one pass over gy2. ``serial``: the kernels' serial builds (on a chunk thread).

    Shape: gy2 (M, F), y2 (M, F) or None -> (M, F), (chunks_, F)

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.conv import mask_and_partial_sums
        >>> g, part = mask_and_partial_sums(np.ones((2, 2), np.float32),
        ...                                 np.array([[1, 0], [2, 3]], np.float32), True)
        >>> g, part
        (array([[1., 0.],
               [1., 1.]], dtype=float32), array([[2., 1.]]))
    """
    partial = np.empty((chunks_, gy2.shape[1]), dtype=np.float64) if want_gb else None
    if y2 is not None:
        masked = np.empty_like(gy2)
        if want_gb:
            _pick(K.relu_backward_colsum, serial)(gy2, y2, masked, partial)
        else:
            _pick(K.relu_backward, serial)(gy2, y2, masked)
        gy2 = masked
    elif want_gb:
        _pick(K.colsum, serial)(gy2, partial)
    return gy2, partial


class FastConv2DFn(Conv2DFn):
    """The fast convolutions' common code; each subclass fixes ``chunked`` and ``method``
    ("winograd", "planar", "1x1" or "im2col"). Same call and numbers as ``Conv2DFn``."""

    chunked = False
    rows = False  # one image at inference, its output rows in bands...
    split = True  # ...over the cores (False: one band, on the calling thread)
    method = "im2col"

    def forward(self, x, w, b=None, strides=(1, 1), padding="valid", activation="linear",
                who="conv2d"):
        x = self._setup(x, w, strides, padding, activation, who)
        N, F = x.shape[0], w.shape[3]
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        if self.rows:
            return self._forward_rows(x, w, b)
        if self.chunked:
            y = self._forward_chunks(x, w, b)
            if self.relu:
                self.y = y
            if self.needs_input_grad[1]:
                self.x = x  # the chunks rebuild their columns in backward
            return y.reshape(N, OH, OW, F)
        if self.method == "winograd":
            y = winograd.conv3x3(x, self.U, b, PT, PL, OH, OW, self.relu)
            if self.needs_input_grad[1]:
                self.x = x
            if self.relu:
                self.y = y
            return y
        cols = self._cols(x)
        y = cols @ w.reshape(KH * KW * x.shape[3], F)  # (N*OH*OW, KH*KW*C) @ (KH*KW*C, F)
        self._bias_relu(y, b, serial=False)
        if self.relu:
            self.y = y
        if self.needs_input_grad[1]:
            if x.shape[3] >= routes.RECOMPUTE_COLS_MIN_CHANNELS:
                self.x = x  # rebuilt in backward: see RECOMPUTE_COLS_MIN_CHANNELS
            else:
                self.cols = cols
        return y.reshape(N, OH, OW, F)

    def _setup(self, x, w, strides, padding, activation, who):
        """Record the geometry and options; returns x C-contiguous."""
        KH, KW = w.shape[:2]
        SH, SW = strides
        OH, OW, PT, PL = fit_window(x.shape, (KH, KW), strides, padding, who)
        self.geom = (KH, KW, SH, SW, PT, PL, OH, OW)
        self.x_shape, self.w = x.shape, w
        self.relu = activation == "relu"
        if self.method == "winograd":
            # inference keeps U while the weights stay the same (see cached_transform); a
            # training step's weights change every step, so it transforms them afresh
            self.U = winograd.cached_transform(w) if self.rows else winograd.transform_kernel(w)
        return np.ascontiguousarray(x)

    def _forward_rows(self, x, w, b):
        """One image's output in row bands, one per core (``chunks.run_bands``)."""
        OH, OW, F = self.geom[6], self.geom[7], w.shape[3]
        y = np.empty((1, OH, OW, F), dtype=x.dtype)
        w2 = w.reshape(-1, F)

        def work(r0, r1):
            self._band_forward(x, w2, b, r0, r1, y[:, r0:r1])

        if not self.split or chunks.run_bands(work, OH) is None:
            work(0, OH)  # one band (or BLAS refused the hold)
        return y

    def _band_forward(self, x, w2, b, r0, r1, out):
        """Output rows r0..r1 of one image (bias and ReLU included) into ``out``, from the
        input rows they read: the band is a convolution of those rows with its own top
        padding (the kernels bounds-check the bottom and the sides).

        Shape: x (1, H, W, C), w2 (KH*KW*C, F) -> out (1, r1 - r0, OW, F), C-contiguous
        """
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        top = r0 * SH - PT  # the first input row the band reads (negative: in the padding)
        lo = max(top, 0)
        hi = max(lo, min((r1 - 1) * SH - PT + KH, x.shape[1]))
        xb, pt, rows = x[:, lo:hi], lo - top, r1 - r0
        if self.method == "winograd":
            winograd.conv3x3(xb, self.U, b, pt, PL, rows, OW, self.relu, out=out, serial=True)
            return
        C = x.shape[3]
        if self.method == "planar":
            cols_t = np.empty((KH * KW * C, rows * OW), dtype=x.dtype)
            K.im2col_planar(xb, KH, KW, SH, SW, pt, PL, rows, OW, cols_t)
            cols = cols_t.T
        else:
            cols = np.empty((rows * OW, KH * KW * C), dtype=x.dtype)
            K.im2col(xb, KH, KW, SH, SW, pt, PL, rows, OW, cols)
        out2 = out.reshape(rows * OW, -1)
        np.matmul(cols, w2, out=out2)
        self._bias_relu(out2, b, serial=True)

    def _bias_relu(self, y, b, serial):
        bias_relu(y, b, self.relu, serial)

    def _cols(self, x, serial=False):
        """The im2col columns (N*OH*OW, KH*KW*C) of x, by this route's method."""
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        N, H, W, C = x.shape
        if self.method == "1x1":
            return x.reshape(N * H * W, C)  # a 1x1 convolution is a plain matmul
        if self.method == "planar":
            cols_t = np.empty((KH * KW * C, N * OH * OW), dtype=x.dtype)
            _pick(K.im2col_planar, serial)(x, KH, KW, SH, SW, PT, PL, OH, OW, cols_t)
            return cols_t.T  # Fortran-ordered: BLAS reads it transposed
        cols = np.empty((N * OH * OW, KH * KW * C), dtype=x.dtype)
        _pick(K.im2col, serial)(x, KH, KW, SH, SW, PT, PL, OH, OW, cols)
        return cols

    def _chunk_geometry(self):
        """(output positions per image, im2col bytes per image)."""
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        return OH * OW, OH * OW * KH * KW * self.x_shape[3] * 4

    def _forward_chunks(self, x, w, b):
        """The forward pass chunk by chunk, (N*OH*OW, F)."""
        P, item_bytes = self._chunk_geometry()
        F = w.shape[3]
        w2 = w.reshape(-1, F)
        y = np.empty((x.shape[0] * P, F), dtype=x.dtype)

        def work(n0, n1):
            self._chunk_forward(x[n0:n1], w2, b, y[n0 * P:n1 * P])

        if chunks.run_chunks(work, x.shape[0], item_bytes) is None:
            work(0, x.shape[0])  # BLAS refused the hold: the batch as one chunk
        return y

    def _chunk_forward(self, x, w2, b, out):
        """One chunk of images: im2col -> GEMM -> bias (+ ReLU) into ``out``, all in cache
        (or Winograd's transforms and 16 GEMMs).

        Shape: x (n, H, W, C), w2 (KH*KW*C, F), b (F,) or None -> out (n*OH*OW, F)
        """
        if self.method == "winograd":
            PT, PL, OH, OW = self.geom[4:]
            winograd.conv3x3(x, self.U, b, PT, PL, OH, OW, self.relu,
                             out=out.reshape(x.shape[0], OH, OW, -1), serial=True)
            return
        np.matmul(self._cols(x, serial=True), w2, out=out)
        self._bias_relu(out, b, serial=True)

    def backward(self, gy):
        if self.rows:  # the rows routes apply only where no gradient is recorded
            raise RuntimeError(f"{type(self).__name__} is an inference-only route: it has no "
                               "backward pass.")
        F = self.w.shape[3]
        gy2 = np.ascontiguousarray(gy).reshape(-1, F)  # (N*OH*OW, F)
        want_gb = len(self.needs_input_grad) == 3 and self.needs_input_grad[2]
        y2 = self.y.reshape(-1, F) if self.relu else None
        if self.chunked:
            P = self._chunk_geometry()[0]

            def chunk_grad(n0, n1):  # this chunk's rows of gy, masked by the ReLU output
                rows = slice(n0 * P, n1 * P)
                return mask_and_partial_sums(gy2[rows], None if y2 is None else y2[rows],
                                             want_gb, 1, serial=True)

            grads = self._backward_chunks(chunk_grad, want_gb)
            return grads if len(self.needs_input_grad) == 3 else grads[:2]
        gy2, partial = mask_and_partial_sums(gy2, y2, want_gb, _SUM_CHUNKS)
        gb = partial.sum(axis=0).astype(gy2.dtype) if want_gb else None
        gw = gx = None
        if self.needs_input_grad[1]:
            # (whole-batch Winograd too: its kernel gradient from rebuilt im2col columns)
            cols = self.cols if hasattr(self, "cols") else self._cols(self.x)
            gw = (cols.T @ gy2).reshape(self.w.shape)
            del cols
        if self.needs_input_grad[0]:
            gx = self._input_grad(gy2)
        return (gx, gw, gb) if len(self.needs_input_grad) == 3 else (gx, gw)

    def _backward_chunks(self, chunk_grad, want_gb):
        """(gx, gw, gb) chunk by chunk.

        ``chunk_grad(n0, n1)`` gives images n0..n1's rows of the gradient at the convolution's
        output (after the ReLU's mask) and their float64 column sums (1, F) for the bias, or
        None for the sums when ``want_gb`` is false. Each chunk then rebuilds its im2col
        columns for its share of the kernel gradient, and reuses the same buffer for
        ``g @ w.T`` before col2im writes its images of gx (on the Winograd route: its kernel
        gradient share in the Winograd domain, and its gx by Winograd with the turned kernel).
        The kernel shares are added at the end, the bias shares in float64.
        """
        P, item_bytes = self._chunk_geometry()
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        F = self.w.shape[3]
        w2 = self.w.reshape(-1, F)
        want_gx, want_gw = self.needs_input_grad[0], self.needs_input_grad[1]
        gx = np.empty(self.x_shape, dtype=self.w.dtype) if want_gx else None
        if self.method == "winograd":
            U_flip = winograd.transform_kernel_flipped(self.w) if want_gx else None
            H, W = self.x_shape[1:3]

        def work(n0, n1):
            g, part = chunk_grad(n0, n1)
            if self.method == "winograd":
                gy = g.reshape(n1 - n0, OH, OW, F)
                gu = (winograd.kernel_grad(self.x[n0:n1], gy, PT, PL, serial=True)
                      if want_gw else None)
                if want_gx:
                    winograd.conv3x3(gy, U_flip, None, 2 - PT, 2 - PL, H, W, out=gx[n0:n1],
                                     serial=True)
                return gu, part
            cols = gw = None
            if want_gw:
                cols = self._cols(self.x[n0:n1], serial=True)
                gw = cols.T @ g  # (KH*KW*C, F) share of this chunk
            if want_gx:
                reuse = cols if cols is not None and cols.flags.c_contiguous else None
                gcols = np.matmul(g, w2.T, out=reuse)  # (rows, KH*KW*C)
                K.col2im(gcols, KH, KW, SH, SW, PT, PL, OH, OW, gx[n0:n1])
            return gw, part

        shares = chunks.run_chunks(work, self.x_shape[0], item_bytes)
        if shares is None:  # BLAS refused the hold: the batch as one chunk
            shares = [work(0, self.x_shape[0])]
        gw = gb = None
        if want_gw:
            # a few shares, each a full GEMM sum already: float32 in place is enough here, and
            # np.sum over the list (a stacked copy, in float64) took 2 ms for 8 (16, 128, 128)
            gw = shares[0][0]
            for share in shares[1:]:
                gw += share[0]
            if self.method == "winograd":  # the shares are in the Winograd domain: (16, C, F)
                gw = winograd.kernel_grad_to_hwio(gw)
            gw = gw.astype(self.w.dtype, copy=False).reshape(self.w.shape)
        if want_gb:
            gb = np.sum([s[1][0] for s in shares], axis=0).astype(self.w.dtype)
        return gx, gw, gb

    def _input_grad(self, gy2):
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        N, H, W, C = self.x_shape
        F = self.w.shape[3]
        if self.method == "winograd":
            # the input gradient is a full correlation of gy with the kernel turned 180 degrees
            U = winograd.transform_kernel_flipped(self.w)
            return winograd.conv3x3(gy2.reshape(N, OH, OW, F), U, None, 2 - PT, 2 - PL, H, W)
        gcols = gy2 @ self.w.reshape(-1, F).T  # (N*OH*OW, KH*KW*C)
        if self.method == "1x1":
            return gcols.reshape(self.x_shape)
        gx = np.empty(self.x_shape, dtype=gy2.dtype)
        auto(K.col2im)(gcols, KH, KW, SH, SW, PT, PL, OH, OW, gx)
        return gx


class ChunkedWinogradConv2DFn(FastConv2DFn):
    """Route ``chunks-winograd`` (see ``minicnn.fast.routes``)."""
    chunked, method = True, "winograd"


class ChunkedPlanarConv2DFn(FastConv2DFn):
    """Route ``chunks-planar``."""
    chunked, method = True, "planar"


class ChunkedIm2colConv2DFn(FastConv2DFn):
    """Route ``chunks-im2col``."""
    chunked, method = True, "im2col"


class RowsWinogradConv2DFn(FastConv2DFn):
    """Route ``rows-winograd`` (one image at inference)."""
    rows, method = True, "winograd"


class OneImageWinogradConv2DFn(FastConv2DFn):
    """Route ``one-winograd`` (one image at inference, too small to split)."""
    rows, split, method = True, False, "winograd"


class RowsPlanarConv2DFn(FastConv2DFn):
    """Route ``rows-planar``."""
    rows, method = True, "planar"


class RowsIm2colConv2DFn(FastConv2DFn):
    """Route ``rows-im2col``."""
    rows, method = True, "im2col"


class WinogradConv2DFn(FastConv2DFn):
    """Route ``winograd`` (whole batch; only with ``MINICNN_WINOGRAD=1``)."""
    method = "winograd"


class MatmulConv2DFn(FastConv2DFn):
    """Route ``1x1-matmul``."""
    method = "1x1"


class PlanarConv2DFn(FastConv2DFn):
    """Route ``planar``."""
    method = "planar"


class Im2colConv2DFn(FastConv2DFn):
    """Route ``im2col`` (whole batch)."""
    method = "im2col"


def run_pool_kernel(kern, chunked: bool, *args) -> None:
    """``kern(*args)`` over the batch: by image chunks on the chunk threads (``chunked``), else
    one call (its parallel build when large).

    Every array argument is batch-major (N, ...), so a chunk is the same call with each array
    sliced to its images, on the kernel's serial build.
    """
    if chunked:
        arrays = [a for a in args if isinstance(a, np.ndarray)]
        big = max(arrays, key=lambda a: a.size)

        def work(a, b):
            kern(*(v[a:b] if isinstance(v, np.ndarray) else v for v in args))

        if chunks.run_chunks(work, big.shape[0], big[0].nbytes) is not None:
            return
    auto(kern)(*args)


class MaxPool2DFastFn(MaxPool2DFn):
    """Route ``max_pool2d whole``; ``ChunkedMaxPool2DFn`` for ``chunks``. Same numbers as
    ``MaxPool2DFn``, to the bit; with no gradient to come (inference) only the maxima are
    written, not where they are; backward writes gx once: directly where windows tile the
    input (strides = pool, no padding), else by gathering each position's windows."""

    chunked = False

    def forward(self, x, pool_size=(2, 2), strides=(2, 2), padding="valid", who="max_pool2d",
                add=None):
        N, H, W, C = x.shape
        OH, OW, PT, PL = fit_window(x.shape, pool_size, strides, padding, who, kind="pool")
        y = np.empty((N, OH, OW, C), dtype=x.dtype)
        inference = not (is_grad_enabled() and any(self.needs_input_grad))
        if add is not None:  # an Add after the pool, in its pass: see minicnn.fast.pool_add
            if not inference or add.shape != y.shape or add.dtype != y.dtype:
                raise ValueError(f"{who}: add= needs inference and a {y.dtype} addend of "
                                 f"shape {y.shape}; got {add.dtype} {add.shape}")
            add = np.ascontiguousarray(add)
        if inference:  # no backward will come: the maxima only
            run_pool_kernel(K.max_pool_forward, self.chunked, np.ascontiguousarray(x),
                            *pool_size, *strides, PT, PL, y, None, add)
            return y
        argmax = np.empty((N, OH, OW, C), dtype=np.int32)
        run_pool_kernel(K.max_pool_forward, self.chunked, np.ascontiguousarray(x), *pool_size,
                        *strides, PT, PL, y, argmax)
        self.argmax, self.x_shape, self.pool_size = argmax, x.shape, pool_size
        self.geom = (*pool_size, *strides, PT, PL)
        self.tiled = tuple(strides) == tuple(pool_size) and PT == PL == 0
        return y

    def backward(self, gy):
        gx = np.empty(self.x_shape, dtype=gy.dtype)
        gy = np.ascontiguousarray(gy)
        if self.tiled:  # every input position in at most one window: write gx once
            run_pool_kernel(K.max_pool_backward_tiled, self.chunked, gy, self.argmax,
                            *self.pool_size, gx)
        else:  # overlapping windows: gather per input position, 2x the scatter (3x3/2)
            run_pool_kernel(K.max_pool_backward_gather, self.chunked, gy, self.argmax,
                            *self.geom, gx)
        return gx


class ChunkedMaxPool2DFn(MaxPool2DFastFn):
    """Route ``max_pool2d chunks``."""
    chunked = True


class AvgPool2DFastFn(AvgPool2DFn):
    """Route ``avg_pool2d whole``; ``ChunkedAvgPool2DFn`` for ``chunks``."""

    chunked = False

    def forward(self, x, pool_size=(2, 2), strides=(2, 2), padding="valid", who="avg_pool2d"):
        N, H, W, C = x.shape
        OH, OW, PT, PL = fit_window(x.shape, pool_size, strides, padding, who, kind="pool")
        y = np.empty((N, OH, OW, C), dtype=x.dtype)
        self.geom, self.x_shape = (*pool_size, *strides, PT, PL), x.shape
        run_pool_kernel(K.avg_pool_forward, self.chunked, np.ascontiguousarray(x), *self.geom, y)
        return y

    def backward(self, gy):
        gx = np.empty(self.x_shape, dtype=gy.dtype)
        run_pool_kernel(K.avg_pool_backward, self.chunked, np.ascontiguousarray(gy), *self.geom,
                        gx)
        return gx


class ChunkedAvgPool2DFn(AvgPool2DFastFn):
    """Route ``avg_pool2d chunks``."""
    chunked = True
