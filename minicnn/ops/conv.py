"""Convolution and pooling as differentiable functions over NHWC arrays.

These wrappers check shapes, compute output geometry, allocate outputs and hand the data
movement to ``minicnn.kernels`` (numba) and the multiplications to BLAS (numpy matmul).
"""

from __future__ import annotations

import os

import numpy as np

from minicnn.kernels import jit as K
from minicnn.kernels import winograd
from minicnn.kernels.geometry import output_size_and_padding
from minicnn.ops import split
from minicnn.tensor import Function, Tensor

#: Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions with at least this many input channels
#: (below it, the transforms cost more than the multiplications they save).
WINOGRAD_MIN_CHANNELS = 16

#: ...and, in chunks, at least this many 2x2 output tiles per image: below it the 16 GEMMs get
#: too small (the cat-dog network's last convolution, 4x4 outputs, measured 2x slower).
WINOGRAD_MIN_TILES = 16

#: Where Winograd runs (``MINICNN_WINOGRAD``): "auto" (the default) in batches split into
#: chunks, where each chunk's transforms stay in cache; "1" also whole batches and single
#: images; "0" never. Whole-batch Winograd streams its 16 transformed tiles through memory and
#: measured slower than im2col there (see benchmarks/README.md).
_winograd_mode = {"0": "0", "false": "0", "False": "0", "1": "1", "true": "1", "True": "1"}.get(
    os.environ.get("MINICNN_WINOGRAD", "auto"), "auto")


def relu_mask_and_bias_grad(gy2, y2, want_gb):
    """(gy masked by y > 0 when y2 is given, bias gradient or None), in one pass over gy.

    Args:
        gy2: the output gradient, one row per output position.
        y2: the ReLU output (masks gy2 where it is not positive), or None for no ReLU.
        want_gb: whether to compute the bias gradient (column sums of the masked gradient).

    Shape: gy2 (M, F), y2 (M, F) or None -> (M, F), (F,)

    Example:
        >>> import numpy as np
        >>> from minicnn.ops.conv import relu_mask_and_bias_grad
        >>> g, gb = relu_mask_and_bias_grad(np.ones((2, 2), np.float32),
        ...                                 np.array([[1, 0], [2, 3]], np.float32), True)
        >>> g, gb
        (array([[1., 0.],
               [1., 1.]], dtype=float32), array([2., 1.], dtype=float32))
    """
    gy2, partial = _mask_and_partial_sums(gy2, y2, want_gb, _SUM_CHUNKS)
    return gy2, (partial.sum(axis=0).astype(gy2.dtype) if want_gb else None)


def _mask_and_partial_sums(gy2, y2, want_gb, chunks, serial=False):
    """(gy2 masked by y2 > 0 if y2 is given, float64 column sums by ``chunks`` row chunks or
    None). ``serial`` picks the kernels' serial builds, for callers already on a split thread.

    Shape: gy2 (M, F), y2 (M, F) or None -> (M, F), (chunks, F)
    """
    pick = (lambda k: k.serial) if serial else (lambda k: k)
    partial = np.empty((chunks, gy2.shape[1]), dtype=np.float64) if want_gb else None
    if y2 is not None:
        masked = np.empty_like(gy2)
        if want_gb:
            pick(K.relu_backward_colsum)(gy2, y2, masked, partial)
        else:
            pick(K.relu_backward)(gy2, y2, masked)
        gy2 = masked
    elif want_gb:
        pick(K.colsum)(gy2, partial)
    return gy2, partial


_SUM_CHUNKS = 8  # row chunks for the parallel bias-gradient sums (a few per core)

#: Convolutions with at most this many input channels build their im2col columns through a
#: channel-planar copy (``im2col_planar``: 0.17 against 0.80 ms for a 128x128 RGB image).
PLANAR_MAX_CHANNELS = 4

#: Convolutions with at least this many input channels rebuild their im2col columns in backward
#: instead of keeping them from the forward pass (see Conv2DFn.forward).
RECOMPUTE_COLS_MIN_CHANNELS = 16


def use_winograd(KH, KW, SH, SW, C, dtype, chunked=False) -> bool:
    """Whether a convolution of this geometry takes the Winograd route.

    Needs a 3x3 kernel, stride 1, at least ``WINOGRAD_MIN_CHANNELS`` input channels and
    float32 (so float64 gradient checks stay exact), and then depends on ``MINICNN_WINOGRAD``
    (see ``_winograd_mode``): by default only ``chunked`` convolutions take it.

    Args:
        KH, KW: kernel height and width.  SH, SW: strides.  C: input channels.
        dtype: the input's dtype.  chunked: whether the batch runs split into chunks.

    Example:
        >>> import numpy as np
        >>> from minicnn.ops.conv import use_winograd
        >>> use_winograd(5, 5, 1, 1, 64, np.float32, chunked=True)
        False
    """
    fits = KH == KW == 3 and SH == SW == 1 and C >= WINOGRAD_MIN_CHANNELS and dtype == np.float32
    return fits and (_winograd_mode == "1" or (_winograd_mode == "auto" and chunked))


def _geometry(x_shape, KH, KW, SH, SW, padding, who):
    N, H, W, C = x_shape
    OH, PT = output_size_and_padding(H, KH, SH, padding)
    OW, PL = output_size_and_padding(W, KW, SW, padding)
    if OH <= 0 or OW <= 0:
        raise ValueError(
            f"{who}: a {KH}x{KW} window with strides ({SH}, {SW}) and padding='{padding}' does not "
            f"fit an input of height {H} and width {W} (the output would be {OH}x{OW}). "
            "Use padding='same' or a larger input."
        )
    return OH, OW, PT, PL


def splittable(x, w, b, geom) -> bool:
    """Whether a convolution is worth running as per-image chunks (``minicnn.ops.split``).

    A float32 batch of two or more images whose im2col matrix would have at least
    ``split.SPLIT_MIN_ELEMENTS`` elements, unless the kernel is a plain 1x1 (a matmul).

    Args:
        x: the input (N, H, W, C).  w: the kernel.  b: the bias or None.
        geom: (KH, KW, SH, SW, PT, PL, OH, OW) as ``Conv2DFn`` records it.
    """
    KH, KW, SH, SW, PT, PL, OH, OW = geom
    N, C = x.shape[0], x.shape[3]
    one_by_one = KH == KW == SH == SW == 1 and PT == PL == 0
    float32 = x.dtype == w.dtype == np.float32 and (b is None or b.dtype == np.float32)
    return (N > 1 and float32 and not one_by_one
            and N * OH * OW * KH * KW * C >= split.SPLIT_MIN_ELEMENTS)


class Conv2DFn(Function):
    """Convolution by im2col and GEMM (or Winograd) with fused bias (+ ReLU), whole batch or
    split per image.

    Large float32 batches run in chunks of whole images on a few threads
    (``minicnn.ops.split``: each chunk's im2col, GEMM and fused pass stay in cache, and backward
    rebuilds the chunk's columns from the saved input). In chunks, 3x3 stride-1 convolutions
    with C >= WINOGRAD_MIN_CHANNELS and enough output tiles take Winograd F(2x2, 3x3) for the
    forward pass and all gradients (``use_winograd``). Otherwise one im2col -> GEMM over the
    batch folded together (any window), or, opt-in (``MINICNN_WINOGRAD=1``), whole-batch
    Winograd for the forward pass and the input gradient. Off the
    split route the kernel gradient comes from im2col columns: kept from the forward pass for
    few channels, rebuilt from the saved input otherwise. With ``activation="relu"`` backward
    masks the gradient by the output (y > 0).

    Called as ``Conv2DFn.apply(x, w[, b], strides=, padding=, activation=)``; use ``conv2d``,
    which checks the arguments first. Gradients: input (col2im of ``gy @ w.T``), kernel
    (``cols.T @ gy``) and bias (column sums of ``gy``).

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
        x = self._setup(x, w, strides, padding, activation, who)
        N, H, W, C = x.shape
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        F = w.shape[3]
        self.split = self._splittable(x, w, b)
        if self.split:
            self._plan_chunks(x, w)
            y = self._forward_split(x, w, b)
            if y is not None:
                if self.needs_input_grad[1]:
                    self.x = x  # the chunks rebuild their columns in backward
                return y.reshape(N, OH, OW, F)
            self.split = False  # BLAS threads not controllable: the whole batch at once
        self.winograd = use_winograd(KH, KW, SH, SW, C, x.dtype)
        if self.winograd:
            y = winograd.conv3x3(x, winograd.transform_kernel(w), b, PT, PL, OH, OW, self.relu)
            if self.needs_input_grad[1]:
                self.x = x
            if self.relu:
                self.y = y
            return y
        cols = self._cols(x)
        y = cols @ w.reshape(KH * KW * C, F)  # (N*OH*OW, KH*KW*C) @ (KH*KW*C, F)
        if self.relu:
            if b is None:
                K.relu_(y)
            else:
                K.bias_relu_(y, b)
            self.y = y
        elif b is not None:
            y += b
        if self.needs_input_grad[1]:
            # Keep what the kernel gradient needs. With many channels im2col is a cheap run of
            # contiguous copies, so keep x (alive in the graph anyway) and rebuild the columns
            # in backward: 9x less memory held per layer (about 220 MB at 128 px, batch 32)
            # for ~1.5% of a step. With few channels (the first layer) keep the columns.
            if C >= RECOMPUTE_COLS_MIN_CHANNELS:
                self.x = x
            else:
                self.cols = cols
        return y.reshape(N, OH, OW, F)

    def _setup(self, x, w, strides, padding, activation, who):
        """Record the geometry and options; returns x C-contiguous."""
        KH, KW = w.shape[:2]
        SH, SW = strides
        OH, OW, PT, PL = _geometry(x.shape, KH, KW, SH, SW, padding, who)
        self.geom = (KH, KW, SH, SW, PT, PL, OH, OW)
        self.x_shape, self.w = x.shape, w
        self.relu = activation == "relu"
        self.split = self.winograd = False
        return np.ascontiguousarray(x)

    def _plan_chunks(self, x, w):
        """Pick the chunks' route: Winograd (its transformed kernel computed once) or im2col."""
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        tiles = ((OH + 1) // 2) * ((OW + 1) // 2)  # per image
        self.winograd = (use_winograd(KH, KW, SH, SW, x.shape[3], x.dtype, chunked=True)
                         and tiles >= WINOGRAD_MIN_TILES)
        if self.winograd:
            self.U = winograd.transform_kernel(w)

    def _cols(self, x, serial=False):
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        N, H, W, C = x.shape
        if KH == KW == SH == SW == 1 and PT == PL == 0:
            return x.reshape(N * H * W, C)  # a 1x1 convolution is a plain matmul
        if C <= PLANAR_MAX_CHANNELS:
            cols_t = np.empty((KH * KW * C, N * OH * OW), dtype=x.dtype)
            kern = K.im2col_planar
            (kern.serial if serial else kern)(x, KH, KW, SH, SW, PT, PL, OH, OW, cols_t)
            return cols_t.T  # (N*OH*OW, KH*KW*C), Fortran-ordered: BLAS reads it transposed
        cols = np.empty((N * OH * OW, KH * KW * C), dtype=x.dtype)
        (K.im2col.serial if serial else K.im2col)(x, KH, KW, SH, SW, PT, PL, OH, OW, cols)
        return cols

    def _splittable(self, x, w, b):
        """Whether to run this batch as per-image chunks (see ``minicnn.ops.split``)."""
        return splittable(x, w, b, self.geom)

    def _chunk_geometry(self):
        """(output positions per image, im2col bytes per image)."""
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        C = self.x_shape[3]
        return OH * OW, OH * OW * KH * KW * C * 4

    def _forward_split(self, x, w, b):
        """The forward pass chunk by chunk; None if the batch could not be split."""
        P, item_bytes = self._chunk_geometry()
        F = w.shape[3]
        w2 = w.reshape(-1, F)
        y = np.empty((x.shape[0] * P, F), dtype=x.dtype)

        def work(n0, n1):
            self._chunk_forward(x[n0:n1], w2, b, y[n0 * P:n1 * P])

        if split.run_chunks(work, x.shape[0], item_bytes) is None:
            return None
        if self.relu:
            self.y = y
        return y

    def _chunk_forward(self, x, w2, b, out):
        """One chunk of images: im2col -> GEMM -> bias (+ ReLU) into ``out``, all in cache
        (or Winograd's transforms and 16 GEMMs).

        Shape: x (n, H, W, C), w2 (KH*KW*C, F), b (F,) or None -> out (n*OH*OW, F)
        """
        if self.winograd:
            PT, PL, OH, OW = self.geom[4:]
            winograd.conv3x3(x, self.U, b, PT, PL, OH, OW, self.relu,
                             out=out.reshape(x.shape[0], OH, OW, -1), serial=True)
            return
        np.matmul(self._cols(x, serial=True), w2, out=out)
        if self.relu:
            if b is None:
                K.relu_.serial(out)
            else:
                K.bias_relu_.serial(out, b)
        elif b is not None:
            out += b

    def backward(self, gy):
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        F = self.w.shape[3]
        gy2 = np.ascontiguousarray(gy).reshape(-1, F)  # (N*OH*OW, F)
        want_gb = len(self.needs_input_grad) == 3 and self.needs_input_grad[2]
        if self.split:
            y2 = self.y.reshape(-1, F) if self.relu else None
            P = self._chunk_geometry()[0]

            def chunk_grad(n0, n1):  # this chunk's rows of gy, masked by the ReLU output
                rows = slice(n0 * P, n1 * P)
                return _mask_and_partial_sums(gy2[rows], None if y2 is None else y2[rows],
                                              want_gb, 1, serial=True)

            grads = self._backward_split(chunk_grad, want_gb)
            if grads is not None:
                return grads if len(self.needs_input_grad) == 3 else grads[:2]
        gy2, gb = relu_mask_and_bias_grad(gy2, self.y.reshape(-1, F) if self.relu else None,
                                          want_gb)
        gw = gx = None
        if self.needs_input_grad[1]:
            cols = self.cols if hasattr(self, "cols") else self._cols(self.x)
            gw = (cols.T @ gy2).reshape(self.w.shape)
            del cols
        if self.needs_input_grad[0]:
            gx = self._input_grad(gy2)
        return (gx, gw, gb) if len(self.needs_input_grad) == 3 else (gx, gw)

    def _backward_split(self, chunk_grad, want_gb, whole_if_unsplit=False):
        """(gx, gw, gb) chunk by chunk, or None if the batch could not be split.

        ``chunk_grad(n0, n1)`` gives images n0..n1's rows of the gradient at the convolution's
        output (after the ReLU's mask) and their float64 column sums (1, F) for the bias, or
        None for the sums when ``want_gb`` is false. Each chunk then rebuilds its im2col
        columns for its share of the kernel gradient, and reuses the same buffer for
        ``g @ w.T`` before col2im writes its images of gx (on the Winograd route: its kernel
        gradient share in the Winograd domain, and its gx by Winograd with the turned kernel).
        The kernel shares are added at the end, the bias shares in float64. If BLAS's threads
        cannot be controlled: None, or with ``whole_if_unsplit`` the whole batch as one chunk.
        """
        P, item_bytes = self._chunk_geometry()
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        F = self.w.shape[3]
        w2 = self.w.reshape(-1, F)
        want_gx, want_gw = self.needs_input_grad[0], self.needs_input_grad[1]
        gx = np.empty(self.x_shape, dtype=self.w.dtype) if want_gx else None
        if self.winograd:
            U_flip = winograd.transform_kernel_flipped(self.w) if want_gx else None
            H, W = self.x_shape[1:3]

        def work(n0, n1):
            g, part = chunk_grad(n0, n1)
            if self.winograd:
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
                K.col2im.serial(gcols, KH, KW, SH, SW, PT, PL, OH, OW, gx[n0:n1])
            return gw, part

        shares = split.run_chunks(work, self.x_shape[0], item_bytes)
        if shares is None:
            if not whole_if_unsplit:
                return None
            shares = [work(0, self.x_shape[0])]
        gw = gb = None
        if want_gw:
            # a few shares, each a full GEMM sum already: float32 in place is enough here, and
            # np.sum over the list (a stacked copy, in float64) took 2 ms for 8 (16, 128, 128)
            gw = shares[0][0]
            for share in shares[1:]:
                gw += share[0]
            if self.winograd:  # the shares are in the Winograd domain: (16, C, F)
                gw = winograd.kernel_grad_to_hwio(gw)
            gw = gw.astype(self.w.dtype, copy=False).reshape(self.w.shape)
        if want_gb:
            gb = np.sum([s[1][0] for s in shares], axis=0).astype(self.w.dtype)
        return gx, gw, gb

    def _input_grad(self, gy2):
        KH, KW, SH, SW, PT, PL, OH, OW = self.geom
        N, H, W, C = self.x_shape
        F = self.w.shape[3]
        if self.winograd:
            # the input gradient is a full correlation of gy with the kernel turned 180 degrees
            U = winograd.transform_kernel_flipped(self.w)
            return winograd.conv3x3(gy2.reshape(N, OH, OW, F), U, None, 2 - PT, 2 - PL, H, W)
        gcols = gy2 @ self.w.reshape(-1, F).T  # (N*OH*OW, KH*KW*C)
        if KH == KW == SH == SW == 1 and PT == PL == 0:
            return gcols.reshape(self.x_shape)
        gx = np.empty(self.x_shape, dtype=gy2.dtype)
        K.col2im(gcols, KH, KW, SH, SW, PT, PL, OH, OW, gx)
        return gx


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
    args = (x, w) if b is None else (x, w, b)
    return Conv2DFn.apply(*args, strides=tuple(strides), padding=padding, activation=activation,
                          who=who)


def _run_pool_kernel(kern, *args) -> None:
    """``kern(*args)`` over the batch, by image chunks on the split threads when it is large.

    Every array argument is batch-major (N, ...), so a chunk is the same call with each array
    sliced to its images, on the kernel's serial build (``minicnn.ops.split``). Small batches,
    or a BLAS whose threads cannot be controlled, take one call on the whole batch.
    """
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    big = max(arrays, key=lambda a: a.size)
    N = big.shape[0]
    if N >= 2 and big.size >= split.SPLIT_MIN_ELEMENTS:
        def work(a, b):
            kern.serial(*(v[a:b] if isinstance(v, np.ndarray) else v for v in args))

        if split.run_chunks(work, N, big[0].nbytes) is not None:
            return
    kern(*args)


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
        KH, KW = pool_size
        SH, SW = strides
        OH, OW, PT, PL = _geometry(x.shape, KH, KW, SH, SW, padding, who)
        y = np.empty((N, OH, OW, C), dtype=x.dtype)
        argmax = np.empty((N, OH, OW, C), dtype=np.int32)
        x = np.ascontiguousarray(x)
        _run_pool_kernel(K.max_pool_forward, x, KH, KW, SH, SW, PT, PL, y, argmax)
        self.argmax, self.x_shape = argmax, x.shape
        self.pool_size, self.tiled = (KH, KW), (SH, SW) == (KH, KW) and PT == PL == 0
        return y

    def backward(self, gy):
        gx = np.empty(self.x_shape, dtype=gy.dtype)
        gy = np.ascontiguousarray(gy)
        if self.tiled:  # every input position in at most one window: write gx once
            _run_pool_kernel(K.max_pool_backward_tiled, gy, self.argmax, *self.pool_size, gx)
        else:
            _run_pool_kernel(K.max_pool_backward, gy, self.argmax, gx)
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
        KH, KW = pool_size
        SH, SW = strides
        OH, OW, PT, PL = _geometry(x.shape, KH, KW, SH, SW, padding, who)
        y = np.empty((N, OH, OW, C), dtype=x.dtype)
        x = np.ascontiguousarray(x)
        _run_pool_kernel(K.avg_pool_forward, x, KH, KW, SH, SW, PT, PL, y)
        self.geom, self.x_shape = (KH, KW, SH, SW, PT, PL), x.shape
        return y

    def backward(self, gy):
        gx = np.empty(self.x_shape, dtype=gy.dtype)
        gy = np.ascontiguousarray(gy)
        _run_pool_kernel(K.avg_pool_backward, gy, *self.geom, gx)
        return gx


def _pool(fn, x, pool_size, strides, padding, who):
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D NHWC input. Received: shape {x.shape}")
    strides = pool_size if strides is None else strides
    return fn.apply(x, pool_size=tuple(pool_size), strides=tuple(strides), padding=padding,
                    who=who)


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
    return _pool(MaxPool2DFn, x, pool_size, strides, padding, who)


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
    return _pool(AvgPool2DFn, x, pool_size, strides, padding, who)
