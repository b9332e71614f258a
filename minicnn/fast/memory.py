"""Keep freed activation buffers in the process instead of returning them to the OS.

A training step allocates and frees the same large arrays (im2col matrices, activations,
gradients) every step. glibc serves large allocations (above a threshold that adapts up to
32 MB) with fresh ``mmap``s and unmaps them on free, so every step pays page faults on hundreds
of MB (measured: a 65 MB GEMM output cost 66 ms allocated fresh vs 10 ms reused). Raising the
mmap and trim thresholds to 1 GiB lets glibc reuse the freed blocks: on glibc 2.36 here a
second 64 MB array allocated after the first was freed took 544 page faults untuned and 0
tuned (``tests/test_fast_path.py`` checks this). Peak resident memory is unchanged; memory is
simply not handed back between steps.

When: at the first training or inference step of a process (``minicnn.fast.chunks.batch_step``),
never at import, and only on the fast path. It is a process-wide setting that stays for the
life of the process. Opt out with ``MINICNN_MALLOC_TUNING=0`` (or run with ``MINICNN_FAST=0``).
"""

from __future__ import annotations

import ctypes
import sys

from minicnn._env import env_flag

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3
THRESHOLD_BYTES = 1 << 30  # a C int, as mallopt takes it

_state: bool | None = None  # None: not tried yet; then whether it was applied


def tune_allocator() -> bool:
    """Raise glibc's mmap and trim thresholds to ``THRESHOLD_BYTES``; whether both took.

    False, changing nothing, with ``MINICNN_MALLOC_TUNING=0``, off Linux, or without glibc.

    Example:
        >>> from minicnn.fast.memory import tune_allocator
        >>> isinstance(tune_allocator(), bool)
        True
    """
    if not env_flag("MINICNN_MALLOC_TUNING", True) or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, THRESHOLD_BYTES) == 1  # mallopt returns 1 on success
    return mallopt(_M_TRIM_THRESHOLD, THRESHOLD_BYTES) == 1 and ok


def tune_allocator_once() -> None:
    """``tune_allocator()`` the first time it is called in the process; a warning if glibc
    refuses (say what it costs), nothing when opted out or not on glibc."""
    global _state
    if _state is not None:
        return
    _state = tune_allocator()
    if not _state and env_flag("MINICNN_MALLOC_TUNING", True) and _is_glibc():
        from minicnn.fast.blas import warn_once

        warn_once("mallopt", "minicnn: glibc refused the allocator setting (mallopt): every "
                  "step re-faults its large buffers, measured 66 against 10 ms for a 65 MB "
                  "array. Set MINICNN_MALLOC_TUNING=0 to silence this.")


def _is_glibc() -> bool:
    import platform

    return sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
