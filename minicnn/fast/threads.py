"""Make numba's idle OpenMP threads sleep instead of spin, without touching the environment.

numba's parallel kernels run on OpenMP (libgomp) threads, which by default spin for a while
after each parallel region. When anything else wants the cores (OpenBLAS's own threads between
kernels, the data pipeline's decode threads, another process) the spinning threads steal their
time: measured on the 2-core machine with other work running, a cat-dog training step took
470-3500 ms with spinning and 400-460 ms with ``OMP_WAIT_POLICY=PASSIVE``, and single-image
inference 16 ms vs 7 ms. On an idle machine the difference is within noise.

libgomp reads the policy once, when it loads, which numba does at its first parallel call.
So ``passive_openmp()`` starts numba's threads itself, with ``OMP_WAIT_POLICY=PASSIVE`` set
just for that moment and the environment put back as it was right after: the policy reaches
libgomp and nothing else (no later OpenMP runtime, no subprocess). A user's own
``OMP_WAIT_POLICY`` is left alone and wins. It has no effect if another library already loaded
libgomp (importing torch or TensorFlow first, for example). The fast path calls it before its
first parallel kernel (``minicnn.fast.parallel``); ``import minicnn`` changes nothing.
"""

from __future__ import annotations

import os
import threading

_done = False
_lock = threading.Lock()


def started() -> bool:
    """Whether numba's thread pool has started in this process (by minicnn or anyone)."""
    from numba.np.ufunc import parallel

    return _done or bool(getattr(parallel, "_is_initialized", False))


def passive_openmp() -> None:
    """Start numba's thread pool with libgomp set to passive waiting (once per process).

    Example:
        >>> import os
        >>> from minicnn.fast.threads import passive_openmp
        >>> before = dict(os.environ); passive_openmp(); dict(os.environ) == before
        True
    """
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        from numba.np.ufunc import parallel

        if "OMP_WAIT_POLICY" in os.environ:
            parallel._launch_threads()
        else:
            os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
            try:
                parallel._launch_threads()
            finally:
                del os.environ["OMP_WAIT_POLICY"]
        _done = True
