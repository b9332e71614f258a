"""Per-layer forward/backward times of minicnn's cat-dog network, and numpy's sgemm rate.

    python -m benchmarks.layers '{"size": 128, "batch": 32, "repeats": 5, "threads": 2}'

Each layer runs in isolation on the activation the previous layer produced: forward with
``training=True`` (recording the graph), then ``backward`` of a random output gradient. The
first conv's input needs no gradient, as in training, so its backward computes only the
weight and bias gradients. Conv and dense FLOPs are 2*N*OH*OW*KH*KW*Cin*F (and 2*N*in*out);
backward counts the kernel-gradient GEMM plus, after the first layer, the input-gradient GEMM.
Prints one ``BENCH_RESULT {json}`` line. ``MINICNN_WINOGRAD=0`` in the environment measures
im2col for every convolution. Layers run alone, so Conv2D(relu) + MaxPooling2D are not fused
here (``Sequential`` fuses them; see minicnn/models/fusion.py).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time

from benchmarks.common import BLAS_ENV, blas_info, limit_blas, median_time
from benchmarks.worker import MARKER


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of an n x n x n float32 numpy matmul (median of ``repeats`` after one warm-up)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    return 2 * n**3 / median_time(lambda: np.matmul(a, b, out=out), repeats) / 1e9


def layer_times(size: int, batch: int, repeats: int) -> list[dict]:
    import numpy as np

    import minicnn as mc
    from minicnn.models import catdog_network

    mc.set_seed(0)
    model = catdog_network((size, size, 3))
    rng = np.random.default_rng(0)
    x = rng.random((batch, size, size, 3), dtype=np.float32)
    rows = []
    for i, layer in enumerate(model.layers):
        fwd, bwd = [], []
        for r in range(repeats + 1):  # the first round warms the kernels up
            for w in layer.weights:
                w.grad = None
            xt = mc.Tensor(x, requires_grad=i > 0)
            start = time.perf_counter()
            y = layer(xt, training=True)
            mid = time.perf_counter()
            gy = rng.standard_normal(y.shape).astype(np.float32)
            t_bwd = time.perf_counter()
            if y.requires_grad:
                y.backward(gy)
            end = time.perf_counter()
            if r:
                fwd.append(mid - start)
                bwd.append(end - t_bwd)
        kernel = next((w.data for w in layer.weights if w.data.ndim >= 2), None)
        flops_f = 0 if kernel is None else 2 * math.prod(y.shape[:-1]) * kernel.size
        flops_b = flops_f * (2 if i > 0 else 1)
        f_s, b_s = statistics.median(fwd), statistics.median(bwd)
        rows.append({
            "layer": f"{type(layer).__name__} {'x'.join(map(str, y.shape[1:]))}",
            "in_shape": list(x.shape), "out_shape": list(y.shape),
            "fwd_ms": f_s * 1e3, "bwd_ms": b_s * 1e3,
            "fwd_mflop": flops_f / 1e6, "bwd_mflop": flops_b / 1e6,
            "fwd_gflops": flops_f / f_s / 1e9 if flops_f else None,
            "bwd_gflops": flops_b / b_s / 1e9 if flops_b else None,
        })
        x = y.data
    return rows


def main(argv: list[str]) -> int:
    cfg = json.loads(argv[0])
    import numba

    blas = limit_blas(cfg["threads"])  # noqa: F841
    numba.set_num_threads(min(cfg["threads"], numba.config.NUMBA_NUM_THREADS))
    rows = layer_times(cfg["size"], cfg["batch"], cfg["repeats"])
    result = {
        "size": cfg["size"], "batch": cfg["batch"], "repeats": cfg["repeats"],
        "winograd": os.environ.get("MINICNN_WINOGRAD", "auto"),
        "rows": rows,
        "sgemm_n": cfg.get("sgemm_n", 2048),
        "sgemm_gflops": sgemm_gflops(cfg.get("sgemm_n", 2048)),
        "numba_threads": numba.get_num_threads(),
        "numba_layer": numba.threading_layer(),
        "blas": blas_info(),
        "env": {k: os.environ.get(k) for k in BLAS_ENV},
    }
    print(MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
