"""Make idle worker threads sleep instead of spin, so minicnn shares the cores gracefully.

numba's parallel kernels run on OpenMP (libgomp) threads, which by default spin for a while
after each parallel region. When anything else wants the cores (OpenBLAS's own threads between
kernels, the data pipeline's decode threads, another process) the spinning threads steal their
time: measured on the 2-core machine with other work running, a cat-dog training step took
470-3500 ms with spinning and 400-460 ms with ``OMP_WAIT_POLICY=PASSIVE``, and single-image
inference 16 ms vs 7 ms. On an idle machine the difference is within noise.

The policy is read when libgomp loads (at numba's first parallel call), so it is set at import
time, only if the user has not chosen one. It has no effect if another library already loaded
libgomp (importing torch or TensorFlow first, for example).
"""

from __future__ import annotations

import os


def prefer_passive_waiting() -> None:
    """Default ``OMP_WAIT_POLICY`` to ``PASSIVE`` unless the environment already sets it."""
    if not os.environ.get("OMP_WAIT_POLICY"):
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
