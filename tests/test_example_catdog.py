"""examples/catdog.py end to end, in subprocesses, on a tiny copy of the bundled subset."""

import importlib.util
import json
import os
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
    # this checkout's minicnn first, even where another copy is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                         text=True, timeout=600, env=env)
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
    assert re.search(r"^3/3 - \d+s - \d+m?s/step - accuracy: \d\.\d{4} - loss: \d\.\d{4} - "
                     r"val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}$", result.stdout, re.M)
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


def test_validation_split_zero_trains_on_every_image_without_validation(tiny, tmp_path):
    result = run("train", "--data", tiny, "--validation-split", "0", "--epochs", "1",
                 "--image-size", "32", "--batch-size", "4", "--out", tmp_path, "--verbose", "2")
    assert "Training on 16 images, no validation" in result.stdout
    assert re.search(r"^4/4 - .* - accuracy: \d\.\d{4} - loss: \d\.\d{4}$", result.stdout, re.M)
    record = json.loads((tmp_path / "history.json").read_text())
    assert set(record["history"]) == {"loss", "accuracy"}


@pytest.mark.parametrize("extra, words", [(["--validation-split", "0", "--save-best"],
                                           "--validation-split 0 turns off"),
                                          (["--validation-split", "0", "--early-stopping", "3"],
                                           "--validation-split 0 turns off"),
                                          (["--validation-split", "1.5"],
                                           "expected a fraction in [0, 1), got 1.5"),
                                          (["--width", "1.5"], "it needs --arch residual"),
                                          (["--arch", "residual", "--width", "-1"],
                                           "--width: expected a multiplier > 0, got -1")])
def test_bad_validation_split_is_a_usage_error(tiny, tmp_path, extra, words):
    result = run("train", "--data", tiny, "--out", tmp_path, *extra, check=False)
    assert result.returncode == 2 and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


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


# ------------------------------------------------------------------ Grad-CAM and the first run


def test_explain_writes_one_overlay_per_image(trained, tiny, tmp_path):
    from PIL import Image

    out_dir, _ = trained
    images = [sorted((tiny / "cats").glob("*.jpg"))[0], sorted((tiny / "dogs").glob("*.jpg"))[0]]
    result = run("explain", "--model", out_dir / "model.npz", *images, "--out", tmp_path / "gc")
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    for line, image in zip(lines, images):
        name, label, prob, written = line.split("\t")
        assert name == image.name and label in ("cat", "dog") and 0 <= float(prob) <= 1
        png = Path(written)
        assert png.parent == tmp_path / "gc" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(png) as drawn, Image.open(image) as photo:
            assert drawn.size == photo.size  # the map is upsampled to the photo


def test_explain_bad_image_and_bad_layer(trained, tiny, tmp_path):
    out_dir, _ = trained
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    result = run("explain", "--model", out_dir / "model.npz", bad, "--out", tmp_path, check=False)
    assert result.returncode == 1 and "broken.jpg: cannot read image" in result.stderr
    image = sorted((tiny / "cats").glob("*.jpg"))[0]
    result = run("explain", "--model", out_dir / "model.npz", image, "--layer", "flatten",
                 "--out", tmp_path, check=False)
    assert result.returncode == 2 and "layer 'flatten'" in result.stderr
    assert "not spatial maps" in result.stderr


def test_features_names_layers_and_counts_the_maps_it_draws(trained, tiny, tmp_path):
    out_dir, _ = trained
    image = sorted((tiny / "dogs").glob("*.jpg"))[0]
    result = run("features", "--model", out_dir / "model.npz", image, "--out",
                 tmp_path / "f.png", "--layers", "2")
    assert re.search(r"conv2d \(32 maps(, \d+ never fire)?\), "
                     r"conv2d_1 \(32 of 64 maps(, \d+ never fire)?\)$", result.stdout.strip())


def _load_example():
    spec = importlib.util.spec_from_file_location("catdog_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_first_run_also_shows_the_pretrained_model(tmp_path, monkeypatch, capsys):
    """``catdog.py`` with no arguments: after training (replaced here by a stub, the real one
    takes minutes) the pretrained model's accuracy on the held-out photos and a grid of its
    predictions with Grad-CAM overlays in the run folder."""
    catdog = _load_example()

    def fake_train(args):
        args.run_dir = tmp_path
        return 0

    monkeypatch.setattr(catdog, "cmd_train", fake_train)
    assert catdog.main([]) == 0
    out = capsys.readouterr().out
    accuracy = re.search(r"on the 100 bundled held-out photos: accuracy (\d\.\d{3})", out)
    assert accuracy and 0.5 < float(accuracy.group(1)) <= 1
    assert re.search(r"predictions\.png: \d of 8 right, with Grad-CAM heat maps", out)
    assert (tmp_path / "predictions.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_curves_have_a_title_and_a_chance_line(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    catdog = _load_example()
    seen = {}
    real_savefig = plt.Figure.savefig

    def spy(fig, path, **kwargs):
        seen["title"] = fig._suptitle.get_text() if fig._suptitle else None
        seen["lines"] = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
        return real_savefig(fig, path, **kwargs)

    history = {"loss": [0.7, 0.6], "accuracy": [0.5, 0.6], "val_loss": [0.7, 0.65],
               "val_accuracy": [0.5, 0.55]}
    plt.Figure.savefig = spy
    try:
        assert catdog.plot_curves(history, tmp_path / "c.png")
    finally:
        plt.Figure.savefig = real_savefig
    assert seen["title"] == "cat vs dog: 2 epochs of training"
    assert "chance (0.5)" in seen["lines"]
