"""A child process: one framework, one image size; prints one ``BENCH_RESULT {json}`` line.

    python -m benchmarks.worker '{"framework": "minicnn", "size": 128, "batch": 32, ...}'

The parent (``benchmarks/run.py``) puts the thread variables in the environment; each child
runs in its own process so its peak RSS is its own.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time

from benchmarks.common import BLAS_ENV, THREAD_ENV

MARKER = "BENCH_RESULT "
MODULES = {"minicnn": "benchmarks.frameworks.minicnn_bench",
           "keras": "benchmarks.frameworks.keras_bench",
           "torch": "benchmarks.frameworks.torch_bench"}


def main(argv: list[str]) -> int:
    cfg = json.loads(argv[0])
    for module in cfg.get("block", []):  # never importable here (numba imports scipy if it can)
        sys.modules[module] = None
    for module in cfg.get("preimport", []):  # e.g. scipy first: a second OpenBLAS in the process
        importlib.import_module(module)
    start = time.perf_counter()
    result = importlib.import_module(MODULES[cfg["framework"]]).run(cfg)
    result.update(framework=cfg["framework"], size=cfg["size"], batch=cfg["batch"],
                  child_s=time.perf_counter() - start,
                  env={k: os.environ.get(k) for k in THREAD_ENV + BLAS_ENV})
    print(MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
