"""Training speed with one core taken by another process, against the same run on a quiet machine.

    python benchmarks/busy_core.py                   # 128 px, batch 32, 5 rounds, minicnn + Keras
    python benchmarks/busy_core.py --size 64 --repeats 3 --frameworks minicnn

A shared machine is the normal case for a 2-core laptop or a CI runner: something else (a
browser, the data loader of another job) takes a core now and then. A library whose threads
wait on each other at every step (barriers, spinning OpenMP teams) can slow down far more than
the 2x that losing half the machine costs. Each round trains each framework twice in fresh
child processes (``benchmarks.worker``): once on the quiet machine and once while a hog process
(``while True: pass``, one core) runs beside it, alternating which goes first. The slowdown is
the median quiet img/s over the median busy img/s (issue target for minicnn: <= 2x).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import run_child, steps_for  # noqa: E402

HOG = "while True: pass"
VARIANTS = ("quiet", "busy")


def _run(cfg: dict, threads: int, busy: bool) -> dict:
    hog = subprocess.Popen([sys.executable, "-c", HOG]) if busy else None
    try:
        if hog is not None:
            time.sleep(0.5)  # the hog is spinning before the child starts
        return run_child("benchmarks.worker", cfg, threads)
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()


def measure(frameworks: tuple[str, ...] = ("minicnn", "keras"), size: int = 128,
            batch: int = 32, repeats: int = 5, threads: int = 2, log=print,
            quick: bool = False) -> dict:
    """Per framework: median training (and inference) img/s quiet and busy, and the slowdowns
    (quiet over busy; 2.0 is what losing one of two cores costs a perfectly parallel job)."""
    runs = {(fw, v): [] for fw in frameworks for v in VARIANTS}
    for rnd in range(repeats):
        variants = VARIANTS if rnd % 2 == 0 else VARIANTS[::-1]
        for fw in frameworks:
            for variant in variants:
                cfg = {"framework": fw, "size": size, "batch": batch, "threads": threads,
                       **steps_for(size, quick)}
                res = _run(cfg, threads, variant == "busy")
                runs[(fw, variant)].append(res)
                log(f"round {rnd + 1}/{repeats} {fw:8s} {variant:5s} train "
                    f"{res['train_ips']:7.1f} img/s  infer {res['infer_ips']:7.1f} img/s")
    med = {f"{fw} {v}": {k: statistics.median(r[k] for r in rs)
                         for k in ("train_ips", "infer_ips")}
           for (fw, v), rs in runs.items()}
    slowdown = {fw: {k: med[f"{fw} quiet"][k] / med[f"{fw} busy"][k]
                     for k in ("train_ips", "infer_ips")} for fw in frameworks}
    return {"size": size, "batch": batch, "threads": threads, "repeats": repeats,
            "medians": med, "slowdown": slowdown}


def report_lines(result: dict) -> list[str]:
    """RESULTS.md's table for one ``measure`` result."""
    out = ["| framework | quiet train img/s | busy train img/s | slowdown | quiet infer img/s "
           "| busy infer img/s | slowdown | target (training) | met |",
           "|---|---|---|---|---|---|---|---|---|"]
    for fw, s in result["slowdown"].items():
        q, b = result["medians"][f"{fw} quiet"], result["medians"][f"{fw} busy"]
        target = "<= 2.0×" if fw == "minicnn" else ""
        met = ("yes" if s["train_ips"] <= 2.0 else "**no**") if fw == "minicnn" else ""
        out.append(f"| {fw} | {q['train_ips']:.1f} | {b['train_ips']:.1f} | "
                   f"{s['train_ips']:.2f}× | {q['infer_ips']:.1f} | {b['infer_ips']:.1f} | "
                   f"{s['infer_ips']:.2f}× | {target} | {met} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frameworks", default="minicnn,keras")
    args = parser.parse_args(argv)
    frameworks = tuple(f.strip() for f in args.frameworks.split(",") if f.strip())
    result = measure(frameworks, args.size, args.batch, args.repeats, args.threads)
    print("\n".join(report_lines(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
