"""The pretrained models shipped in examples/weights (the original network and the residual
one): they load without pickle and still classify images they were not trained on (the bundled
sample's test images, ids 4001-4050 of test_set)."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn.data import image_dataset_from_directory

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "examples" / "weights" / "catdog.npz"
RESIDUAL = REPO / "examples" / "weights" / "catdog_residual.npz"
SAMPLE_TEST = REPO / "examples" / "data" / "catdog_small" / "test_set"


def test_shipped_model_is_the_catdog_network():
    model = mc.load_model(MODEL)
    assert model.count_params() == 798_657
    assert model.input_shape == (None, 128, 128, 3)
    assert type(model.layers[0]).__name__ == "Rescaling"  # takes raw 0..255 pixels


def test_shipped_residual_model_is_the_residual_network():
    model = mc.load_model(RESIDUAL)
    assert model.count_params() == 285_633
    assert model.input_shape == (None, 128, 128, 3)
    names = {type(layer).__name__ for layer in model.layers}
    assert {"Rescaling", "BatchNormalization", "SeparableConv2D", "Add",
            "GlobalAveragePooling2D"} <= names


@pytest.mark.parametrize("path", [MODEL, RESIDUAL], ids=["original", "residual"])
def test_shipped_model_accuracy_on_held_out_sample(path):
    model = mc.load_model(path)
    data = image_dataset_from_directory(SAMPLE_TEST, label_mode="binary", image_size=(128, 128),
                                        shuffle=False, cache="memory", verbose=False)
    probs = model.predict(data, verbose=0)[:, 0]
    labels = np.concatenate([y for _, y in data])[:, 0]
    accuracy = float(((probs > 0.5) == (labels == 1)).mean())
    assert accuracy >= 0.93, f"{path.name}: {accuracy:.3f} on the 100 held-out sample images"


def test_predict_command_uses_the_shipped_model_by_default():
    cats = sorted((SAMPLE_TEST / "cats").glob("*.jpg"))[:3]
    dogs = sorted((SAMPLE_TEST / "dogs").glob("*.jpg"))[:3]
    out = subprocess.run([sys.executable, str(REPO / "examples" / "catdog.py"), "predict",
                          *map(str, cats + dogs)], capture_output=True, text=True, timeout=300,
                         check=True)
    labels = [line.split("\t")[1] for line in out.stdout.splitlines()]
    assert len(labels) == 6
    correct = sum(a == b for a, b in zip(labels, ["cat"] * 3 + ["dog"] * 3))
    assert correct >= 5, out.stdout
