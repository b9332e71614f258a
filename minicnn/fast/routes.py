"""The route table: every way the fast path can run an op, when it applies, and why.

``choose(op, facts)`` walks ``ROUTES`` top to bottom and takes the first row for ``op`` whose
``when`` holds; an op with no row that applies runs on the plain path. This is the only
place that decides. The thresholds below were measured on the 2-core development machine
(benchmarks/layers.py, 128 px, batch 32, medians of 5, JIT warm) unless a row says otherwise.

To give a new op a fast route: write its fast Function in ``minicnn/fast/`` (usually a
subclass of the plain one) and add a row naming it here; its plain op already asks
``minicnn.ops.route.pick`` for a route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from minicnn._env import env_flag
from minicnn.fast import blas
from minicnn.kernels.geometry import output_size_and_padding
from minicnn.tensor import Tensor, is_grad_enabled

#: Batches whose whole im2col matrix (N*OH*OW*KH*KW*C elements) is smaller than this are not
#: split into chunks: below it, handing chunks to threads costs more than the cache saves.
SPLIT_MIN_ELEMENTS = 1 << 18

#: Winograd F(2x2, 3x3) needs at least this many input channels: below it, its transforms
#: cost more than the multiplications they save.
WINOGRAD_MIN_CHANNELS = 16

#: ...and, in chunks, at least this many 2x2 output tiles per image: below it the 16 GEMMs get
#: too small (the cat-dog network's last convolution, 4x4 outputs, measured 2x slower).
WINOGRAD_MIN_TILES = 16

#: Convolutions with at most this many input channels build their columns through a
#: channel-planar copy (``im2col_planar``): 0.17 against 0.80 ms for a 128x128 RGB image, 3x3
#: kernel, single-threaded; at C = 8 the two are even.
PLANAR_MAX_CHANNELS = 4

#: Whole-batch convolutions with at least this many input channels rebuild their columns in
#: backward instead of keeping them: 9x less memory held per layer (about 220 MB at 128 px,
#: batch 32) for ~1.5% of a step (with many channels im2col is a run of contiguous copies).
RECOMPUTE_COLS_MIN_CHANNELS = 16

#: Kernel calls whose largest operand has at least this many elements take the kernel's
#: parallel build (``minicnn.fast.parallel``): a parallel region costs tens of microseconds on
#: a quiet machine and far more on a busy one, which small calls cannot repay.
PARALLEL_MIN_ELEMENTS = 1 << 20

#: One image at inference: convolutions with at least this many multiply-adds
#: (OH*OW*KH*KW*C*F) split their output rows over the cores (``minicnn.fast.chunks.run_bands``).
#: The shipped model's layers, one 128 px image, medians of 40, BLAS at one thread, two bands
#: against one on the 2-core machine shared with other jobs: at load ~2.6, 0.82 against 1.46 ms
#: (14M MACs, the RGB layer), 1.28 against 2.64 (69M), 0.77 against 1.39 (58M), 0.45 against
#: 0.61 (21M); at load ~4.5, when the second core is rarely free, 0.88 against 0.90 (14M) and
#: 0.50 against 0.46 ms (21M). Below it the handoff costs more than half the work saves: 4.7M
#: MACs (4x4 outputs) 0.41 against 0.18 ms at load ~4.5.
ROWS_MIN_MACS = 1 << 23

#: One image's SeparableConv2D splits its output rows over the cores from this many output
#: pixels (at least 256 a band on two cores): the residual cat-dog network's 16x16 layers
#: were no faster in two bands than serial (0.38 against 0.30 ms, 0.23 against 0.21), its
#: 32x32 and 64x64 ones 1.5-1.6x faster; 8x8 twice as slow.
ROWS_SEPARABLE_MIN_PIXELS = 512

#: ...and Winograd in those bands needs this many 2x2 tiles per image: 36 tiles (12x12
#: outputs, 128 -> 128 channels) measured 0.55 ms in two Winograd bands against 0.45 in two
#: im2col bands (load ~2.6); 196 and 961 tiles gained (0.77 against 0.94, 1.28 against 1.53).
ROWS_WINOGRAD_MIN_TILES = 64

#: ``MINICNN_WINOGRAD``: None ("auto", the default) runs Winograd only in chunks, where each
#: chunk's 16 transformed planes stay in cache; True also whole batches and single images
#: (whole-batch Winograd streams its planes through memory and measured slower than im2col
#: there, see benchmarks/README.md); False never.
WINOGRAD: bool | None = env_flag("MINICNN_WINOGRAD", None)

#: ``MINICNN_FUSE``: whether Conv2D(relu) + MaxPooling2D pairs may run as one operation.
FUSE: bool = bool(env_flag("MINICNN_FUSE", True))

#: ``MINICNN_FOLD``: whether a BatchNormalization (and a ReLU after it) may be folded into the
#: convolution before it at inference (``minicnn.fast.folding``).
FOLD: bool = bool(env_flag("MINICNN_FOLD", True))

#: ``MINICNN_POINTWISE_SPLIT``: whether big pointwise (1x1) matmuls run as row chunks.
POINTWISE_SPLIT: bool = bool(env_flag("MINICNN_POINTWISE_SPLIT", True))

#: Pointwise matmuls with fewer bytes of rows (N*H*W * max(C, F) * 4) than this run whole:
#: two chunks' worth (``minicnn.fast.pointwise.POINTWISE_CHUNK_BYTES``).
POINTWISE_MIN_BYTES = 2 << 21


@dataclass(frozen=True)
class Route:
    """One row of the table: ``op`` runs as ``fn`` (a name in ``minicnn.fast.conv``,
    ``fused``, ``pointwise``, ``separable``, ``folding`` or ``bn_relu``) when ``when(facts)``
    holds; ``why`` gives the measured reason."""

    op: str
    name: str
    fn: str
    when: Callable[[Any], bool]
    why: str


def _chunkable(f) -> bool:
    """A float32 batch of two or more images, big enough to split, and BLAS held at one thread
    (the chunk threads each run single-threaded GEMMs)."""
    return (f.N > 1 and f.float32 and f.elements >= SPLIT_MIN_ELEMENTS and not f.one_by_one
            and _blas_ok())


def _one_image(f) -> bool:
    """One float32 image at inference (no gradient recorded)."""
    return f.N == 1 and f.float32 and f.inference and not f.one_by_one


def _rows(f) -> bool:
    """``_one_image``, big enough to split its output rows over the cores, and BLAS held at
    one thread (each band runs single-threaded GEMMs)."""
    return _one_image(f) and f.OH >= 2 and f.macs >= ROWS_MIN_MACS and _blas_ok()


def _winograd_fits(f) -> bool:
    return (f.KH == f.KW == 3 and f.SH == f.SW == 1 and f.C >= WINOGRAD_MIN_CHANNELS
            and f.float32 and WINOGRAD is not False)


def _one_image_separable(f) -> bool:
    """One float32 image through SeparableConv2D at inference (its depthwise window may be
    1x1)."""
    return f.N == 1 and f.float32 and f.inference


def _pointwise_rows(f) -> bool:
    """A float32 1x1 matmul with enough pixel rows for two chunks, and BLAS held at one thread
    (each chunk runs a single-threaded GEMM)."""
    return (POINTWISE_SPLIT and f.float32
            and f.N * f.H * f.W * 4 * max(f.C, f.F) >= POINTWISE_MIN_BYTES and _blas_ok())


def _pool_chunkable(f) -> bool:
    return f.N > 1 and f.float32 and f.x_size >= SPLIT_MIN_ELEMENTS and _blas_ok()


ROUTES: tuple[Route, ...] = (
    # one image at inference: its output rows in bands, one per core
    Route("conv2d+max_pool2d", "fused-rows", "RowsConv2DReluMaxPoolFn",
          lambda f: FUSE and f.relu and f.pool_tiles and _rows(f),
          "each band pools its convolution rows while they are in cache, as the chunks do "
          "for batches; the shipped model's one-image latency against onnxruntime is in "
          "benchmarks/README.md"),
    Route("conv2d", "rows-winograd", "RowsWinogradConv2DFn",
          lambda f: _rows(f) and _winograd_fits(f) and f.tiles >= ROWS_WINOGRAD_MIN_TILES,
          "a band of many tiles is like a chunk, so Winograd pays as in chunks: 63 px, 32 -> 64 "
          "channels 1.28 against 1.53 ms in im2col bands; 30 px, 64 -> 128: 0.77 against 0.94 "
          "ms; the kernel's transform kept while the weights stay equal (cached_transform)"),
    Route("conv2d", "one-winograd", "OneImageWinogradConv2DFn",
          lambda f: _one_image(f) and _winograd_fits(f) and f.macs < ROWS_MIN_MACS,
          "one image too small to split: serial Winograd against serial im2col + GEMM, 4x4 "
          "outputs 128 -> 256 channels 0.094 against 0.147 ms (even 4 tiles pay at one "
          "image), 12x12 outputs 128 -> 128 0.46 against 0.74 ms; transform cached"),
    Route("conv2d", "rows-planar", "RowsPlanarConv2DFn",
          lambda f: _rows(f) and f.C <= PLANAR_MAX_CHANNELS,
          "bands (above), columns by the channel-planar copy for few channels"),
    Route("conv2d", "rows-im2col", "RowsIm2colConv2DFn", _rows,
          "one image's output rows in one band per core: a single image otherwise runs on "
          "one core (BLAS held at one thread for the step, see chunks.batch_step)"),
    # conv -> BatchNormalization [-> ReLU] at inference, asked by the graph runner
    Route("conv+batch_norm", "folded", "run_folded",
          lambda f: FOLD and f.inference and f.float32,
          "BatchNormalization's affine map folded into the convolution's kernel and bias, a "
          "ReLU after it into the convolution's output pass: two passes over the activations "
          "saved (residual cat-dog network, batch 32: BN and ReLU were 21% of inference)"),
    # BatchNormalization -> ReLU, training or inference, asked by the graph runner
    Route("batch_norm+relu", "fused", "run_bn_relu", lambda f: FUSE and f.float32,
          "the ReLU applied as BN writes its output, and its mask recomputed from BN's input "
          "in BN's backward kernels: 13 passes over the activations become 8, ReLU's output "
          "is never kept"),
    # conv2d + max_pool2d, asked by the model's layer loop (``minicnn.fast.fused.fuse_pair``)
    Route("conv2d+max_pool2d", "fused-chunks", "Conv2DReluMaxPoolFn",
          lambda f: FUSE and f.relu and f.pool_tiles and _chunkable(f),
          "the convolution's output never leaves cache: the first cat-dog convolution's is "
          "65 MB at 128 px, batch 32, written and read back twice (forward and backward)"),
    # conv2d
    Route("conv2d", "chunks-winograd", "ChunkedWinogradConv2DFn",
          lambda f: _chunkable(f) and _winograd_fits(f) and f.tiles >= WINOGRAD_MIN_TILES,
          "2.25x fewer multiplications; each chunk's 16 transformed planes stay in cache"),
    Route("conv2d", "chunks-planar", "ChunkedPlanarConv2DFn",
          lambda f: _chunkable(f) and f.C <= PLANAR_MAX_CHANNELS,
          "chunks in cache (below), columns by the channel-planar copy for few channels"),
    Route("conv2d", "chunks-im2col", "ChunkedIm2colConv2DFn", _chunkable,
          "chunks of 1-2 images keep their ~2-4 MB of columns in cache between im2col, GEMM, "
          "the bias/ReLU pass and col2im: first three cat-dog convolutions 45/59/37 -> "
          "23/34/23 ms forward, 34/105/65 -> 32/74/50 ms backward"),
    Route("conv2d", "winograd", "WinogradConv2DFn",
          lambda f: WINOGRAD is True and _winograd_fits(f),
          "forced on (MINICNN_WINOGRAD=1): whole-batch Winograd measured slower than im2col"),
    Route("conv2d", "chunks-1x1", "ChunkedMatmulConv2DFn",
          lambda f: f.one_by_one and _pointwise_rows(f),
          "the pointwise chunks (below): a step holds BLAS at one thread, so the whole-batch "
          "1x1 matmul ran on one core (a (131072, 256) @ (256, 256) GEMM measured at 1 thread "
          "inside batch_step)"),
    Route("conv2d", "1x1-matmul", "MatmulConv2DFn", lambda f: f.one_by_one,
          "a 1x1, stride-1, unpadded convolution is one matmul: no columns to build"),
    Route("conv2d", "planar", "PlanarConv2DFn", lambda f: f.C <= PLANAR_MAX_CHANNELS,
          "columns by the channel-planar copy: 0.17 against 0.80 ms for a 128x128 RGB image"),
    Route("conv2d", "im2col", "Im2colConv2DFn", lambda f: True,
          "parallel kernel builds for large calls, one fused bias/ReLU pass, columns rebuilt "
          "in backward from RECOMPUTE_COLS_MIN_CHANNELS channels up"),
    # SeparableConv2D at inference (minicnn.fast.separable)
    Route("separable_conv", "rows", "RowsSeparableConvFn",
          lambda f: (_one_image_separable(f) and f.OH * f.OW >= ROWS_SEPARABLE_MIN_PIXELS
                     and _blas_ok()),
          "one image's output rows in one band per core, each band's depthwise output in "
          "cache for its matmul: the residual cat-dog network's layers at 64x64 and 32x32 "
          "pixels 0.90 -> 0.56, 1.20 -> 0.73, 0.49 -> 0.32, 0.70 -> 0.46 ms against the two "
          "ops (serial depthwise, pointwise in bands)"),
    Route("separable_conv", "one", "ChunkedSeparableConvFn", _one_image_separable,
          "one image too small to split (8x8: 0.12 ms serial against 0.24 in two bands): "
          "the chunk route's single chunk, the depthwise output in cache for the matmul"),
    Route("separable_conv", "chunks", "ChunkedSeparableConvFn",
          lambda f: f.N > 1 and f.float32 and f.inference and f.elements >= SPLIT_MIN_ELEMENTS
          and _blas_ok(),
          "each chunk's depthwise output stays in cache for its pointwise matmul, bias and "
          "ReLU: the two ops wrote and re-read the whole depthwise output"),
    # SeparableConv2D's pointwise step (minicnn.fast.pointwise)
    Route("pointwise_conv", "rows", "RowsPointwiseConvFn",
          lambda f: (f.N == 1 and f.float32 and f.inference and f.macs >= ROWS_MIN_MACS
                     and _blas_ok()),
          "one image's pixel rows in one band per core, as the convolutions' rows routes: "
          "inside an inference step BLAS is held at one thread, so the matmul ran on one core"),
    Route("pointwise_conv", "chunks", "ChunkedPointwiseConvFn",
          _pointwise_rows,
          "a training step holds BLAS at one thread, so one whole-batch matmul ran on one "
          "core; row chunks use both (mini-Xception pointwise shapes at load ~2.3: forward "
          "96->61, 208->159, 211->88, 85->39 ms; backward 165->115, 437->204, 285->174, "
          "153->100 ms)"),
    # pooling
    Route("max_pool2d", "chunks", "ChunkedMaxPool2DFn", _pool_chunkable,
          "on the chunk threads (whole images per chunk): a training step never starts "
          "numba's OpenMP pool, and a fresh-cache first step compiles only serial kernels "
          "(13.1 -> 3.7 s together with the chunked convolutions)"),
    Route("max_pool2d", "whole", "MaxPool2DFastFn", lambda f: True,
          "parallel builds for large calls; windows that tile the input write gx once"),
    Route("avg_pool2d", "chunks", "ChunkedAvgPool2DFn", _pool_chunkable,
          "as max_pool2d's chunks"),
    Route("avg_pool2d", "whole", "AvgPool2DFastFn", lambda f: True,
          "parallel builds for large calls"),
)


def _blas_ok() -> bool:
    """Whether BLAS can be held at one thread; if not, warn once saying what it costs."""
    why = blas.why_not_controllable()
    if why:
        blas.warn_once("blas", f"minicnn: the chunked routes cannot run ({why}): "
                       "convolutions and pooling run whole-batch instead, measured 1.3-2x "
                       "slower per convolution at 128 px, batch 32.")
    return not why


def _data(t):
    return t.data if isinstance(t, Tensor) else t


def facts_of(op: str, facts: dict) -> SimpleNamespace:
    """The derived quantities the rows look at, from an op's Tensors and options.

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.routes import facts_of
        >>> f = facts_of("conv2d", dict(x=np.zeros((2, 8, 8, 3), np.float32),
        ...              w=np.zeros((3, 3, 3, 4), np.float32), strides=(1, 1), padding="valid"))
        >>> f.OH, f.elements, f.one_by_one, f.tiles
        (6, 1944, False, 9)
    """
    x = _data(facts["x"])
    N, H, W, C = x.shape
    f = SimpleNamespace(N=N, H=H, W=W, C=C, x_size=x.size, float32=x.dtype == np.float32)
    if "w" in facts:
        w, b = _data(facts["w"]), _data(facts.get("b"))
        f.KH, f.KW, _, f.F = w.shape
        f.SH, f.SW = facts["strides"]
        f.OH, f.PT = output_size_and_padding(H, f.KH, f.SH, facts["padding"])
        f.OW, f.PL = output_size_and_padding(W, f.KW, f.SW, facts["padding"])
        pw = _data(facts.get("pw"))  # a separable convolution's pointwise kernel
        f.float32 = (f.float32 and w.dtype == np.float32 and (b is None or b.dtype == np.float32)
                     and (pw is None or pw.dtype == np.float32))
        f.one_by_one = f.KH == f.KW == f.SH == f.SW == 1 and f.PT == f.PL == 0
        f.elements = N * f.OH * f.OW * f.KH * f.KW * C
        f.macs = f.elements * f.F
        # no gradient will be asked of this call: inference-only routes may apply
        f.inference = not (is_grad_enabled() and any(
            isinstance(facts.get(k), Tensor) and facts[k].requires_grad
            for k in ("x", "w", "b", "pw")))  # pw: a separable convolution's pointwise kernel
        f.tiles = ((f.OH + 1) // 2) * ((f.OW + 1) // 2)  # Winograd 2x2 tiles per image
        f.relu = facts.get("activation") == "relu"
        pool = facts.get("pool_size")
        f.pool_tiles = pool is not None and f.OH >= pool[0] and f.OW >= pool[1]
    return f


def route_for(op: str, facts: dict) -> Route | None:
    """The first row of ``ROUTES`` for ``op`` that applies, or None (the plain path).

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.routes import route_for
        >>> route_for("conv2d", dict(x=np.zeros((1, 8, 8, 3), np.float32),
        ...           w=np.zeros((3, 3, 3, 4), np.float32), strides=(1, 1),
        ...           padding="valid")).name
        'planar'
    """
    rows = [r for r in ROUTES if r.op == op]
    if not rows:
        return None
    f = facts_of(op, facts)
    return next((r for r in rows if r.when(f)), None)


def choose(op: str, facts: dict) -> tuple[type | None, str]:
    """(the fast Function for this call, the route's name), or (None, "plain").

    Example:
        >>> import numpy as np
        >>> from minicnn.fast.routes import choose
        >>> fn, name = choose("max_pool2d", dict(x=np.zeros((1, 4, 4, 2), np.float32)))
        >>> fn.__name__, name
        ('MaxPool2DFastFn', 'whole')
    """
    row = route_for(op, facts)
    if row is None:
        return None, "plain"
    return function_of(row), row.name


#: Each row's Function, looked up once: the imports and lookups cost ~7 us a call, a dozen
#: calls per one-image predict.
_functions: dict[str, Any] = {}


def function_of(row: Route) -> type:
    """The Function class (or, for a chain of layers, the function) a row names, in
    ``minicnn.fast.conv``, ``fused``, ``pointwise``, ``separable``, ``folding`` or
    ``bn_relu``."""
    fn = _functions.get(row.fn)
    if fn is not None:
        return fn
    from minicnn.fast import bn_relu, conv, folding, fused, pointwise, separable

    for module in (conv, fused, pointwise, separable, folding, bn_relu):
        fn = getattr(module, row.fn, None)
        if fn is not None:
            _functions[row.fn] = fn
            return fn
    raise LookupError(f"route {row.op}/{row.name}: no Function {row.fn} in minicnn.fast")
