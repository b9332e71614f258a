"""PyTorch (CPU): an nn.Sequential with the same shapes, channels_last, a manual training loop."""

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
    import torch
    from torch import nn

    padding = choose_padding(size)
    convs: list = []
    cin = 3
    for filters, pooling in BLOCKS:
        # 3x3 stride 1: Keras "same" is a symmetric pad of 1, "valid" none
        convs += [nn.Conv2d(cin, filters, 3, padding=1 if padding == "same" else 0), nn.ReLU(),
                  nn.MaxPool2d(2) if pooling == "max" else nn.AvgPool2d(2)]
        cin = filters
    features = nn.Sequential(*convs)
    with torch.no_grad():
        flat = features(torch.zeros(1, 3, size, size)).numel()
    model = nn.Sequential(features, nn.Flatten(), nn.Dropout(DROPOUT),
                          nn.Linear(flat, DENSE_UNITS), nn.ReLU(), nn.Linear(DENSE_UNITS, 1),
                          nn.Sigmoid())
    return model.to(memory_format=torch.channels_last), padding


def run(cfg: dict) -> dict:
    import numpy as np
    import torch

    threads = cfg["threads"]
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)
    blas = limit_blas(threads)  # noqa: F841
    torch.manual_seed(0)
    S, B = cfg["size"], cfg["batch"]
    n = cfg["train_steps"] * B
    cl = torch.channels_last
    x = torch.rand(n, 3, S, S).contiguous(memory_format=cl)
    y = torch.randint(0, 2, (n, 1)).float()

    model, padding = build(S)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCELoss()

    def epoch() -> float:
        model.train()
        start = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(cfg["train_steps"]):
            idx = perm[i * B:(i + 1) * B]
            xb = x[idx].contiguous(memory_format=cl)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), y[idx])
            loss.backward()
            opt.step()
            loss.item()
        return time.perf_counter() - start

    times = [epoch() for _ in range(1 + cfg["train_epochs"])]  # first = warm-up
    rss_train = peak_rss_mb()
    epoch_s = statistics.median(times[1:])

    model.eval()
    xi = x[: cfg["infer_batches"] * B]

    def predict():
        with torch.inference_mode():
            return torch.cat([model(xi[i:i + B]) for i in range(0, len(xi), B)]).numpy()

    def single():
        with torch.inference_mode():
            return model(x[:1]).numpy()

    infer_s = median_time(predict, cfg["infer_repeats"])
    latency_s = median_time(single, cfg["latency_calls"], warmup=3)
    return {
        "version": torch.__version__,
        "padding": padding,
        "params": sum(p.numel() for p in model.parameters()),
        "threads": {"torch_intra_op": torch.get_num_threads(),
                    "torch_inter_op": torch.get_num_interop_threads(), "blas": blas_info()},
        "extra_versions": {"numpy": np.__version__},
        "train_epoch_s": times,
        "train_ips": n / epoch_s,
        "infer_ips": len(xi) / infer_s,
        "latency_ms": latency_s * 1e3,
        "rss_train_mb": rss_train,
        "rss_end_mb": peak_rss_mb(),
    }
