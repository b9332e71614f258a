"""Run a batch as chunks of whole images on a few threads, so each chunk's data stays in cache.

Which ops run in chunks, and from what size, is decided in ``minicnn.fast.routes``.

Folding the batch into one GEMM (one im2col matrix for all 32 images) streams every
intermediate through main memory: at 128 px the second convolution's columns are 137 MB,
written by im2col and read back by the GEMM. Split into one- or two-image chunks, a chunk's
columns (~2-4 MB) are still in cache when its GEMM, fused bias/ReLU and, in backward, col2im
read them. Each worker thread runs whole chunks with serial numba kernels (compiled ``nogil``)
and single-threaded BLAS, so the threads never wait on each other within a chunk.

Pooling takes the same threads (whole images per chunk), so a training step never starts
numba's OpenMP pool and the first step compiles only serial kernels.

Measured with benchmarks/layers.py on the 2-core machine (128 px, batch 32, medians of 5), the
first three cat-dog convolutions went from 45/59/37 ms forward and 34/105/65 ms backward (one
GEMM, parallel kernels) to 23/34/23 ms and 32/74/50 ms split per image; a fresh-cache first
training step from 13.1 s to 3.7 s (fewer, serial-only compilations).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from minicnn.fast import memory
from minicnn.fast.blas import single_threaded_blas
from minicnn.tensor import is_grad_enabled

T = TypeVar("T")

#: Aim for about this many bytes of im2col columns per chunk (a core's L2 is 1 MB here and the
#: shared L3 32 MB: a few MB per thread stays in L3 between im2col, GEMM and the fused pass).
CHUNK_BYTES = 2 << 20

_pool: ThreadPoolExecutor | None = None
_pool_workers = 0
_pool_lock = threading.Lock()  # several threads may ask for the pool at once (predict)


def chunk_bounds(n_items: int, item_bytes: int, workers: int) -> list[tuple[int, int]]:
    """Split ``range(n_items)`` into contiguous chunks of about ``CHUNK_BYTES`` each.

    At least two chunks per worker when there are enough items, so that one slow chunk does not
    leave the other threads idle at the end.

    Example:
        >>> from minicnn.fast.chunks import chunk_bounds
        >>> chunk_bounds(5, 3 << 20, workers=2)
        [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
        >>> chunk_bounds(8, 1 << 19, workers=1)
        [(0, 4), (4, 8)]
    """
    per = max(1, CHUNK_BYTES // max(item_bytes, 1))
    chunks = max(math.ceil(n_items / per), min(n_items, 2 * workers))
    per = math.ceil(n_items / chunks)
    return [(i, min(i + per, n_items)) for i in range(0, n_items, per)]


def batch_step(n_images: int) -> contextlib.AbstractContextManager:
    """The context for one whole training or inference step over a batch of ``n_images``.

    For a batch (2 or more images), and for one image at inference (no gradient recorded: its
    convolutions run in row bands on the chunk threads, ``run_bands``), BLAS is held at one
    thread for the whole step, so that no multi-threaded GEMM leaves OpenBLAS threads spinning
    beside the chunk threads (see ``minicnn.fast.blas``); a single training image keeps
    BLAS's own threads. The first step also applies the allocator setting
    (``minicnn.fast.memory``).

    Example:
        >>> from minicnn.fast.blas import blas_threads
        >>> from minicnn.fast.chunks import batch_step
        >>> with batch_step(32):
        ...     inside = blas_threads()
        >>> inside in (None, 1)
        True
    """
    memory.tune_allocator_once()
    hold = n_images > 1 or not is_grad_enabled()
    return single_threaded_blas() if hold else contextlib.nullcontext()


def _forget_pool_in_child() -> None:
    # a forked child inherits the pool object but not its threads: start a new one there
    global _pool, _pool_workers, _pool_lock
    _pool, _pool_workers, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_workers
    with _pool_lock:
        if _pool is None or _pool_workers != workers:
            # an old pool is left to finish what other threads gave it (no shutdown(wait))
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minicnn-chunks")
            _pool_workers = workers
        return _pool


def run_chunks(
    work: Callable[[int, int], T], n_items: int, item_bytes: int
) -> list[T] | None:
    """``work(start, stop)`` for each chunk of the batch, on as many threads as BLAS had.

    BLAS is held at one thread meanwhile. Returns the results in chunk order, or None without
    running anything when BLAS's thread count cannot be controlled (the caller then runs the
    whole batch as one chunk).

    Example:
        >>> from minicnn.fast.chunks import run_chunks
        >>> out = run_chunks(lambda a, b: list(range(a, b)), 4, 8 << 20)
        >>> out is None or sum(out, []) == [0, 1, 2, 3]
        True
    """
    with single_threaded_blas() as workers:
        if workers is None:
            return None
        bounds = chunk_bounds(n_items, item_bytes, workers)
        if workers == 1 or len(bounds) == 1:
            return [work(a, b) for a, b in bounds]
        return list(_executor(workers).map(lambda ab: work(*ab), bounds))


def row_bands(n_rows: int, bands: int, align: int = 1) -> list[tuple[int, int]]:
    """Split ``range(n_rows)`` into at most ``bands`` contiguous bands of whole ``align``-row
    groups, the first bands taking the extra groups.

    Example:
        >>> from minicnn.fast.chunks import row_bands
        >>> row_bands(7, 2), row_bands(9, 2, align=2), row_bands(1, 4)
        ([(0, 4), (4, 7)], [(0, 4), (4, 8)], [(0, 1)])
    """
    groups = n_rows // align
    bands = max(1, min(bands, groups))
    per, extra = divmod(groups, bands)
    out, start = [], 0
    for i in range(bands):
        stop = start + (per + (i < extra)) * align
        out.append((start, stop))
        start = stop
    return out


def run_bands(work: Callable[[int, int], T], n_rows: int, align: int = 1) -> list[T] | None:
    """``work(r0, r1)`` for one band of rows per thread that BLAS had, one image split.

    The single-image twin of ``run_chunks``: one band per core (a band's GEMM is small, so
    fewer, larger bands than chunks), the first on the calling thread so that a handoff costs
    one wake-up, the others on the chunk pool. BLAS is held at one thread meanwhile. Returns
    the results in band order, or None without running anything when BLAS's thread count
    cannot be controlled.

    Example:
        >>> from minicnn.fast.chunks import run_bands
        >>> out = run_bands(lambda a, b: (a, b), 10)
        >>> out is None or out[0][0] == 0 and out[-1][1] == 10
        True
    """
    with single_threaded_blas() as workers:
        if workers is None:
            return None
        bounds = row_bands(n_rows, workers, align)
        if len(bounds) == 1:
            return [work(*bounds[0])]
        pool = _executor(workers)
        futures = [pool.submit(work, a, b) for a, b in bounds[1:]]
        try:
            first = work(*bounds[0])
        finally:
            rest = [f.result() for f in futures]  # wait for them even if the first band failed
        return [first, *rest]
