"""How fast minicnn's inference could be if everything but its BLAS calls took no time.

minicnn's convolutions are BLAS GEMMs (im2col, Winograd's 16 per chunk, a separable
convolution's pointwise matmul) with numba kernels around them (column building, transforms,
depthwise, pooling, bias and ReLU). onnxruntime's CPU convolutions (MLAS) are their own SIMD
kernels on a channel-blocked layout. This benchmark asks whether minicnn can match
onnxruntime while it keeps numpy's BLAS for the arithmetic:

1. for a saved 128 px model at batch ``N``, it lists the GEMMs minicnn's batch routes run
   (``minicnn.fast.routes`` decides im2col or Winograd per convolution, as a
   ``predict_on_batch`` call does; chunks of images as ``minicnn.fast.chunks`` cuts them);
2. times each GEMM shape on one BLAS thread (the chunk threads hold BLAS at one thread), the
   median of ``repeats`` calls, and adds them up over the chunks;
3. halves that for two cores, as if the chunks split perfectly: the **BLAS floor**, the time
   of the GEMMs alone;
4. times ``predict_on_batch`` and onnxruntime on the same model in the same run
   (``benchmarks.onnxruntime_inference.measure``, alternating worker processes).

The floor leaves out every non-GEMM pass, so minicnn cannot beat it: a floor close to
onnxruntime's whole time means parity needs GEMMs faster than numpy's BLAS, not less work
around them.

Usage (from the repository root):

    python benchmarks/blas_floor.py [--model M.npz] [--batch 32] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import onnxruntime_inference  # noqa: E402
from benchmarks.common import median_time  # noqa: E402


def gemm_list(model, batch: int, workers: int = 2) -> list[dict]:
    """The GEMMs one ``predict_on_batch`` of ``batch`` images runs on the fast path's batch
    routes: one entry per layer and shape, with how many times it runs (chunks x GEMMs).

    Each entry: layer, route, m, k, n (one (m, k) @ (k, n) GEMM), count, a_transposed (the
    planar route's columns are the transpose of a C-contiguous array).
    """
    import numpy as np

    from minicnn.fast import chunks, routes
    from minicnn.layers.conv import Conv2D
    from minicnn.layers.core import Dense
    from minicnn.layers.depthwise import SeparableConv2D
    from minicnn.tensor import no_grad

    out = []
    with no_grad(), chunks.batch_step(batch):
        for layer in model.layers:
            if type(layer) is Dense:
                out.append(dict(layer=layer.name, route="dense", m=batch,
                                k=layer.kernel.shape[0], n=layer.kernel.shape[1], count=1,
                                a_transposed=False))
                continue
            if type(layer) not in (Conv2D, SeparableConv2D):
                continue
            _, H, W, C = layer.input_shape
            _, OH, OW, F = layer.output_shape
            if type(layer) is SeparableConv2D:
                K = layer.depthwise_kernel.shape[2] * layer.depthwise_kernel.shape[3]
                bounds = chunks.chunk_bounds(batch, OH * OW * K * 4, workers)
                for n0, n1 in bounds:
                    out.append(dict(layer=layer.name, route="separable/pointwise",
                                    m=(n1 - n0) * OH * OW, k=K, n=F, count=1,
                                    a_transposed=False))
                continue
            KH, KW = layer.kernel.shape[:2]
            facts = dict(x=np.empty((batch, H, W, C), np.float32), w=layer.kernel.data,
                         b=None if layer.bias is None else layer.bias.data,
                         strides=tuple(layer.strides), padding=layer.padding)
            row = routes.route_for("conv2d", facts)
            name = row.name if row is not None else "plain"
            bounds = chunks.chunk_bounds(batch, OH * OW * KH * KW * C * 4, workers)
            for n0, n1 in bounds:
                n_img = n1 - n0
                if "winograd" in name:
                    tiles = n_img * ((OH + 1) // 2) * ((OW + 1) // 2)
                    out.append(dict(layer=layer.name, route=name, m=tiles, k=C, n=F, count=16,
                                    a_transposed=False))
                else:
                    out.append(dict(layer=layer.name, route=name, m=n_img * OH * OW,
                                    k=KH * KW * C, n=F, count=1,
                                    a_transposed="planar" in name))
    return out


def time_gemm(m: int, k: int, n: int, a_transposed: bool, repeats: int) -> float:
    """Median seconds of one float32 (m, k) @ (k, n) GEMM into a kept output, BLAS at one
    thread (the caller holds it)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = (rng.random((k, m), dtype=np.float32).T if a_transposed
         else rng.random((m, k), dtype=np.float32))
    b = rng.random((k, n), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    return median_time(lambda: np.matmul(a, b, out=c), repeats)


def blas_floor(model_path: str | Path, batch: int = 32, repeats: int = 20,
               workers: int = 2) -> dict:
    """The BLAS floor of ``predict_on_batch`` (see the module notes): per-layer GEMM
    seconds on one core, their sum, and the floor (the sum over ``workers`` cores)."""
    import minicnn as mc
    from minicnn.fast.blas import single_threaded_blas

    model = mc.load_model(model_path)
    gemms = gemm_list(model, batch, workers)
    cache: dict[tuple, float] = {}
    per_layer: dict[str, float] = {}
    flops = 0.0
    with single_threaded_blas():
        for g in gemms:
            key = (g["m"], g["k"], g["n"], g["a_transposed"])
            if key not in cache:
                cache[key] = time_gemm(*key, repeats=repeats)
            per_layer[g["layer"]] = per_layer.get(g["layer"], 0.0) + g["count"] * cache[key]
            flops += 2.0 * g["m"] * g["k"] * g["n"] * g["count"]
    one_core = sum(per_layer.values())
    return {"model": Path(model_path).name, "batch": batch, "workers": workers,
            "per_layer_ms": {k: v * 1e3 for k, v in per_layer.items()},
            "one_core_ms": one_core * 1e3, "floor_ms": one_core / workers * 1e3,
            "gemm_gflop": flops / 1e9,
            "gflops_per_core": flops / one_core / 1e9 if one_core else 0.0}


def report(floor: dict, peers: dict) -> str:
    """The floor against minicnn's and onnxruntime's measured batch times."""
    batch = floor["batch"]
    ort_ms = batch / peers["median"]["ort_batch"] * 1e3
    mc_ms = batch / peers["median"]["mc_batch"] * 1e3
    lines = [
        f"model: {floor['model']}, batch {batch}; machine: {peers['machine']}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in peers["versions"].items()),
        f"GEMMs per batch: {floor['gemm_gflop']:.2f} GFLOP at {floor['gflops_per_core']:.0f} "
        f"GFLOP/s on one core (BLAS at one thread)",
    ]
    lines += [f"  {name:24s} {ms:7.2f} ms on one core" for name, ms in
              floor["per_layer_ms"].items()]
    lines += [
        f"BLAS floor on {floor['workers']} cores (GEMMs only, perfect split): "
        f"{floor['floor_ms']:.1f} ms",
        f"medians of {peers['rounds']} alternating rounds: onnxruntime {ort_ms:.1f} ms, "
        f"minicnn {mc_ms:.1f} ms a batch",
        f"floor / onnxruntime: {floor['floor_ms'] / ort_ms:.2f}   minicnn / onnxruntime: "
        f"{mc_ms / ort_ms:.2f}   minicnn / floor: {mc_ms / floor['floor_ms']:.2f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=str(onnxruntime_inference.MODEL))
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--repeats", type=int, default=20, help="timings per GEMM shape")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    floor = blas_floor(args.model, args.batch, args.repeats, args.threads)
    peers = onnxruntime_inference.measure(args.rounds, args.threads, batch=args.batch,
                                          model=args.model)
    print(report(floor, peers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
