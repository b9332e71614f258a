"""benchmarks/onnxruntime_inference.py's machinery, tiny: both worker processes start, answer,
stop, and minicnn's outputs agree with onnxruntime's on the shipped model. No timing is
asserted (timings live in benchmarks/README.md). In CI a missing onnxruntime fails."""

import importlib
import os

import pytest


def test_measure_runs_both_frameworks_and_their_outputs_agree():
    try:
        importlib.import_module("onnxruntime")
    except ImportError as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"onnxruntime is not importable ({err}); in CI this test must run")
        pytest.skip(f"onnxruntime is not importable ({err})")
    from benchmarks.onnxruntime_inference import measure, report

    res = measure(rounds=2, threads=1, batch=2, batches=1, calls=1)
    assert res["max_rel_diff"] <= 1e-5
    assert res["threads"]["onnxruntime_intra_op"] == 1
    for key in ("ort_batch", "mc_batch", "ort_one", "mc_one", "mc_call"):
        assert len(res["raw"][key]) == 2 and all(v > 0 for v in res["raw"][key])
    assert set(res["ratio"]) == {"batch_throughput_mc_over_ort",
                                 "one_image_latency_mc_over_ort", "one_image_call_mc_over_ort"}
    assert "onnxruntime" in report(res)


def test_measure_takes_a_residual_model(tmp_path):
    """``model=``: a residual network with BatchNormalization (folded on both sides at
    inference), saved with moving statistics far from their initial values; onnxruntime's
    outputs and minicnn's agree."""
    try:
        importlib.import_module("onnxruntime")
    except ImportError as err:
        if os.environ.get("CI"):
            pytest.fail(f"onnxruntime is not importable ({err}); in CI this test must run")
        pytest.skip(f"onnxruntime is not importable ({err})")
    import numpy as np

    import minicnn as mc
    from benchmarks.onnxruntime_inference import measure, report
    from minicnn.models import catdog_residual_network

    mc.set_seed(0)
    model = catdog_residual_network()
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if isinstance(layer, mc.layers.BatchNormalization):
            C = layer.moving_mean.shape[0]
            layer.moving_mean.data[:] = rng.normal(0, 0.3, C)
            layer.moving_variance.data[:] = rng.uniform(0.3, 2.0, C)
            layer.gamma.data[:] = rng.uniform(0.5, 1.5, C)
    path = tmp_path / "residual.npz"
    model.save(path)
    res = measure(rounds=1, threads=1, batch=2, batches=1, calls=1, model=path)
    assert res["model"] == "residual.npz"
    assert res["max_rel_diff"] <= 1e-4
    assert "model: residual.npz" in report(res)
