"""In-process A/B of the fast path's BatchNormalization routes on the residual cat-dog network.

    python benchmarks/ab_residual.py                                   # a fresh 128 px network
    python benchmarks/ab_residual.py examples/weights/catdog_residual.npz --rounds 9

Alternates, round by round, the route settings below in one process (same data, same warm
kernels), and prints the median time of each and its ratio to the default:

- default: every route on;
- no fold: ``MINICNN_FOLD=0`` (BatchNormalization not folded into the convolution before it);
- no fold, no bn+relu: also ``MINICNN_FUSE=0`` (BN and ReLU run apart; the conv + max-pool
  fusion is off too, which this network does not use);
- no pointwise rows: one image's 1x1 matmuls on one core (route ``pointwise_conv/rows`` off);
- no separable chunks: a batch's depthwise and pointwise steps as two whole-batch ops (route
  ``separable_conv/chunks`` off).

Batch-32 prediction, one-image prediction and a batch-32 training step. Run it on a quiet
machine; only the ratios of one run mean anything.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a saved 128 px residual model (.npz)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--size", type=int, default=128, help="image size (a fresh network)")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args(argv)

    import numpy as np

    import minicnn as mc
    from minicnn.fast import routes
    from minicnn.models import catdog_residual_network

    S = 128 if args.model else args.size
    model = mc.load_model(args.model) if args.model else catdog_residual_network((S, S, 3))
    rng = np.random.default_rng(0)
    x32 = rng.uniform(0, 255, (args.batch, S, S, 3)).astype(np.float32)
    full = routes.ROUTES
    no_rows = tuple(r for r in full if (r.op, r.name) != ("pointwise_conv", "rows"))
    no_separable = tuple(r for r in full if r.op != "separable_conv")

    def setting(name: str) -> None:
        routes.ROUTES, routes.FOLD, routes.FUSE = full, True, True
        if name in ("no fold", "no fold, no bn+relu"):
            routes.FOLD = False
        if name == "no fold, no bn+relu":
            routes.FUSE = False
        if name == "no pointwise rows":
            routes.ROUTES = no_rows
        if name == "no separable chunks":
            routes.ROUTES = no_separable

    def bench(label: str, names: list[str], fn, calls: int) -> None:
        for name in names:  # warm-up: kernels loaded, caches filled
            setting(name)
            fn()
            fn()
        times: dict[str, list[float]] = {name: [] for name in names}
        for r in range(args.rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                setting(name)
                ts = []
                for _ in range(calls):
                    start = time.perf_counter()
                    fn()
                    ts.append(time.perf_counter() - start)
                times[name].append(statistics.median(ts))
        base = statistics.median(times[names[0]])
        cells = [f"{n} {statistics.median(t) * 1e3:.2f} ms ({statistics.median(t) / base:.3f})"
                 for n, t in times.items()]
        print(f"{label}: " + "; ".join(cells), flush=True)

    settings = ["default", "no fold", "no fold, no bn+relu"]
    bench(f"predict, batch {args.batch}", settings + ["no separable chunks"],
          lambda: model.predict_on_batch(x32), 3)
    bench("predict, one image", settings + ["no pointwise rows"],
          lambda: model.predict_on_batch(x32[:1]), 20)
    trainee = catdog_residual_network((S, S, 3))
    trainee.compile(optimizer="adam", loss="binary_crossentropy")
    y = rng.integers(0, 2, (args.batch, 1)).astype(np.float32)
    bench(f"training step, batch {args.batch}", ["default", "no fold, no bn+relu"],
          lambda: trainee.train_on_batch(x32, y), 2)
    setting("default")
    return 0


if __name__ == "__main__":
    sys.exit(main())
