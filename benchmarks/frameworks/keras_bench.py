"""Keras 3 on TensorFlow (CPU): the same layer list, ``fit``, ``predict`` and ``model(x)``.

The mini-Xception (``network: "xception"``) is built by minicnn and converted with
``minicnn.keras_compat.to_keras``, so it is the same network (this child then imports minicnn,
and numba with it, which adds to its peak RSS)."""

from __future__ import annotations

import statistics
import time

from benchmarks.common import (
    BLOCKS,
    DENSE_UNITS,
    DROPOUT,
    blas_info,
    choose_padding,
    limit_blas,
    median_time,
    peak_rss_mb,
)


def build(size: int):
    import keras
    from keras import layers

    padding = choose_padding(size)
    stack: list = [keras.Input((size, size, 3))]
    for filters, pooling in BLOCKS:
        stack.append(layers.Conv2D(filters, 3, padding=padding, activation="relu"))
        stack.append(layers.MaxPooling2D(2) if pooling == "max" else layers.AveragePooling2D(2))
    stack += [layers.Flatten(), layers.Dropout(DROPOUT),
              layers.Dense(DENSE_UNITS, activation="relu"), layers.Dense(1, activation="sigmoid")]
    return keras.Sequential(stack, name="catdog"), padding


def run(cfg: dict) -> dict:
    import numpy as np
    import tensorflow as tf

    threads = cfg["threads"]
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    blas = limit_blas(threads)  # noqa: F841 (numpy's BLAS, used for the data only)
    keras.utils.set_random_seed(0)
    S, B = cfg["size"], cfg["batch"]
    rng = np.random.default_rng(0)
    n = cfg["train_steps"] * B
    x = rng.random((n, S, S, 3), dtype=np.float32)
    y = rng.integers(0, 2, (n, 1)).astype(np.float32)

    if cfg.get("network", "catdog") != "catdog":
        from benchmarks import networks
        from minicnn.keras_compat import to_keras

        built, logits = networks.build(cfg["network"], S, cfg.get("widths", ""))
        model, padding = to_keras(built), "same"
        model.compile(optimizer="adam",
                      loss=keras.losses.BinaryCrossentropy(from_logits=logits))
    else:
        model, padding = build(S)
        model.compile(optimizer="adam", loss="binary_crossentropy")

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)

    timer = EpochTimer()
    # first epoch = tracing/compilation: excluded
    model.fit(x, y, batch_size=B, epochs=1 + cfg["train_epochs"], verbose=0, callbacks=[timer])
    rss_train = peak_rss_mb()
    epoch_s = statistics.median(timer.times[1:])

    xi = x[: cfg["infer_batches"] * B]
    infer_s = median_time(lambda: model.predict(xi, batch_size=B, verbose=0),
                          cfg["infer_repeats"])
    x1 = x[:1]
    latency_s = median_time(lambda: model(x1, training=False), cfg["latency_calls"], warmup=3)
    return {
        "version": keras.__version__,
        "network": cfg.get("network", "catdog"),
        "padding": padding,
        "params": model.count_params(),
        "threads": {
            "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            "blas": blas_info(),
        },
        "extra_versions": {"tensorflow": tf.__version__, "numpy": np.__version__},
        "jit_compile": str(getattr(model, "jit_compile", None)),
        "train_epoch_s": timer.times,
        "train_ips": n / epoch_s,
        "infer_ips": len(xi) / infer_s,
        "latency_ms": latency_s * 1e3,
        "rss_train_mb": rss_train,
        "rss_end_mb": peak_rss_mb(),
    }
