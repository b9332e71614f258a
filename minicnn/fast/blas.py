"""Hold numpy's BLAS at one thread while minicnn runs its own threads over a batch.

The chunked routes split a batch into chunks of images and run them on a small pool of Python
threads (``minicnn.fast.chunks``), each doing im2col, its GEMM and the fused passes on data that
stays in cache. Each chunk's GEMM must then run on the calling thread only: two threads each
asking a 2-thread BLAS for help would oversubscribe the cores. threadpoolctl sets the thread
count of the BLAS library numpy loaded; the count is put back when the last hold ends.

Why hold BLAS at one thread for a whole training or inference step, not just around the
chunks: after each multi-threaded call, OpenBLAS's worker threads spin for about 0.1 s (2**28
cycles, its default ``OPENBLAS_THREAD_TIMEOUT``) waiting for more work. One 2-thread GEMM
anywhere in a step (the dense layers, a small convolution) left a spinning thread competing
with the chunk threads for the 2 cores: measured at 128 px, batch 32, training ran at 89 img/s
with BLAS switched per convolution and 124 img/s with OPENBLAS_THREAD_TIMEOUT=4; holding BLAS
at one thread for the whole step gives the same gain without the environment variable.

Which BLAS: the one numpy itself loaded. Importing scipy or scikit-learn first loads a second
OpenBLAS (their own copy); threadpoolctl then lists two. numpy's is the one whose file lies in
numpy's own folders (``numpy.libs`` beside the package, for wheels); when no file can be told
apart that way, every BLAS listed is held (holding scipy's too costs nothing during a step).

Threads: holds are counted, not locked. The first hold (from any thread) sets BLAS to one
thread, the last one out restores the count, so several threads can run ``predict`` at once,
each with its own chunks on the shared pool, while BLAS stays at one thread for all of them.

Processes: a child forked while a hold was open starts with no hold open and gets BLAS's
thread count back (``os.register_at_fork``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator

_lock = threading.Lock()  # guards the counters below; never held while a step runs
_holds = 0  # holds open now, over all threads
_before: list[int] = []  # the thread counts of _controllers before the first open hold
_controllers: list | None = None  # threadpoolctl controllers of numpy's BLAS; [] if none
_why_not = ""  # why there are none, for the warning
_generation = 0  # bumped in a forked child: holds opened before the fork end there as no-ops


def _numpy_dirs() -> tuple[str, ...]:
    import numpy

    pkg = os.path.dirname(os.path.realpath(numpy.__file__))
    return (pkg + os.sep, pkg + ".libs" + os.sep)


def numpy_blas(controllers: list) -> list:
    """Of threadpoolctl's BLAS controllers, those of numpy's own BLAS (see the module notes).

    One controller is numpy's; of several, those whose file lies under numpy's folders; if
    none does, all of them.

    Example:
        >>> from minicnn.fast.blas import numpy_blas
        >>> numpy_blas([])
        []
    """
    if len(controllers) <= 1:
        return list(controllers)
    dirs = _numpy_dirs()
    mine = [c for c in controllers if os.path.realpath(c.filepath).startswith(dirs)]
    return mine or list(controllers)


def _import_threadpoolctl():
    """threadpoolctl's ThreadpoolController, imported without changing os.environ (its import
    sets KMP_DUPLICATE_LIB_OK for Intel's OpenMP: put the environment back as it was)."""
    had = os.environ.get("KMP_DUPLICATE_LIB_OK")
    try:
        from threadpoolctl import ThreadpoolController
    finally:
        if had is None:
            os.environ.pop("KMP_DUPLICATE_LIB_OK", None)
        else:
            os.environ["KMP_DUPLICATE_LIB_OK"] = had
    return ThreadpoolController


def _blas() -> list:
    """The controllers of numpy's BLAS (looked up once; [] when it cannot be controlled)."""
    global _controllers, _why_not
    if _controllers is None:
        try:
            import numpy  # noqa: F401  (make sure numpy's BLAS is loaded)

            ThreadpoolController = _import_threadpoolctl()
        except ImportError:
            _why_not = "threadpoolctl is not installed"
            _controllers = []
            return _controllers
        found = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        if not found:
            _why_not = "threadpoolctl finds no BLAS library loaded by numpy"
        _controllers = numpy_blas(found)
    return _controllers


def why_not_controllable() -> str:
    """Why BLAS's threads cannot be controlled, or "" when they can.

    Example:
        >>> from minicnn.fast.blas import why_not_controllable
        >>> isinstance(why_not_controllable(), str)
        True
    """
    return "" if _blas() else _why_not


def blas_threads() -> int | None:
    """How many threads numpy's BLAS uses now, or None if it cannot be controlled.

    Example:
        >>> from minicnn.fast.blas import blas_threads
        >>> n = blas_threads()
        >>> n is None or n >= 1
        True
    """
    blas = _blas()
    return None if not blas else int(blas[0].get_num_threads())


def _set(counts: list[int]) -> bool:
    # the first hold and the last may be on different threads: take control from whichever
    # thread set the count last (threadpoolctl otherwise ignores a second thread's setting)
    _release_control()
    for c, n in zip(_controllers, counts):
        c.set_num_threads(n)
    return all(int(c.get_num_threads()) == n for c, n in zip(_controllers, counts))


def _release_control() -> None:
    # threadpoolctl lets one Python thread at a time set OpenBLAS's shared pool: let go, so that
    # whichever thread opens the next first hold can take control
    for c in _controllers or []:
        release = getattr(type(c), "clear_controlling_thread", None)
        if release is not None:
            release(force=True)


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[int | None]:
    """Hold BLAS at one thread; yields the count it had before the first open hold.

    Holds nest and overlap across threads: every hold yields the count from before the first
    one, so the chunks know how many threads they may run; the last hold to end restores it.

    Yields None, changing nothing, when the BLAS cannot be controlled or refuses the change.

    Example:
        >>> from minicnn.fast.blas import blas_threads, single_threaded_blas
        >>> before = blas_threads()
        >>> with single_threaded_blas() as had:
        ...     with single_threaded_blas() as inner:
        ...         inside = blas_threads()
        >>> had is None or (had, inner, inside, blas_threads()) == (before, before, 1, before)
        True
    """
    global _holds, _before
    if not _blas():
        yield None
        return
    generation = _generation
    with _lock:
        if _holds == 0:
            before = [int(c.get_num_threads()) for c in _controllers]
            if not _set([1] * len(before)):
                _set(before)
                _release_control()
                held = False
            else:
                _before, held = before, True
        else:
            held = True
        if held:
            _holds += 1
            had = max(_before)
    if not held:
        yield None
        return
    try:
        yield had
    finally:
        with _lock:
            if generation == _generation:  # else forked since: the child's reset closed it
                _holds -= 1
                if _holds == 0:
                    _set(_before)
                    _release_control()


def _reset_in_child() -> None:
    # a child forked while a hold was open (in any thread) inherits BLAS at one thread and a
    # count no thread of its own will ever close: give BLAS its count back, start clean
    global _lock, _holds, _generation
    _lock = threading.Lock()
    _generation += 1
    if _holds and _controllers:
        _holds = 0
        _release_control()
        _set(_before)
    _holds = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_in_child)


_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Warn with ``message`` the first time ``key`` comes up in this process.

    Example:
        >>> import warnings
        >>> from minicnn.fast.blas import warn_once
        >>> with warnings.catch_warnings(record=True) as seen:
        ...     warnings.simplefilter("always")
        ...     warn_once("doc-example", "once"); warn_once("doc-example", "twice")
        >>> [str(w.message) for w in seen]
        ['once']
    """
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
