"""minicnn.models.residual.catdog_residual_network: its shape, that it trains, that it saves and
loads, and Grad-CAM through its graph (tests/parity/test_residual_gradcam_parity.py compares
the maps with TensorFlow).
"""

from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.models.residual import catdog_residual_network


def test_structure_and_parameter_count():
    mc.clear_session()
    model = catdog_residual_network()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("SeparableConv2D") == 7 and kinds.count("BatchNormalization") == 8
    assert kinds.count("Add") == 3 and kinds[-3:] == ["GlobalAveragePooling2D", "Dropout",
                                                     "Dense"]
    assert model.output_shape == (None, 1)
    assert model.count_params() == 285_633
    small = catdog_residual_network((64, 64, 3))
    assert small.count_params() == 285_633  # global pooling: the size does not change weights


def test_width_scales_every_filter_count_to_a_multiple_of_8():
    mc.clear_session()
    wide = catdog_residual_network((32, 32, 3), width=1.5)
    filters = [layer.filters for layer in wide.layers if hasattr(layer, "filters")]
    # entry, then per block two separable + the shortcut, then the head
    assert filters == [48, 96, 96, 96, 192, 192, 192, 384, 384, 384, 576]
    assert wide.count_params() == 631_201
    narrow = catdog_residual_network((32, 32, 3), width=0.1)
    assert min(layer.filters for layer in narrow.layers if hasattr(layer, "filters")) == 8
    with pytest.raises(ValueError, match="width must be > 0, got 0"):
        catdog_residual_network(width=0)


def _bright_or_dark(n, size, seed):
    """Images whose label is whether they are brighter than mid-grey: a task any working
    convolution + global pooling stack learns in a few steps."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.float32)
    level = np.where(y[:, None, None, None] == 1, 170.0, 85.0)
    x = np.clip(level + rng.normal(0, 30, (n, size, size, 3)), 0, 255).astype(np.float32)
    return x, y


def test_it_trains():
    mc.set_seed(0)
    model = catdog_residual_network((32, 32, 3))
    model.compile(optimizer=mc.optimizers.Adam(1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    x, y = _bright_or_dark(32, 32, seed=1)
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    # training-mode accuracy: after 12 steps BatchNormalization's moving statistics (momentum
    # 0.99, as Keras) are still mostly their initial values, so inference is not judged here
    assert history.history["accuracy"][-1] >= 0.9


def test_save_load_and_grad_cam(tmp_path):
    mc.set_seed(0)
    model = catdog_residual_network((32, 32, 3))
    x, _ = _bright_or_dark(3, 32, seed=3)
    model.save(tmp_path / "res.npz")
    loaded = mc.load_model(tmp_path / "res.npz")
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), atol=1e-6)
    maps = mc.explain.grad_cam(loaded, x)  # default: the last SeparableConv2D, 2x2 at 32 px
    assert maps.shape == (3, 2, 2) and maps.min() >= 0 and maps.max() <= 1
    a, y = mc.explain.layer_and_model_outputs(loaded, x, loaded.layers[5])
    np.testing.assert_allclose(y.data, loaded.predict_on_batch(x), atol=1e-6)


def test_catdog_example_trains_and_explains_the_residual_arch(tmp_path):
    """examples/catdog.py train --arch residual, then predict / explain / features on its file."""
    import os
    import re
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    small = repo / "examples" / "data" / "catdog_small" / "training_set"
    data = tmp_path / "data"
    for cls in ("cats", "dogs"):
        (data / cls).mkdir(parents=True)
        for src in sorted((small / cls).glob("*.jpg"))[:6]:
            shutil.copy(src, data / cls / src.name)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(repo), os.environ.get("PYTHONPATH")) if p)}

    def run(*args):
        out = subprocess.run([sys.executable, str(repo / "examples" / "catdog.py"),
                              *map(str, args)], capture_output=True, text=True, env=env,
                             timeout=600)
        assert out.returncode == 0, out.stderr
        return out.stdout

    run("train", "--arch", "residual", "--data", data, "--validation-split", "0.25",
        "--epochs", "1", "--image-size", "32", "--batch-size", "4", "--out", tmp_path / "run",
        "--verbose", "0")
    model = tmp_path / "run" / "model.npz"
    image = sorted((data / "cats").glob("*.jpg"))[0]
    assert re.match(r"cat\.\d+\.jpg\t(cat|dog)\t\d\.\d{4}$", run("predict", "--model", model,
                                                                 image).strip())
    assert "-gradcam.png" in run("explain", "--model", model, image, "--out", tmp_path / "gc")
    assert "separable_conv2d (32 of 64 maps" in run("features", "--model", model, image,
                                                     "--out", tmp_path / "f.png")
