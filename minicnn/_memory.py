"""Keep freed activation buffers in the process instead of returning them to the OS.

A training step allocates and frees the same large arrays (im2col matrices, activations,
gradients) every step. glibc serves large allocations (above a threshold that adapts up to
32 MB) with fresh ``mmap``s and unmaps them on free, so every step pays page faults on hundreds
of MB (measured: a 65 MB GEMM output cost 66 ms allocated fresh vs 10 ms reused). Raising the
mmap and trim thresholds lets glibc reuse the freed blocks. Peak resident memory is
unchanged; memory is simply not handed back between steps. Set ``MINICNN_MALLOC_TUNING=0``
to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator() -> bool:
    """Raise glibc's mmap/trim thresholds; returns whether it was applied."""
    if os.environ.get("MINICNN_MALLOC_TUNING", "1") in ("0", "false", "False"):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, ...): nothing to tune
        return False
    ok = libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) == 1
    ok = libc.mallopt(_M_TRIM_THRESHOLD, 1 << 31) == 1 and ok
    return ok
