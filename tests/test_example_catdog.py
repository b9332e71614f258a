"""examples/catdog.py end to end, in subprocesses, on a tiny copy of the bundled subset."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "catdog.py"
SMALL = REPO / "examples" / "data" / "catdog_small"


def run(*args, check=True):
    out = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                         text=True, timeout=600)
    if check and out.returncode != 0:
        raise AssertionError(f"exit {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}")
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("catdog")
    for cls in ("cats", "dogs"):
        (root / cls).mkdir()
        for src in sorted((SMALL / "training_set" / cls).glob("*.jpg"))[:8]:
            shutil.copy(src, root / cls / src.name)
    return root


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("run")
    result = run("train", "--data", tiny, "--validation-split", "0.25", "--epochs", "2",
                 "--image-size", "32", "--batch-size", "4", "--out", out_dir, "--verbose", "2")
    return out_dir, result


def test_train_writes_model_history_and_curves(trained):
    out_dir, result = trained
    assert "Epoch 1/2" in result.stdout and "Epoch 2/2" in result.stdout
    assert re.search(r"^3/3 - \d+s - \d+m?s/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - "
                     r"val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$", result.stdout, re.M)
    record = json.loads((out_dir / "history.json").read_text())
    assert set(record["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(record["history"]["loss"]) == 2
    assert (out_dir / "model.npz").stat().st_size > 100_000
    assert (out_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_prints_keras_style_line(trained, tiny):
    out_dir, _ = trained
    result = run("evaluate", "--model", out_dir / "model.npz", "--data", tiny)
    assert re.search(r"^loss: \d\.\d{4} - accuracy: \d\.\d{4}$", result.stdout, re.M)
    assert result.stdout.splitlines()[-1].startswith("loss: ")


def test_predict_prints_one_line_per_image(trained, tiny):
    out_dir, _ = trained
    images = sorted((tiny / "cats").glob("*.jpg"))[:2] + sorted((tiny / "dogs").glob("*.jpg"))[:1]
    result = run("predict", "--model", out_dir / "model.npz", *images)
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for line, image in zip(lines, images):
        name, label, prob = line.split("\t")
        assert name == image.name and label in ("cat", "dog") and 0 <= float(prob) <= 1


def test_predict_reports_unreadable_image_and_fails(trained, tmp_path):
    out_dir, _ = trained
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    result = run("predict", "--model", out_dir / "model.npz", bad, check=False)
    assert result.returncode == 1 and "broken.jpg: cannot read image" in result.stderr


def test_features_writes_png(trained, tiny, tmp_path):
    out_dir, _ = trained
    png = tmp_path / "maps.png"
    image = sorted((tiny / "cats").glob("*.jpg"))[0]
    result = run("features", "--model", out_dir / "model.npz", image, "--out", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "conv2d" in result.stdout


def test_missing_model_is_a_usage_error(tmp_path):
    result = run("predict", "--model", tmp_path / "nope.npz", "x.jpg", check=False)
    assert result.returncode == 2 and "no such file" in result.stderr


def test_folder_without_test_set_needs_a_split(tiny):
    result = run("train", "--data", tiny, "--epochs", "1", check=False)
    assert result.returncode != 0 and "--validation-split" in result.stderr


def test_warmup_raises_the_learning_rate_then_decays(tiny, tmp_path):
    result = run("train", "--data", tiny, "--validation-split", "0.25", "--epochs", "3",
                 "--image-size", "32", "--batch-size", "4", "--out", tmp_path, "--verbose", "2",
                 "--learning-rate", "1e-3", "--warmup-epochs", "2", "--decay-epochs", "2",
                 "--decay-factor", "0.5")
    rates = re.findall(r"LearningRateScheduler setting learning rate to ([0-9.e-]+?)\.?$",
                       result.stdout, re.M)
    assert [float(r) for r in rates] == pytest.approx([5e-4, 1e-3, 5e-4])


def test_negative_warmup_is_refused_with_a_clear_error(tiny, tmp_path):
    result = run("train", "--data", tiny, "--warmup-epochs", "-1", "--out", tmp_path,
                 check=False)
    assert result.returncode == 2
    assert "--warmup-epochs" in result.stderr and "expected an integer >= 0" in result.stderr
