"""Layer conversion: configurations carried both ways, unsupported options rejected by name,
and ``import minicnn`` free of TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn.keras_compat import KerasCompatError, layer_from_keras, layer_to_keras


def test_import_does_not_load_tensorflow():
    code = ("import sys, minicnn, minicnn.keras_compat, minicnn.layers; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')); "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, f"importing minicnn loaded {done.stdout.strip()}"


@pytest.mark.parametrize("ci,outcome,rc", [("true", "1 error", 1), ("false", "1 skipped", 0)])
def test_missing_tensorflow_fails_in_ci_and_skips_elsewhere(tmp_path, ci, outcome, rc):
    """The conftest contract: with CI=true a missing TensorFlow is a failure, not a skip."""
    for name in ("tensorflow", "keras"):
        (tmp_path / f"{name}.py").write_text("raise ImportError('stub: not installed')\n")
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "CI": ci, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(repo)])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-o", "addopts=",
         "tests/parity/test_catdog_parity.py::test_padding_rule"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == rc and outcome in done.stdout, done.stdout[-2000:]
    assert "TensorFlow/Keras is not importable (stub: not installed)" in done.stdout


@pytest.mark.parametrize("make", [
    lambda L: L.Conv2D(5, (3, 2), strides=(2, 1), padding="same", activation="relu",
                       use_bias=False, kernel_initializer="he_normal", name="c", trainable=False),
    lambda L: L.Dense(3, activation="softmax", bias_initializer="ones", name="d"),
    lambda L: L.MaxPooling2D(3, strides=1, padding="same", name="m"),
    lambda L: L.MaxPool2D(2, name="m2"),
    lambda L: L.AveragePooling2D((2, 3), name="a"),
    lambda L: L.Flatten(name="f"),
    lambda L: L.Dropout(0.25, seed=7, name="r"),
    lambda L: L.Activation("tanh", name="t"),
    lambda L: L.Rescaling(1 / 255, offset=-0.5, name="s"),
])
def test_config_round_trip(keras, make):
    """Keras -> minicnn -> Keras gives the same Keras config, and minicnn's config has the same
    values under the same (Keras) argument names."""
    original = make(keras.layers)
    mine = layer_from_keras(original)
    back = layer_to_keras(mine)
    drop = {"dtype"}
    assert {k: v for k, v in back.get_config().items() if k not in drop} == {
        k: v for k, v in original.get_config().items() if k not in drop}
    keras_config = original.get_config()
    for key, value in mine.get_config().items():
        if key in keras_config and not key.endswith("initializer"):
            expect = keras_config[key]
            assert (list(value) if isinstance(value, (list, tuple)) else value) == (
                list(expect) if isinstance(expect, (list, tuple)) else expect), key


def test_weights_move_both_ways(keras):
    rng = np.random.default_rng(0)
    klayer = keras.layers.Conv2D(4, 3)
    klayer.build((None, 8, 8, 3))
    klayer.set_weights([rng.standard_normal((3, 3, 3, 4)).astype(np.float32),
                        rng.standard_normal(4).astype(np.float32)])
    mine = layer_from_keras(klayer, input_shape=(None, 8, 8, 3))
    for a, b in zip(mine.get_weights(), klayer.get_weights()):
        np.testing.assert_array_equal(a, b)
    back = layer_to_keras(mine)
    for a, b in zip(back.get_weights(), klayer.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make,option", [
    (lambda L: L.BatchNormalization(renorm=True), "renorm"),
    (lambda L: L.DepthwiseConv2D(3, depthwise_regularizer="l2"), "depthwise_regularizer"),
    (lambda L: L.Conv2D(2, 3, data_format="channels_first"), "data_format"),
    (lambda L: L.Conv2D(2, 3, kernel_regularizer="l2"), "kernel_regularizer"),
    (lambda L: L.Dense(2, bias_constraint="non_neg"), "bias_constraint"),
    (lambda L: L.Dense(2, activity_regularizer="l1"), "activity_regularizer"),
    (lambda L: L.Dense(2, activation="gelu"), "activation"),
    (lambda L: L.Dense(2, kernel_initializer="orthogonal"), "kernel_initializer"),
    (lambda L: L.Dense(2, kernel_initializer="lecun_normal"), "kernel_initializer"),
    (lambda L: L.MaxPooling2D(2, data_format="channels_first"), "data_format"),
    (lambda L: L.Dropout(0.5, noise_shape=(None, 1)), "noise_shape"),
    (lambda L: L.Dense(2, dtype="float64"), "dtype"),
    (lambda L: L.Rescaling([1.0, 2.0, 3.0]), "scale"),
])
def test_unsupported_option_is_named(keras, make, option):
    layer = make(keras.layers)
    with pytest.raises(KerasCompatError, match=rf"'{layer.name}'.*{option}"):
        layer_from_keras(layer)


def test_initializer_with_non_default_arguments_is_rejected(keras):
    layer = keras.layers.Dense(2, kernel_initializer=keras.initializers.RandomNormal(stddev=1.0))
    with pytest.raises(KerasCompatError, match="kernel_initializer=RandomNormal.*stddev"):
        layer_from_keras(layer)
    seeded = keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(seed=3))
    assert layer_from_keras(seeded).get_config()["kernel_initializer"] == "glorot_uniform"


@pytest.mark.parametrize("make", [
    lambda L: L.LayerNormalization(), lambda L: L.Conv1D(2, 3), lambda L: L.GlobalMaxPooling1D(),
])
def test_unsupported_layer_is_named(keras, make):
    layer = make(keras.layers)
    with pytest.raises(KerasCompatError, match=rf"'{layer.name}' \({type(layer).__name__}\)"):
        layer_from_keras(layer)


def test_custom_minicnn_activation_cannot_go_to_keras():
    layer = mc.layers.Dense(2, activation=lambda t: t * 2, name="twice")
    with pytest.raises(KerasCompatError, match="'twice'"):
        layer_to_keras(layer, input_shape=(None, 3))
