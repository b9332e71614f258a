"""Inference against onnxruntime: the shipped cat-dog model, exported by minicnn itself.

Exports ``examples/weights/catdog.npz`` (128 px, 798,657 parameters) with ``model.export``,
runs it in onnxruntime (CPUExecutionProvider, ``intra_op_num_threads`` = the thread count,
``inter_op_num_threads`` = 1, every graph optimisation) and in minicnn on the same images,
and reports, as medians over rounds in which the two alternate (which one goes first swaps
every round):

- batch-32 throughput (img/s): ``model.predict_on_batch(x)`` against ``sess.run``;
- single-image latency (ms): ``model.predict_on_batch(x[:1])`` and ``model(x[:1])`` under
  ``no_grad`` against ``sess.run`` on one image (each a median over ``calls`` calls).

The outputs are compared (largest relative difference). Only ratios measured in the same run
mean anything on a shared machine: run it a few times to see the spread.

Usage (from the repository root):

    python benchmarks/onnxruntime_inference.py [--rounds 7] [--threads 2] [--repeat 1]

``measure(rounds, ...)`` returns the same numbers as a dict (for ``benchmarks/run.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "examples" / "weights" / "catdog.npz"


def _limit_threads(threads: int) -> None:
    # before numpy/numba load: every pool gets the same count as onnxruntime's intra-op pool
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))


def _median_time(fn, calls: int) -> float:
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _total_time(fn, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - t0


def measure(rounds: int = 7, threads: int = 2, batch: int = 32, batches: int = 4,
            calls: int = 30, seed: int = 0) -> dict:
    """Time minicnn and onnxruntime on the shipped model; see the module notes.

    Args:
        rounds: alternating rounds (medians over these; at least 5 for a quoted number).
        threads: onnxruntime's intra-op threads and every other pool's limit.
        batch: the batch size of the throughput test.
        batches: batches per throughput timing (one timing per round and framework).
        calls: single-image calls per latency timing (their median is the round's value).
        seed: the random images' seed (values 0..255: the model rescales them itself).

    Returns:
        versions, threads, per-round raw values, medians, min-max and ratios.
    """
    _limit_threads(threads)
    import numpy as np
    import onnxruntime as ort

    import minicnn as mc
    from minicnn.fast.blas import blas_threads
    from minicnn.tensor import no_grad

    model = mc.load_model(MODEL)
    x = np.random.default_rng(seed).uniform(0, 255, (batch, 128, 128, 3)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "catdog.onnx")
        model.export(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    one = x[:1]

    def ort_batch():
        return sess.run(None, {name: x})[0]

    def ort_one():
        return sess.run(None, {name: one})[0]

    def mc_batch():
        return model.predict_on_batch(x)

    def mc_one():
        return model.predict_on_batch(one)

    def mc_call():
        with no_grad():
            return model(one).data

    # warm-up (JIT compilation, onnxruntime's arena) and the outputs compared
    for fn in (ort_batch, mc_batch, ort_one, mc_one, mc_call):
        for _ in range(3):
            fn()
    y_ort, y_mc = ort_batch(), mc_batch()
    rel = float(np.max(np.abs(y_mc - y_ort) / np.maximum(np.abs(y_ort), 1e-30)))
    rel_one = float(np.max(np.abs(mc_one() - ort_one()) / np.maximum(np.abs(ort_one()), 1e-30)))

    raw: dict[str, list[float]] = {k: [] for k in
                                   ("ort_batch", "mc_batch", "ort_one", "mc_one", "mc_call")}
    for r in range(rounds):
        order = ["ort", "mc"] if r % 2 == 0 else ["mc", "ort"]
        for who in order:
            if who == "ort":
                raw["ort_batch"].append(batch * batches / _total_time(ort_batch, batches))
                raw["ort_one"].append(_median_time(ort_one, calls) * 1e3)
            else:
                raw["mc_batch"].append(batch * batches / _total_time(mc_batch, batches))
                raw["mc_one"].append(_median_time(mc_one, calls) * 1e3)
                raw["mc_call"].append(_median_time(mc_call, calls) * 1e3)
    med = {k: statistics.median(v) for k, v in raw.items()}
    # per-round ratios (same round, adjacent in time), then their median and range
    r_batch = [m / o for m, o in zip(raw["mc_batch"], raw["ort_batch"])]
    r_one = [m / o for m, o in zip(raw["mc_one"], raw["ort_one"])]
    r_call = [m / o for m, o in zip(raw["mc_call"], raw["ort_one"])]
    import numba

    return {
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "numba": numba.__version__, "onnxruntime": ort.__version__,
                     "minicnn": getattr(mc, "__version__", "?")},
        "machine": _cpu(),
        "threads": {"onnxruntime_intra_op": threads, "onnxruntime_inter_op": 1,
                    "numba": numba.get_num_threads(), "blas": blas_threads(),
                    "minicnn_fast": os.environ.get("MINICNN_FAST", "1")},
        "batch": batch, "rounds": rounds, "max_rel_diff": max(rel, rel_one),
        "raw": raw, "median": med,
        "range": {k: (min(v), max(v)) for k, v in raw.items()},
        "ratio": {
            "batch_throughput_mc_over_ort": statistics.median(r_batch),
            "one_image_latency_mc_over_ort": statistics.median(r_one),
            "one_image_call_mc_over_ort": statistics.median(r_call),
        },
        "ratio_range": {"batch": (min(r_batch), max(r_batch)), "one": (min(r_one), max(r_one)),
                        "call": (min(r_call), max(r_call))},
    }


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} CPUs"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def report(res: dict) -> str:
    """A few lines of text for one ``measure`` result."""
    m, rg, ra = res["median"], res["range"], res["ratio"]
    lines = [
        f"machine: {res['machine']}",
        "versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()),
        "threads: " + ", ".join(f"{k}={v}" for k, v in res["threads"].items()),
        f"outputs: largest relative difference {res['max_rel_diff']:.2e}",
        f"medians of {res['rounds']} alternating rounds (min-max):",
        f"  batch {res['batch']}:  onnxruntime {m['ort_batch']:.0f} img/s "
        f"({rg['ort_batch'][0]:.0f}-{rg['ort_batch'][1]:.0f})   minicnn {m['mc_batch']:.0f} "
        f"img/s ({rg['mc_batch'][0]:.0f}-{rg['mc_batch'][1]:.0f})   ratio "
        f"{ra['batch_throughput_mc_over_ort']:.2f}x",
        f"  one image:  onnxruntime {m['ort_one']:.2f} ms ({rg['ort_one'][0]:.2f}-"
        f"{rg['ort_one'][1]:.2f})   minicnn predict_on_batch {m['mc_one']:.2f} ms "
        f"({rg['mc_one'][0]:.2f}-{rg['mc_one'][1]:.2f}, ratio "
        f"{ra['one_image_latency_mc_over_ort']:.2f}x)   model(x) {m['mc_call']:.2f} ms "
        f"(ratio {ra['one_image_call_mc_over_ort']:.2f}x)",
        "  (latency ratios: minicnn's time over onnxruntime's, lower is better; throughput "
        "ratio: higher is better)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batches", type=int, default=4)
    p.add_argument("--calls", type=int, default=30)
    p.add_argument("--json", help="also write the raw result here")
    args = p.parse_args(argv)
    res = measure(args.rounds, args.threads, batches=args.batches, calls=args.calls)
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
