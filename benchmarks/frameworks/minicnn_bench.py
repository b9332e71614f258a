"""minicnn: ``catdog_network`` (or, with ``network`` "xception" or "residual", the network
benchmarks/networks.py builds) trained with ``fit``, ``predict`` and ``predict_on_batch``."""

from __future__ import annotations

import statistics
import time

from benchmarks.common import blas_info, limit_blas, median_time, peak_rss_mb


def run(cfg: dict) -> dict:
    import numba
    import numpy as np

    import minicnn as mc
    from minicnn.models import catdog_network

    blas = limit_blas(cfg["threads"])  # noqa: F841 (kept alive for the whole run)
    numba.set_num_threads(min(cfg["threads"], numba.config.NUMBA_NUM_THREADS))
    S, B = cfg["size"], cfg["batch"]
    rng = np.random.default_rng(0)
    n = cfg["train_steps"] * B
    x = rng.random((n, S, S, 3), dtype=np.float32)
    y = rng.integers(0, 2, (n, 1)).astype(np.float32)

    if cfg.get("network", "catdog") != "catdog":
        from benchmarks import networks

        model, logits = networks.build(cfg["network"], S, cfg.get("widths", ""))
        model.compile(optimizer="adam", loss=mc.losses.BinaryCrossentropy(from_logits=logits))
        padding = "same"
    else:
        mc.set_seed(0)
        model = catdog_network((S, S, 3))
        model.compile(optimizer="adam", loss="binary_crossentropy")
        padding = model.layers[0].padding

    class EpochTimer(mc.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    # first epoch = warm-up (numba kernels loaded or compiled, allocator primed): excluded
    model.fit(x, y, batch_size=B, epochs=1 + cfg["train_epochs"], verbose=0, callbacks=[timer])
    rss_train = peak_rss_mb()
    epoch_s = statistics.median(timer.times[1:])

    xi = x[: cfg["infer_batches"] * B]
    infer_s = median_time(lambda: model.predict(xi, batch_size=B, verbose=0),
                          cfg["infer_repeats"])
    x1 = x[:1]
    latency_s = median_time(lambda: model.predict_on_batch(x1), cfg["latency_calls"], warmup=3)
    return {
        "version": mc.__version__,
        "network": cfg.get("network", "catdog"),
        "padding": padding,
        "params": model.count_params(),
        "threads": {"numba": numba.get_num_threads(), "numba_layer": _threading_layer(),
                    "blas": blas_info()},
        "extra_versions": {"numpy": np.__version__, "numba": numba.__version__},
        "train_epoch_s": timer.times,
        "train_ips": n / epoch_s,
        "infer_ips": len(xi) / infer_s,
        "latency_ms": latency_s * 1e3,
        "rss_train_mb": rss_train,
        "rss_end_mb": peak_rss_mb(),
    }


def _threading_layer() -> str:
    """numba's threading layer (omp, tbb or workqueue): known once a parallel kernel ran."""
    import numba

    try:
        return numba.threading_layer()
    except ValueError:
        return "not initialised"
