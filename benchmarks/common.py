"""What every benchmark process shares: thread settings, the network's shape, timing helpers.

Nothing here imports numpy, a framework or numba at module level: ``thread_env`` must be in the
environment before those are first imported, or their thread pools are already sized.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable

#: (filters, pooling) of the cat-dog network's five conv blocks; a copy of
#: ``minicnn.models.catdog.BLOCKS`` so the Keras and PyTorch children need not import minicnn
#: (which would add numba to their memory). tests/test_benchmarks_smoke.py checks they agree.
BLOCKS: tuple[tuple[int, str], ...] = ((32, "max"), (64, "max"), (128, "avg"), (128, "max"),
                                       (256, "avg"))
DENSE_UNITS = 256
DROPOUT = 0.5

#: Environment variables that change BLAS or thread-pool speed; reported, never changed
#: (``run.py --env`` sets extra ones explicitly, and the report says so).
BLAS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE", "OMP_WAIT_POLICY",
            "GOMP_SPINCOUNT", "OMP_PROC_BIND", "GOMP_CPU_AFFINITY", "NUMBA_THREADING_LAYER",
            "MKL_ENABLE_INSTRUCTIONS")
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def choose_padding(size: int) -> str:
    """"valid" when five valid 3x3-conv + 2x2-pool blocks fit (as minicnn's catdog_network)."""
    for _ in BLOCKS:
        size -= 2
        if size < 2:
            return "same"
        size //= 2
    return "valid"


def thread_env(threads: int) -> dict[str, str]:
    """Environment that pins every thread pool (BLAS, OpenMP, numba, TF) to ``threads``."""
    env = {name: str(threads) for name in THREAD_ENV}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def blas_info() -> list[dict]:
    """The BLAS/OpenMP libraries numpy (and anything loaded so far) uses, as threadpoolctl
    sees them: API, kernel architecture (the `OPENBLAS_CORETYPE` in effect), threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "version", "architecture", "num_threads", "filepath")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def limit_blas(threads: int):
    """Hold BLAS/OpenMP pools at ``threads`` (returned object must be kept alive)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads)


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall seconds of ``fn()`` over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine_info() -> dict:
    """CPU model, core counts and memory, from /proc where available."""
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "logical_cpus": os.cpu_count(), "cpu_model": platform.processor() or "unknown"}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import psutil

        info["physical_cores"] = psutil.cpu_count(logical=False)
        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    try:
        info["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    return info
