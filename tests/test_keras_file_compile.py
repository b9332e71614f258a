"""A compiled model saved as ``.keras`` carries its compile settings both ways, as Keras's own
``save`` / ``load_model`` do: Keras reads minicnn's file compiled, minicnn compiles a Keras
file's model from the file, and a setting minicnn lacks is named in a warning."""

from __future__ import annotations

import warnings

import keras  # the test extra installs TensorFlow: a missing one fails, never skips
import numpy as np
import pytest

import minicnn as mc


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    return x, (x[:, :1] > 0).astype(np.float32)


def test_minicnn_file_loads_compiled_in_keras_and_minicnn(tmp_path):
    model = mc.Sequential([mc.Input((4,)), mc.Dense(1, activation="sigmoid")])
    schedule = mc.optimizers.schedules.ExponentialDecay(1e-2, 100, 0.9)
    model.compile(optimizer=mc.optimizers.Adam(learning_rate=schedule, clipnorm=1.0),
                  loss=mc.losses.BinaryCrossentropy(label_smoothing=0.1),
                  metrics=["accuracy", mc.metrics.AUC(name="auc")])
    path = str(tmp_path / "m.keras")
    model.save(path)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "skipping optimizer variables" from Keras
        kmodel = keras.models.load_model(path)
    config = kmodel.get_compile_config()
    assert config["optimizer"]["class_name"] == "Adam"
    assert config["optimizer"]["config"]["clipnorm"] == 1.0
    assert config["optimizer"]["config"]["learning_rate"]["class_name"] == "ExponentialDecay"
    assert config["loss"]["config"]["label_smoothing"] == pytest.approx(0.1)
    assert config["metrics"][0] == "accuracy"
    assert config["metrics"][1]["class_name"] == "AUC"

    restored = mc.load_model(path)
    assert restored.compiled
    opt = restored.optimizer
    assert type(opt) is mc.optimizers.Adam and opt.clipnorm == 1.0
    assert opt._learning_rate.get_config() == schedule.get_config()
    assert restored.loss.label_smoothing == pytest.approx(0.1)
    assert [m.name for m in restored.metrics] == ["loss", "accuracy", "auc"]
    x, y = _data()
    np.testing.assert_allclose(restored.evaluate(x, y, verbose=0),
                               model.evaluate(x, y, verbose=0), rtol=1e-6)
    restored.fit(x, y, epochs=1, verbose=0)  # trains without another compile

    assert not mc.load_model(path, compile=False).compiled


def test_keras_file_loads_compiled_in_minicnn(tmp_path):
    kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    kmodel.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                   loss="sparse_categorical_crossentropy",
                   metrics=["accuracy",
                            keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    path = str(tmp_path / "k.keras")
    kmodel.save(path)
    model = mc.load_model(path)
    assert model.compiled
    opt = model.optimizer
    assert type(opt) is mc.optimizers.SGD and opt.momentum == pytest.approx(0.9)
    assert opt.nesterov and opt.learning_rate == pytest.approx(0.05)
    assert [m.name for m in model.metrics] == ["loss", "accuracy", "top2"]
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    klogs = kmodel.evaluate(x, y, verbose=0, return_dict=True)
    for key in ("loss", "accuracy", "top2"):
        assert logs[key] == pytest.approx(klogs[key], rel=1e-5)


def test_setting_minicnn_lacks_is_named_and_model_comes_back_uncompiled(tmp_path):
    kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    kmodel.compile(optimizer=keras.optimizers.Adam(use_ema=True), loss="mse")
    path = str(tmp_path / "ema.keras")
    kmodel.save(path)
    with pytest.warns(UserWarning, match=r"loaded uncompiled.*use_ema"):
        model = mc.load_model(path)
    assert not model.compiled
    kmodel.compile(optimizer="adam", loss=keras.losses.Poisson())
    kmodel.save(path)
    with pytest.warns(UserWarning, match="no loss 'Poisson'"):
        assert not mc.load_model(path).compiled
