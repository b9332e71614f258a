"""Switch numpy's BLAS to one thread while minicnn runs its own threads over a batch.

The convolutions split a batch into per-image chunks and run the chunks on a small pool of
Python threads (``minicnn.ops.split``), each doing im2col, its GEMM and the fused passes on data
that stays in cache. Each chunk's GEMM must then run on the calling thread only: two threads
each asking a 2-thread BLAS for help would oversubscribe the cores. threadpoolctl finds the BLAS
that numpy loaded (OpenBLAS, MKL, BLIS) and sets its thread count; the count is put back when
the batch is done.

Why hold BLAS at one thread for a whole training or inference step (``minicnn.models``), not
just around the chunks: after each multi-threaded call, OpenBLAS's worker threads spin for about
0.1 s (2**28 cycles, its default ``OPENBLAS_THREAD_TIMEOUT``) waiting for more work. One
2-thread GEMM anywhere in a step (the dense layers, a small convolution) left a spinning thread
competing with the chunk threads for the 2 cores: measured at 128 px, batch 32, training ran at
89 img/s with BLAS switched per convolution and 124 img/s with OPENBLAS_THREAD_TIMEOUT=4; holding
BLAS at one thread for the whole step gives the same gain without the environment variable.

If no controllable BLAS is found, ``blas_threads()`` returns None and the convolutions keep
their one-big-GEMM route.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

_lock = threading.RLock()  # one thread at a time holds the count; holds nest
_depth = 0  # how many holds are open (on the thread that owns _lock)
_outer: int | None = None  # BLAS's thread count before the outermost hold
_controller = None
_searched = False


def _reset_in_child() -> None:
    # a child forked while another thread held BLAS inherits a locked lock: start clean
    global _lock, _depth
    _lock, _depth = threading.RLock(), 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)


def _blas():
    """The threadpoolctl controller of numpy's BLAS, or None (looked up once)."""
    global _controller, _searched
    if not _searched:
        _searched = True
        try:
            import numpy  # noqa: F401  (make sure numpy's BLAS is loaded)
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        found = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        _controller = found[0] if len(found) == 1 else None
    return _controller


def blas_threads() -> int | None:
    """How many threads numpy's BLAS uses now, or None if it cannot be controlled.

    Example:
        >>> from minicnn._blas import blas_threads
        >>> n = blas_threads()
        >>> n is None or n >= 1
        True
    """
    blas = _blas()
    return None if blas is None else int(blas.get_num_threads())


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[int | None]:
    """Hold BLAS at one thread; yields the count it had before the hold (restored on exit).

    Holds nest: an inner hold (a convolution's chunks inside a training step held as a whole)
    yields the count from before the outermost one, so the chunks still know how many threads
    they may run. Other Python threads wait for the hold to end before taking their own.

    Yields None, changing nothing, when the BLAS cannot be controlled or refuses the change
    (threadpoolctl lets only one Python thread at a time set OpenBLAS's shared pool).

    Example:
        >>> from minicnn._blas import blas_threads, single_threaded_blas
        >>> before = blas_threads()
        >>> with single_threaded_blas() as had:
        ...     with single_threaded_blas() as inner:
        ...         inside = blas_threads()
        >>> had is None or (had, inner, inside, blas_threads()) == (before, before, 1, before)
        True
    """
    global _depth, _outer
    blas = _blas()
    if blas is None:
        yield None
        return
    with _lock:
        if _depth == 0:
            before = int(blas.get_num_threads())
            if before != 1:
                blas.set_num_threads(1)
                if int(blas.get_num_threads()) != 1:
                    yield None
                    return
            _outer = before
        _depth += 1
        try:
            yield _outer
        finally:
            _depth -= 1
            if _depth == 0:
                if _outer != 1:
                    blas.set_num_threads(_outer)
                release = getattr(type(blas), "clear_controlling_thread", None)
                if release is not None:
                    release()  # let whichever thread trains next take control
