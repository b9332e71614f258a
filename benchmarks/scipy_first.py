"""Training speed with scipy imported before minicnn, against the same run without it.

    python benchmarks/scipy_first.py                 # 64 px, batch 32, 5 rounds
    python benchmarks/scipy_first.py --size 128 --repeats 7

Importing scipy (or scikit-learn) first loads a second OpenBLAS into the process. minicnn used
to find two BLAS libraries, give up holding BLAS at one thread, and turn every chunked route
off (0.76x the speed, measured before the fast path identified numpy's own BLAS). Each round
runs both variants in fresh child processes, alternating which goes first, and prints the
median training img/s of each and their ratio (issue target: scipy-first >= 0.95x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.run import run_child, steps_for  # noqa: E402

#: numba imports scipy whenever it is installed, so "without" blocks it outright: that child has
#: numpy's OpenBLAS alone, the other a second one (scipy's) loaded before minicnn.
VARIANTS = {"without scipy": {"block": ["scipy"]}, "scipy first": {"preimport": ["scipy.linalg"]}}


def measure(size: int = 64, batch: int = 32, repeats: int = 5, threads: int = 2,
            log=print, quick: bool = False) -> dict:
    """Median training and inference img/s of each variant and the scipy-first ratios."""
    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for rnd in range(repeats):
        order = names if rnd % 2 == 0 else names[::-1]
        for name in order:
            cfg = {"framework": "minicnn", "size": size, "batch": batch, "threads": threads,
                   **VARIANTS[name], **steps_for(size, quick)}
            res = run_child("benchmarks.worker", cfg, threads)
            runs[name].append(res)
            log(f"round {rnd + 1}/{repeats} {name:14s} train {res['train_ips']:7.1f} img/s  "
                f"infer {res['infer_ips']:7.1f} img/s")
    med = {name: {key: statistics.median(r[key] for r in rs) for key in ("train_ips",
                                                                        "infer_ips")}
           for name, rs in runs.items()}
    return {"size": size, "batch": batch, "threads": threads, "repeats": repeats,
            "medians": med,
            "train_ratio": med["scipy first"]["train_ips"] / med["without scipy"]["train_ips"],
            "infer_ratio": med["scipy first"]["infer_ips"] / med["without scipy"]["infer_ips"],
            "blas": {name: rs[-1]["threads"]["blas"] for name, rs in runs.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    result = measure(args.size, args.batch, args.repeats, args.threads)
    med = result["medians"]
    print(f"scipy first / without, {args.size} px, batch {args.batch}, {args.threads} threads, "
          f"medians of {args.repeats}: training {med['scipy first']['train_ips']:.1f} / "
          f"{med['without scipy']['train_ips']:.1f} img/s = {result['train_ratio']:.2f}x, "
          f"inference {med['scipy first']['infer_ips']:.1f} / "
          f"{med['without scipy']['infer_ips']:.1f} img/s = {result['infer_ratio']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
