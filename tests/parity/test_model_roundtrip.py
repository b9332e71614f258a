"""Whole models: from_keras / to_keras round trips, Keras files, and minicnn's own save files."""

from __future__ import annotations

import numpy as np
import pytest
from keras_models import keras_catdog
from parity_tools import FORWARD_TOL, rel_err

import minicnn as mc
from minicnn.keras_compat import KerasCompatError, from_keras, to_keras
from minicnn.models import catdog_network

# Keras's own HDF5/.keras code passes copy=False to ndarray-likes (NumPy 2 deprecation, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 1, (3, 64, 64, 3)).astype(np.float32)


def _keras_predict(kmodel, x):
    return kmodel.predict_on_batch(x)


def test_from_keras_then_to_keras_reproduces_predictions(keras, record, images):
    kmodel = keras_catdog(keras, (64, 64, 3), "same")
    model = from_keras(kmodel)
    assert [type(layer).__name__ for layer in model.layers] == [
        type(layer).__name__ for layer in kmodel.layers]
    assert model.count_params() == kmodel.count_params()
    back = to_keras(model)
    assert record("roundtrip.keras_minicnn_keras", rel_err(_keras_predict(back, images),
                                                           _keras_predict(kmodel, images))) == 0
    assert record("roundtrip.minicnn_vs_keras", rel_err(model.predict_on_batch(images),
                                                        _keras_predict(kmodel, images))
                  ) <= FORWARD_TOL
    for a, b in zip(back.get_config()["layers"], kmodel.get_config()["layers"], strict=True):
        a, b = dict(a["config"]), dict(b["config"])
        for key in ("dtype", "build_config"):
            a.pop(key, None), b.pop(key, None)
        assert a == b


def test_minicnn_save_to_keras_file_and_back(keras, record, tmp_path, images):
    """minicnn model.save -> load_model -> to_keras -> .keras file -> from_keras(path): the
    same predictions at every stop."""
    mc.set_seed(3)
    model = catdog_network((64, 64, 3))
    expected = model.predict_on_batch(images)
    model.save(tmp_path / "catdog.npz")
    loaded = mc.load_model(tmp_path / "catdog.npz")
    kmodel = to_keras(loaded)
    assert record("roundtrip.saved_to_keras", rel_err(_keras_predict(kmodel, images), expected)
                  ) <= FORWARD_TOL
    kmodel.save(tmp_path / "catdog.keras")
    again = from_keras(tmp_path / "catdog.keras")
    np.testing.assert_array_equal(again.predict_on_batch(images), expected)
    kmodel.save_weights(tmp_path / "catdog.weights.h5")
    fresh = catdog_network((64, 64, 3))  # new random weights, same architecture
    from_weights = from_keras(tmp_path / "catdog.weights.h5", model=fresh)
    np.testing.assert_array_equal(from_weights.predict_on_batch(images), expected)
    into_keras = from_keras(tmp_path / "catdog.weights.h5", model=keras_catdog(keras, (64, 64, 3),
                                                                              "same"))
    np.testing.assert_array_equal(into_keras.predict_on_batch(images), expected)
    with pytest.raises(KerasCompatError, match="weights only; pass model="):
        from_keras(tmp_path / "catdog.weights.h5")


def test_unbuilt_or_subclassed_models_are_rejected(keras):
    with pytest.raises(KerasCompatError, match="not built"):
        from_keras(keras.Sequential([keras.layers.Dense(2)]))

    # functional models convert: tests/parity/test_functional_parity.py
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(KerasCompatError, match="not subclassed"):
        from_keras(Subclassed())
    with pytest.raises(KerasCompatError, match="not built"):
        to_keras(mc.Sequential([mc.layers.Dense(2)]))


def test_unsupported_layer_in_a_model_is_named(keras):
    kmodel = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
                               keras.layers.LayerNormalization(name="ln")])
    with pytest.raises(KerasCompatError, match=r"'ln' \(LayerNormalization\)"):
        from_keras(kmodel)
