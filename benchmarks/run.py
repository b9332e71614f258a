"""Benchmark minicnn against Keras (TensorFlow CPU) and PyTorch CPU on the cat-dog network.

    python benchmarks/run.py                       # full run (see benchmarks/README.md)
    python benchmarks/run.py --sizes 64 --repeats 2 --frameworks minicnn,keras
    python benchmarks/run.py --quick --out /tmp/bench
    python benchmarks/run.py --network xception --sizes 128 --frameworks minicnn,keras
    python benchmarks/run.py --network residual --sizes 128 --frameworks minicnn,keras

Every measurement runs in its own child process (clean peak RSS, fresh thread pools), with the
frameworks alternated round by round. Writes RESULTS.md, results.png and results.json to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` and `minicnn` importable
    sys.path.insert(0, str(ROOT))

from benchmarks.common import BLAS_ENV, machine_info, thread_env  # noqa: E402
from benchmarks.worker import MARKER  # noqa: E402

FRAMEWORKS = ("minicnn", "keras", "torch")
NETWORKS = ("catdog", "xception", "residual")
SECOND_FRAMEWORKS = ("minicnn", "keras")  # Keras runs minicnn's model through to_keras

#: The startup target: a fresh interpreter imports minicnn, builds the network and takes one
#: training step. Timed from outside, so interpreter start-up is included.
STARTUP_SNIPPET = """\
import time; t0 = time.perf_counter()
import numpy as np
import minicnn
from minicnn.models import catdog_network
t1 = time.perf_counter()
S, B = {size}, {batch}
m = catdog_network((S, S, 3)); m.compile(optimizer="adam", loss="binary_crossentropy")
rng = np.random.default_rng(0)
m.train_on_batch(rng.random((B, S, S, 3), dtype=np.float32),
                 rng.integers(0, 2, (B, 1)).astype(np.float32))
print("STARTUP", t1 - t0, time.perf_counter() - t1)
"""


def installed(framework: str) -> bool:
    import importlib.util

    name = {"minicnn": "minicnn", "keras": "keras", "torch": "torch"}.get(framework, framework)
    return importlib.util.find_spec(name) is not None


#: ``--env KEY=VALUE`` settings, given to every child (e.g. OMP_WAIT_POLICY=passive for an A/B).
EXTRA_ENV: dict[str, str] = {}


def child_env(threads: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(thread_env(threads))
    env.update(EXTRA_ENV)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra or {})
    return env


def run_child(module: str, cfg: dict, threads: int, extra_env: dict | None = None,
              timeout: float = 900) -> dict:
    """Run ``python -m module cfg`` and return the dict on its BENCH_RESULT line."""
    cmd = [sys.executable, "-m", module, json.dumps(cfg)]
    proc = subprocess.run(cmd, cwd=ROOT, env=child_env(threads, extra_env), capture_output=True,
                          text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    raise RuntimeError(f"{module} {cfg} failed (exit {proc.returncode}):\n"
                       f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")


def steps_for(size: int, quick: bool, steps: int = 0) -> dict:
    """Batches per repeat: 8 at 128 px, 32 at 64 px (each epoch lasts about as long)."""
    if steps:
        return {"train_steps": steps, "train_epochs": 1, "infer_batches": steps,
                "infer_repeats": 3, "latency_calls": 20}
    if quick:
        return {"train_steps": 2, "train_epochs": 1, "infer_batches": 2, "infer_repeats": 1,
                "latency_calls": 5}
    scale = max(1, min(4, (128 // size) ** 2))
    return {"train_steps": 8 * scale, "train_epochs": 1, "infer_batches": 8 * scale,
            "infer_repeats": 3, "latency_calls": 20}


def measure_frameworks(args, frameworks: list[str], log) -> list[dict]:
    runs = []
    for rnd in range(args.repeats):
        shift = rnd % len(frameworks)
        order = frameworks[shift:] + frameworks[:shift]  # alternate who goes first
        for size in args.sizes:
            for fw in order:
                cfg = {"framework": fw, "size": size, "batch": args.batch,
                       "threads": args.threads, **steps_for(size, args.quick, args.steps)}
                if args.network != "catdog":
                    cfg.update(network=args.network, widths=args.widths)
                start = time.perf_counter()
                res = run_child("benchmarks.worker", cfg, args.threads)
                res["round"] = rnd
                runs.append(res)
                log(f"round {rnd + 1}/{args.repeats} {fw:8s} {size:4d}px: "
                    f"train {res['train_ips']:7.1f} img/s  infer {res['infer_ips']:7.1f} img/s  "
                    f"latency {res['latency_ms']:6.2f} ms  peak RSS {res['rss_train_mb']:6.0f} MB"
                    f"  ({time.perf_counter() - start:.0f} s)")
    return runs


def measure_startup(args, log) -> dict:
    """Wall time of STARTUP_SNIPPET with a fresh numba cache, then warm (median)."""
    size = args.startup_size
    code = STARTUP_SNIPPET.format(size=size, batch=args.batch)

    def once(cache_dir: str) -> dict:
        env = child_env(args.threads, {"NUMBA_CACHE_DIR": cache_dir})
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
        wall = time.perf_counter() - start
        if proc.returncode:
            raise RuntimeError(f"startup snippet failed:\n{proc.stderr[-4000:]}")
        line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("STARTUP"))
        _, imp, step = line.split()
        return {"wall_s": wall, "import_s": float(imp), "build_and_step_s": float(step)}

    with tempfile.TemporaryDirectory(prefix="minicnn-numba-cache-") as cache:
        fresh = once(cache)
        log(f"startup, fresh numba cache: {fresh['wall_s']:.2f} s")
        warm = [once(cache) for _ in range(args.startup_repeats)]
    warm_s = statistics.median(w["wall_s"] for w in warm)
    log(f"startup, warm numba cache: {warm_s:.2f} s (median of {len(warm)})")
    return {"size": size, "batch": args.batch, "fresh": fresh, "warm": warm,
            "fresh_s": fresh["wall_s"], "warm_s": warm_s}


def measure_layers(args, log) -> list[dict]:
    out = []
    size = args.layer_size or max(args.sizes)
    # the default route (Winograd for the eligible 3x3 convolutions), then im2col everywhere
    routes = [("default", {})]
    if not args.quick:
        routes.append(("im2col", {"MINICNN_WINOGRAD": "0"}))
    for route, env in routes:
        cfg = {"size": size, "batch": args.batch, "threads": args.threads,
               "repeats": 1 if args.quick else 5, "sgemm_n": 512 if args.quick else 2048}
        res = run_child("benchmarks.layers", cfg, args.threads, env)
        res["route"] = route
        out.append(res)
        total = sum(r["fwd_ms"] + r["bwd_ms"] for r in res["rows"])
        log(f"per-layer ({route}, {size}px batch {args.batch}): fwd+bwd {total:.1f} ms; "
            f"sgemm {res['sgemm_n']}^3 {res['sgemm_gflops']:.1f} GFLOP/s")
    return out


def versions(frameworks: list[str]) -> dict[str, str]:
    """Library versions, read from package metadata (no heavy imports in the parent)."""
    from importlib.metadata import PackageNotFoundError, version

    names = ["numpy", "numba", "threadpoolctl", "psutil", "matplotlib"]
    if "keras" in frameworks:
        names += ["keras", "tensorflow-cpu", "tensorflow"]
    if "torch" in frameworks:
        names.append("torch")
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="64,128", help="image sizes, comma-separated (64,128)")
    p.add_argument("--repeats", type=int, default=5, help="rounds of every framework (5)")
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                   help="comma-separated subset of minicnn,keras,torch (missing ones skipped)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=0,
                   help="batches per timed epoch and per predict (default 8 at 128 px, 32 at 64)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                   help="threads for every pool: BLAS, numba, TF intra/inter-op, torch")
    p.add_argument("--quick", action="store_true",
                   help="2 batches per measurement, 1 round, small sgemm: checks the machinery")
    p.add_argument("--no-startup", action="store_true", help="skip the startup measurement")
    p.add_argument("--no-layers", action="store_true", help="skip the per-layer measurement")
    p.add_argument("--no-onnxruntime", action="store_true",
                   help="skip inference against onnxruntime (benchmarks/onnxruntime_inference.py)")
    p.add_argument("--no-scipy-first", action="store_true",
                   help="skip training with scipy imported first (benchmarks/scipy_first.py)")
    p.add_argument("--no-busy-core", action="store_true",
                   help="skip training with one core busy (benchmarks/busy_core.py)")
    p.add_argument("--startup-size", type=int, default=128)
    p.add_argument("--startup-repeats", type=int, default=3)
    p.add_argument("--layer-size", type=int, default=0, help="per-layer size (largest --sizes)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for every child (repeatable), recorded in RESULTS.md")
    p.add_argument("--network", default="catdog", choices=NETWORKS,
                   help="catdog (the seed network, default), xception (keras.io's mini-Xception)"
                        " or residual (the residual cat-dog network); the last two minicnn and "
                        "Keras only, no startup or per-layer runs")
    p.add_argument("--widths", default="",
                   help="mini-Xception widths: stem,block...,exit (default 128,256,512,728,1024)")
    p.add_argument("--out", default=None,
                   help="folder for RESULTS.md, results.png, results.json (benchmarks/, or "
                        "benchmarks/<network>/ for another --network)")
    args = p.parse_args(argv)
    args.sizes = [int(s) for s in str(args.sizes).split(",") if s]
    args.frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = set(args.frameworks) - set(FRAMEWORKS)
    if unknown:
        p.error(f"unknown frameworks {sorted(unknown)}; choose from {FRAMEWORKS}")
    bad = [e for e in args.env if "=" not in e]
    if bad:
        p.error(f"--env takes KEY=VALUE. Received: {bad}")
    args.env = dict(e.split("=", 1) for e in args.env)
    if args.widths and args.network != "xception":
        p.error("--widths sets the mini-Xception's widths: it needs --network xception")
    if args.widths:
        from benchmarks.xception import parse_widths

        try:
            parse_widths(args.widths)
        except ValueError as err:
            p.error(str(err))
    if args.out is None:  # the seed network's RESULTS.md is not overwritten by another one's
        args.out = str(ROOT / "benchmarks" / ("" if args.network == "catdog" else args.network))
    if args.network != "catdog":
        args.frameworks = [f for f in args.frameworks if f in SECOND_FRAMEWORKS]
        # all four measure the seed network
        args.no_startup = args.no_layers = args.no_onnxruntime = args.no_scipy_first = True
        args.no_busy_core = True
    if args.quick and "--repeats" not in " ".join(argv if argv is not None else sys.argv):
        args.repeats = 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from benchmarks import report

    EXTRA_ENV.clear()
    EXTRA_ENV.update(args.env)

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    frameworks = [f for f in args.frameworks if installed(f)]
    for f in set(args.frameworks) - set(frameworks):
        log(f"{f} is not installed: skipped")
    start = time.perf_counter()
    info = {
        "machine": machine_info(),
        "versions": versions(frameworks),
        "blas_env": {k: os.environ.get(k) for k in BLAS_ENV},
        "threads_requested": args.threads,
        "extra_env": args.env,
        "config": {"network": args.network, "widths": args.widths,
                   "sizes": args.sizes, "repeats": args.repeats, "batch": args.batch,
                   "frameworks": frameworks, "quick": args.quick,
                   "steps": {s: steps_for(s, args.quick, args.steps) for s in args.sizes}},
        "command": " ".join([Path(sys.executable).name, "benchmarks/run.py"]
                            + (argv if argv is not None else sys.argv[1:])),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    m = info["machine"]
    log(f"{m['cpu_model']}, {m.get('usable_cpus', m['logical_cpus'])} CPUs, "
        f"{m.get('memory_gb', '?')} GB, load {m.get('loadavg')}")
    log(f"versions: {info['versions']}; BLAS env: {info['blas_env']}; threads {args.threads}; "
        f"extra env {args.env}")
    cpus = m.get("usable_cpus") or m.get("logical_cpus") or 1
    if m.get("loadavg") and m["loadavg"][0] > 0.25 * cpus:
        log(f"WARNING: load average {m['loadavg'][0]} on {cpus} CPUs: the machine is busy, "
            "the numbers will not represent the libraries")
    results = {"info": info, "runs": measure_frameworks(args, frameworks, log)}
    if "minicnn" in frameworks and not args.no_startup:
        results["startup"] = measure_startup(args, log)
    if "minicnn" in frameworks and not args.no_layers:
        results["layers"] = measure_layers(args, log)
    if "minicnn" in frameworks and not args.no_onnxruntime and installed("onnxruntime"):
        from benchmarks import onnxruntime_inference

        models = {"onnxruntime": onnxruntime_inference.MODEL}
        if onnxruntime_inference.RESIDUAL_MODEL.exists():
            models["onnxruntime_residual"] = onnxruntime_inference.RESIDUAL_MODEL
        for key, model in models.items():
            log(f"inference against onnxruntime ({model.name}, minicnn's own ONNX export)")
            results[key] = onnxruntime_inference.measure(
                rounds=2 if args.quick else max(args.repeats, 5), threads=args.threads,
                batches=1 if args.quick else 4, calls=5 if args.quick else 30, model=model)
            log(onnxruntime_inference.report(results[key]))
    if "minicnn" in frameworks and not args.no_scipy_first and installed("scipy"):
        from benchmarks import scipy_first

        log("training with scipy imported first, against without")
        results["scipy_first"] = scipy_first.measure(
            size=64, batch=args.batch, repeats=1 if args.quick else max(args.repeats, 5),
            threads=args.threads, log=log, quick=args.quick)
    if "minicnn" in frameworks and not args.no_busy_core:
        from benchmarks import busy_core

        log("training with one core busy (a hog process), against the quiet machine")
        results["busy_core"] = busy_core.measure(
            tuple(f for f in frameworks if f in ("minicnn", "keras")), size=max(args.sizes),
            batch=args.batch, repeats=1 if args.quick else max(args.repeats, 5),
            threads=args.threads, log=log, quick=args.quick)
    info["duration_s"] = time.perf_counter() - start
    info["loadavg_end"] = [round(v, 2) for v in os.getloadavg()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    md = report.write_markdown(results, out / "RESULTS.md")
    report.write_chart(results, out / "results.png")
    print(md)
    log(f"done in {info['duration_s']:.0f} s: {out / 'RESULTS.md'}, {out / 'results.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
