"""Parallel builds of the plain kernels, for calls large enough to pay for a parallel region.

``minicnn.kernels.jit`` compiles every kernel once, serially (``prange`` runs as ``range``).
A parallel region costs tens of microseconds on a quiet machine and far more when the cores
are busy, so small problems stay serial; from ``routes.PARALLEL_MIN_ELEMENTS`` elements in the
kernel's largest operand (``kern.size_arg``) the fast path takes a ``parallel=True`` build of
the same Python function, compiled on first use and cached on disk like the serial one.
Batches of several images mostly run chunked instead (serial builds on the chunk threads);
the parallel builds serve large single images.

Forked children: GNU OpenMP cannot run in a process forked after it started its threads
(numba then kills the child: "fork() called from a process already using GNU OpenMP"). So a
child forked after a parallel kernel ran uses the serial builds only, with a warning once
saying so; everything else works as in the parent.
"""

from __future__ import annotations

import os
import threading
import types

from numba import njit

from minicnn.fast import blas, routes, threads

_builds: dict = {}
_lock = threading.Lock()
_openmp_unusable = False  # in a child forked after OpenMP's threads started


def _after_fork_in_child() -> None:
    global _openmp_unusable, _lock
    _lock = threading.Lock()
    _openmp_unusable = _openmp_unusable or threads.started()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def parallel_build(kern):
    """The ``parallel=True`` build of a ``minicnn.kernels`` kernel (compiled once).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import relu_
        >>> from minicnn.fast.parallel import parallel_build
        >>> y = np.array([[-1.0, 2.0]]); parallel_build(relu_)(y); y
        array([[0., 2.]])
    """
    build = _builds.get(kern)
    if build is None:
        with _lock:
            build = _builds.get(kern)
            if build is None:
                threads.passive_openmp()  # before numba's OpenMP threads start
                fn = kern.py_func
                # a distinct function object (own qualname): a separate on-disk cache entry
                twin = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_parallel",
                                          fn.__defaults__, fn.__closure__)
                twin.__qualname__ = fn.__qualname__ + "_parallel"
                build = _builds[kern] = njit(parallel=True, cache=True)(twin)
    return build


def auto(kern):
    """A callable running ``kern``'s parallel build for large calls and its serial one else.

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import relu_
        >>> from minicnn.fast.parallel import auto
        >>> y = np.array([[-1.0, 2.0]]); auto(relu_)(y); y
        array([[0., 2.]])
    """
    def call(*args):
        if args[kern.size_arg].size >= routes.PARALLEL_MIN_ELEMENTS:
            if not _openmp_unusable:
                return parallel_build(kern)(*args)
            blas.warn_once("openmp-fork", "minicnn: this process was forked after numba's "
                           "OpenMP threads started, and GNU OpenMP cannot run in such a "
                           "child: large single-image kernels run serially here (up to 2x "
                           "slower on 2 cores); batches of several images are not affected.")
        return kern(*args)

    return call
