"""Inference against onnxruntime: a shipped cat-dog model, exported by minicnn itself.

Exports ``examples/weights/catdog.npz`` (128 px, 798,657 parameters; ``--model`` another, e.g.
the residual network's ``catdog_residual.npz``, whose BatchNormalization layers both sides
fold into the convolutions) with ``model.export``,
runs it in onnxruntime in one worker process (CPUExecutionProvider, ``intra_op_num_threads``
= the thread count, ``inter_op_num_threads`` = 1, every graph optimisation) and in minicnn on
the same images in another, and reports, as medians over rounds in which the two alternate
(which one goes first swaps every round):

- batch-32 throughput (img/s): ``model.predict_on_batch(x)`` against ``sess.run``;
- single-image latency (ms): ``model.predict_on_batch(x[:1])`` and ``model(x[:1])`` under
  ``no_grad`` against ``sess.run`` on one image (each a median over ``calls`` calls).

The outputs are compared (largest relative difference). Only ratios measured in the same run
mean anything on a shared machine: run it a few times to see the spread.

Usage (from the repository root):

    python benchmarks/onnxruntime_inference.py [--rounds 7] [--threads 2] [--model M.npz]

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
RESIDUAL_MODEL = REPO / "examples" / "weights" / "catdog_residual.npz"


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


def _worker(conn, who: str, onnx_path: str, batch: int, seed: int, threads: int,
            model_path: str = str(MODEL)) -> None:
    """One framework in its own process: answers ("batch", n), ("one", n), ("outputs",),
    ("info",) and ("stop",) on ``conn``. Separate processes, so that neither framework's
    idle threads (onnxruntime's spin after each run) sit beside the other's timings."""
    _limit_threads(threads)
    sys.path.insert(0, str(REPO))
    import numpy as np

    x = np.random.default_rng(seed).uniform(0, 255, (batch, 128, 128, 3)).astype(np.float32)
    one = x[:1]
    info = {}
    if who == "ort":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        fns = {"batch": lambda: sess.run(None, {name: x})[0],
               "one": lambda: sess.run(None, {name: one})[0]}
        info = {"onnxruntime": ort.__version__, "intra_op": threads, "inter_op": 1,
                "providers": sess.get_providers()}
    else:
        import numba

        import minicnn as mc
        from minicnn.fast.blas import blas_threads
        from minicnn.tensor import no_grad

        model = mc.load_model(model_path)

        def call():
            with no_grad():
                return model(one).data

        fns = {"batch": lambda: model.predict_on_batch(x),
               "one": lambda: model.predict_on_batch(one), "call": call}
        info = {"minicnn": getattr(mc, "__version__", "?"), "numba": numba.__version__,
                "numba_threads": numba.get_num_threads(), "blas_threads": blas_threads(),
                "fast": os.environ.get("MINICNN_FAST", "1")}
    info["numpy"] = np.__version__
    for fn in fns.values():  # warm-up: JIT compilation, arenas, caches
        for _ in range(3):
            fn()
    while True:
        cmd = conn.recv()
        if cmd[0] == "stop":
            break
        if cmd[0] == "info":
            conn.send(info)
        elif cmd[0] == "outputs":
            conn.send({k: fns[k]() for k in ("batch", "one")})
        elif cmd[0] == "batch":
            conn.send(_total_time(fns["batch"], cmd[1]))
        else:  # ("one", calls) or ("call", calls)
            conn.send(_median_time(fns[cmd[0]], cmd[1]) if cmd[0] in fns else None)
    conn.close()


def measure(rounds: int = 7, threads: int = 2, batch: int = 32, batches: int = 4,
            calls: int = 30, seed: int = 0, model: str | Path = MODEL) -> dict:
    """Time minicnn and onnxruntime on a saved 128 px model (the shipped one by default); see
    the module notes.

    Each framework runs in its own worker process; the parent asks them in turn, which one
    goes first swapping every round, with a short pause between, so both see the same
    machine.

    Args:
        rounds: alternating rounds (medians over these; at least 5 for a quoted number).
        threads: onnxruntime's intra-op threads and every other pool's limit.
        batch: the batch size of the throughput test.
        batches: batches per throughput timing (one timing per round and framework).
        calls: single-image calls per latency timing (their median is the round's value).
        seed: the random images' seed (values 0..255: the model rescales them itself).
        model: the minicnn model file (``.npz``) both run.

    Returns:
        versions, threads, per-round raw values, medians, min-max and ratios.
    """
    import multiprocessing as mp

    import numpy as np

    sys.path.insert(0, str(REPO))
    import minicnn as mc

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "catdog.onnx")
        mc.load_model(model).export(path)
        ctx = mp.get_context("spawn")
        conns, procs = {}, []
        for who in ("ort", "mc"):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True,
                               args=(child, who, path, batch, seed, threads, str(model)))
            proc.start()
            conns[who] = parent
            procs.append(proc)

        def ask(who, *cmd):
            conns[who].send(cmd)
            return conns[who].recv()

        try:
            info = {who: ask(who, "info") for who in conns}
            outs = {who: ask(who, "outputs") for who in conns}
            raw: dict[str, list[float]] = {k: [] for k in ("ort_batch", "mc_batch", "ort_one",
                                                           "mc_one", "mc_call")}
            for r in range(rounds):
                for who in (["ort", "mc"] if r % 2 == 0 else ["mc", "ort"]):
                    time.sleep(0.2)  # the other process's threads back asleep
                    raw[f"{who}_batch"].append(batch * batches / ask(who, "batch", batches))
                    raw[f"{who}_one"].append(ask(who, "one", calls) * 1e3)
                    if who == "mc":
                        raw["mc_call"].append(ask(who, "call", calls) * 1e3)
        finally:
            for who in conns:
                conns[who].send(("stop",))
            for proc in procs:
                proc.join(30)

    def rel(a, b):
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-30)))

    max_rel = max(rel(outs["mc"][k], outs["ort"][k]) for k in ("batch", "one"))
    med = {k: statistics.median(v) for k, v in raw.items()}
    # per-round ratios (the two measured one after the other), then their median and range
    r_batch = [m / o for m, o in zip(raw["mc_batch"], raw["ort_batch"])]
    r_one = [m / o for m, o in zip(raw["mc_one"], raw["ort_one"])]
    r_call = [m / o for m, o in zip(raw["mc_call"], raw["ort_one"])]
    return {
        "model": Path(model).name,
        "versions": {"python": platform.python_version(), "numpy": info["mc"]["numpy"],
                     "numba": info["mc"]["numba"], "onnxruntime": info["ort"]["onnxruntime"],
                     "minicnn": info["mc"]["minicnn"]},
        "machine": _cpu(),
        "threads": {"onnxruntime_intra_op": info["ort"]["intra_op"],
                    "onnxruntime_inter_op": info["ort"]["inter_op"],
                    "numba": info["mc"]["numba_threads"], "blas": info["mc"]["blas_threads"],
                    "minicnn_fast": info["mc"]["fast"]},
        "batch": batch, "rounds": rounds, "max_rel_diff": max_rel,
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
        f"model: {res.get('model', MODEL.name)}",
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
        f"  per-round ratios min-max: batch {res['ratio_range']['batch'][0]:.2f}-"
        f"{res['ratio_range']['batch'][1]:.2f}, one image {res['ratio_range']['one'][0]:.2f}-"
        f"{res['ratio_range']['one'][1]:.2f}",
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
    p.add_argument("--model", default=str(MODEL), help="a minicnn .npz model at 128 px "
                   "(default: the shipped examples/weights/catdog.npz)")
    p.add_argument("--json", help="also write the raw result here")
    args = p.parse_args(argv)
    res = measure(args.rounds, args.threads, batches=args.batches, calls=args.calls,
                  model=args.model)
    print(report(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
