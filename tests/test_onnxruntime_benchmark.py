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
