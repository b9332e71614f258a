"""The benchmark machinery end to end in a tiny configuration. Asserts shape, never speed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import common, layers, report
from minicnn.models import catdog


def test_network_spec_matches_minicnn():
    assert common.BLOCKS == catdog.BLOCKS
    for size in (32, 64, 100, 128, 150):
        assert common.choose_padding(size) == catdog.choose_padding((size, size, 3))


def _run(size, fw, **values):
    run = {"framework": fw, "size": size, "train_ips": 100.0, "infer_ips": 300.0,
           "latency_ms": 10.0, "rss_train_mb": 1000.0}
    run.update(values)
    return run


def test_target_rows_are_ratios_against_keras():
    runs = [_run(128, "keras"), _run(128, "keras", train_ips=120.0),
            _run(128, "minicnn", train_ips=220.0, latency_ms=4.0, rss_train_mb=600.0),
            _run(64, "minicnn")]  # no Keras at 64 px: no ratios there
    rows = {r["metric"]: r for r in report.target_rows(report.summarise(runs))}
    assert set(rows) == {"train_ips", "infer_ips", "latency_ms", "rss_train_mb"}
    assert rows["train_ips"]["ratio"] == pytest.approx(2.0)  # against the median, 110
    assert rows["train_ips"]["met"] and rows["infer_ips"]["met"] and rows["latency_ms"]["met"]
    assert rows["rss_train_mb"]["ratio"] == pytest.approx(0.6)
    assert not rows["rss_train_mb"]["met"]


def test_run_end_to_end_tiny(tmp_path):
    cmd = [sys.executable, "benchmarks/run.py", "--quick", "--sizes", "32", "--batch", "4",
           "--frameworks", "minicnn", "--no-startup", "--no-layers", "--threads", "1",
           "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=Path(common.__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    results = json.loads((tmp_path / "results.json").read_text())
    (run,) = results["runs"]
    assert (run["framework"], run["size"], run["batch"]) == ("minicnn", 32, 4)
    for key in ("train_ips", "infer_ips", "latency_ms", "rss_train_mb"):
        assert run[key] > 0
    assert run["threads"]["numba"] == 1
    assert results["info"]["versions"]["numpy"]

    md = (tmp_path / "RESULTS.md").read_text()
    assert "Reduced configuration" in md
    table = [ln for ln in md.splitlines() if ln.startswith("| framework | size |")]
    assert table and all(c in table[0] for c in report.COLUMNS)
    assert any(ln.startswith("| minicnn | 32 |") for ln in md.splitlines())
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the peers of the seed network's inference and the scipy-first row (the test extra
    # installs onnxruntime and scipy)
    assert results["onnxruntime"]["max_rel_diff"] <= 1e-5
    assert "## Inference against onnxruntime" in md and "| one-image latency |" in md
    assert results["scipy_first"]["train_ratio"] > 0
    assert "## Training with scipy imported first" in md
    assert results["busy_core"]["slowdown"]["minicnn"]["train_ips"] > 0
    assert "## Training with one core busy" in md


def test_layer_table_in_process():
    rows = layers.layer_times(size=32, batch=2, repeats=1)
    names = [r["layer"].split()[0] for r in rows]
    assert names.count("Conv2D") == 5 and names.count("Dense") == 2 and len(names) == 14
    assert rows[0]["bwd_mflop"] == rows[0]["fwd_mflop"]  # first conv: no input gradient
    assert rows[2]["bwd_mflop"] == 2 * rows[2]["fwd_mflop"]
    result = {"size": 32, "batch": 2, "repeats": 1, "route": "im2col", "rows": rows,
              "sgemm_n": 64, "sgemm_gflops": layers.sgemm_gflops(64, 1), "numba_threads": 1,
              "blas": []}
    table = report.layer_table([result])
    assert sum(ln.startswith("| Conv2D") for ln in table) == 5
    assert any(ln.startswith("| **total**") for ln in table) and "sgemm" in table[0]


def test_xception_end_to_end_tiny_against_keras(tmp_path):
    """--network xception: minicnn and Keras (via to_keras) train the same mini-Xception; the
    seed network's startup and per-layer runs are skipped, torch too."""
    cmd = [sys.executable, "benchmarks/run.py", "--network", "xception", "--quick", "--sizes",
           "32", "--batch", "4", "--widths", "8,16,24,32", "--frameworks", "minicnn,keras,torch",
           "--threads", "1", "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=Path(common.__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    runs = {r["framework"]: r for r in results["runs"]}
    assert set(runs) == {"minicnn", "keras"} and "startup" not in results
    assert {r["network"] for r in runs.values()} == {"xception"}
    assert runs["minicnn"]["params"] == runs["keras"]["params"] > 0
    for run in runs.values():
        assert run["train_ips"] > 0 and run["infer_ips"] > 0
    md = (tmp_path / "RESULTS.md").read_text()
    assert "Network: **xception**" in md and "Reduced configuration" in md


def test_residual_end_to_end_tiny_against_keras(tmp_path):
    """--network residual: minicnn and Keras (via to_keras) train the residual cat-dog network
    (the same parameters); RESULTS.md names it."""
    cmd = [sys.executable, "benchmarks/run.py", "--network", "residual", "--quick", "--sizes",
           "32", "--batch", "4", "--frameworks", "minicnn,keras", "--threads", "1",
           "--out", str(tmp_path)]
    proc = subprocess.run(cmd, cwd=Path(common.__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    runs = {r["framework"]: r for r in results["runs"]}
    assert set(runs) == {"minicnn", "keras"}
    assert {r["network"] for r in runs.values()} == {"residual"}
    assert runs["minicnn"]["params"] == runs["keras"]["params"] == 285_633
    md = (tmp_path / "RESULTS.md").read_text()
    assert "Network: **residual** (minicnn.models.catdog_residual_network)" in md


def test_xception_is_the_keras_io_shape():
    from benchmarks import xception

    model = xception.build(32, (4, 8, 12, 16))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("SeparableConv2D") == 2 * 2 + 1 and kinds.count("Add") == 2
    assert kinds.count("BatchNormalization") == 1 + 2 * 2 + 1
    assert kinds[-3:] == ["GlobalAveragePooling2D", "Dropout", "Dense"]
    assert model.get_layer("block1_residual").strides == (2, 2)
    assert model.output_shape == (None, 1)
    with pytest.raises(ValueError, match="widths"):
        xception.parse_widths("8,16")


def test_scipy_first_runs_both_variants_and_reports_the_ratio():
    """benchmarks/scipy_first.py: each variant in its own child; the scipy-first child really
    holds a second BLAS (scipy's OpenBLAS beside numpy's), the other numpy's alone."""
    from benchmarks import scipy_first

    lines = []
    result = scipy_first.measure(size=32, batch=4, repeats=1, threads=1, log=lines.append,
                                 quick=True)
    assert [line.split()[2:4] for line in lines] == [["without", "scipy"], ["scipy", "first"]]
    assert result["train_ratio"] > 0 and result["infer_ratio"] > 0
    libraries = {name: {info["filepath"] for info in blas if info.get("user_api") == "blas"}
                 for name, blas in result["blas"].items()}
    assert len(libraries["without scipy"]) == 1 and len(libraries["scipy first"]) >= 2, libraries


def test_busy_core_runs_quiet_and_busy_and_reports_the_slowdown():
    """benchmarks/busy_core.py: each framework quiet and beside a hog process, in its own
    children; the hog is gone afterwards; the table names the target."""
    import psutil

    from benchmarks import busy_core

    lines = []
    result = busy_core.measure(("minicnn",), size=32, batch=4, repeats=1, threads=1,
                               log=lines.append, quick=True)
    assert len(lines) == 2 and {"quiet", "busy"} <= set(" ".join(lines).split())
    s = result["slowdown"]["minicnn"]
    assert s["train_ips"] > 0 and s["infer_ips"] > 0
    table = busy_core.report_lines(result)
    assert table[2].startswith("| minicnn |") and "<= 2.0×" in table[2]
    hogs = [p for p in psutil.process_iter(["cmdline"])
            if busy_core.HOG in " ".join(p.info["cmdline"] or [])]
    assert hogs == []


def test_ab_residual_runs_every_setting():
    """benchmarks/ab_residual.py, tiny: every route setting of each measurement is printed
    with its ratio to the default, and the routes are back at their defaults afterwards."""
    cmd = [sys.executable, "benchmarks/ab_residual.py", "--size", "32", "--batch", "4",
           "--rounds", "1"]
    proc = subprocess.run(cmd, cwd=Path(common.__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["predict, batch 4", "predict, one image",
                                                  "training step, batch 4"]
    assert "no pointwise rows" in lines[1] and "default" in lines[2] and "(1.000)" in lines[0]
    assert "no separable chunks" in lines[0]

