"""benchmarks/blas_floor.py: the GEMM list it times is the one minicnn's batch routes run.
Asserts shapes and counts, never speed."""

from pathlib import Path

import pytest

import minicnn as mc
from benchmarks import blas_floor

WEIGHTS = Path(__file__).resolve().parents[1] / "examples" / "weights"


@pytest.mark.parametrize("name", ["catdog.npz", "catdog_residual.npz"])
def test_gemm_list_covers_every_conv_and_image_once(name):
    model = mc.load_model(WEIGHTS / name)
    batch = 6
    gemms = blas_floor.gemm_list(model, batch)
    convs = {layer.name: layer for layer in model.layers
             if type(layer).__name__ in ("Conv2D", "SeparableConv2D")}
    assert {g["layer"] for g in gemms} >= set(convs)
    for lname, layer in convs.items():
        rows = [g for g in gemms if g["layer"] == lname]
        _, OH, OW, F = layer.output_shape
        assert all(g["n"] == F for g in rows)
        if rows[0]["route"].endswith("winograd"):  # 16 GEMMs of the chunk's 2x2 tiles
            tiles = ((OH + 1) // 2) * ((OW + 1) // 2)
            assert all(g["count"] == 16 and g["k"] == layer.input_shape[3] for g in rows)
            assert sum(g["m"] for g in rows) == batch * tiles
        else:  # one GEMM a chunk: its images' output pixels by the window's values
            assert sum(g["m"] for g in rows) == batch * OH * OW
            if type(layer).__name__ == "Conv2D":
                KH, KW, C, _ = layer.kernel.shape
                assert all(g["k"] == KH * KW * C and g["count"] == 1 for g in rows)
    # the shipped original network's second convolution is a Winograd one (32 -> 64 channels)
    if name == "catdog.npz":
        assert any(g["route"] == "chunks-winograd" for g in gemms if g["layer"] == "conv2d_1")


def test_floor_report_puts_the_floor_beside_both_peers():
    floor = {"model": "m.npz", "batch": 32, "workers": 2, "per_layer_ms": {"conv2d": 10.0},
             "one_core_ms": 10.0, "floor_ms": 5.0, "gemm_gflop": 1.0, "gflops_per_core": 100.0}
    peers = {"machine": "cpu", "versions": {"numpy": "2"}, "rounds": 5,
             "median": {"ort_batch": 3200.0, "mc_batch": 1600.0}}  # 10 and 20 ms a batch
    text = blas_floor.report(floor, peers)
    assert "floor / onnxruntime: 0.50" in text
    assert "minicnn / onnxruntime: 2.00" in text
    assert "minicnn / floor: 4.00" in text
