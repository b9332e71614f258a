"""End to end: Keras-style scripts run with ``import keras`` and ``import minicnn as keras``.

Each script in ``tests/keras_scripts/`` is written once, as ``run(keras)`` using only the module
it is given, and runs here twice, each time in a fresh directory: with TensorFlow's Keras 3 and
with minicnn. The test compares what a user sees and gets: parameter counts and layer types,
History keys, the files written (names), the CSV log's header, the ``summary()`` table, and the
shape of every printed line (numbers and timings masked, so the keys and their order must
match). Numbers themselves differ (different random streams and float paths) and are checked
only for sanity here; step-for-step numerical parity lives in the other parity tests.

Also here: Keras 3's rule for ``training`` left unspecified (None), checked against live Keras,
and the preprocessing layers' ``keras_compat`` mappings (a model with an augmentation block
saved as ``.keras`` and converted both ways).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import re
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc

SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "keras_scripts"
SCRIPTS = ("image_classification", "array_sequential")
TABLE_CHARS = set("┏┃┡│├└━┓┩┤┘┳╇┼┴")


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"keras_script_{name}",
                                                  SCRIPTS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _library(lib: str):
    """The module the script gets as ``keras``, with its name counters reset."""
    if lib == "minicnn":
        mc.clear_session()
        return mc
    keras = importlib.import_module("keras")
    keras.utils.clear_session()
    return keras


_RUNS: dict[tuple[str, str], tuple[dict, str]] = {}
_WORKDIRS: dict[tuple[str, str], Path] = {}


@pytest.fixture
def run_script(tmp_path_factory):
    """``run_script(name, lib)`` -> (the script's result dict, its stdout), run once per pair
    in a fresh directory (both libraries run in this process, TensorFlow's first)."""
    def run(name: str, lib: str) -> tuple[dict, str]:
        if (name, lib) not in _RUNS:
            keras = _library(lib)
            workdir = tmp_path_factory.mktemp(f"{name}-{lib}")
            out = io.StringIO()
            cwd = os.getcwd()
            os.chdir(workdir)
            try:
                with contextlib.redirect_stdout(out):
                    result = _script(name).run(keras)
            finally:
                os.chdir(cwd)
            _RUNS[name, lib] = (result, out.getvalue())
            _WORKDIRS[name, lib] = workdir
        return _RUNS[name, lib]

    return run


def line_shape(line: str) -> str:
    """A printed line with its numbers and timings masked: what must match between libraries."""
    line = re.sub(r" - \d+(ms|us|s) - \d+(ms|us|s)/step", " - T - T/step", line)
    return re.sub(r"-?\d+(\.\d+)?(e[+-]\d+)?", "#", line)


def split_output(text: str) -> tuple[list[str], list[str]]:
    """(the summary table's lines, every other line as its shape). The table's title names the
    model by Keras's counter, which a Keras Sequential advances by building an inner Functional
    (so Keras's first keras.Model after one is "functional_1"): the title is masked."""
    table, other = [], []
    for line in text.splitlines():
        if line.startswith("Model: "):
            table.append('Model: "<name>"')
        elif set(line) & TABLE_CHARS or line.lstrip().startswith(
                ("Total params", "Trainable params", "Non-trainable params")):
            table.append(line)
        else:
            other.append(line_shape(line))
    return table, other


@pytest.mark.parametrize("name", SCRIPTS)
def test_same_model_same_files_same_keys(run_script, name):
    (theirs, _), (ours, _) = run_script(name, "keras"), run_script(name, "minicnn")
    exact = ("params", "trainable_params", "layers", "restored_layers", "restored_params",
             "history_keys", "epochs_run", "files", "csv_header", "prediction_shape",
             "result_keys", "classes_shape")
    for key in exact:
        if key in theirs:
            assert ours[key] == theirs[key], key


@pytest.mark.parametrize("name", SCRIPTS)
def test_printed_lines_have_the_same_shape(run_script, name):
    (_, their_text), (_, our_text) = run_script(name, "keras"), run_script(name, "minicnn")
    their_table, their_lines = split_output(their_text)
    our_table, our_lines = split_output(our_text)
    assert our_table == their_table
    assert our_lines == their_lines
    assert any(line.startswith("Epoch ") for line in our_lines)  # the comparison saw epochs


def test_image_script_details(run_script):
    for lib in ("keras", "minicnn"):
        result, text = run_script("image_classification", lib)
        assert 0.0 < result["score"] < 1.0, lib
        assert result["reloaded_same"], lib  # load_model gives the same prediction
        assert re.search(r"^This image is \d+\.\d\d% cat and \d+\.\d\d% dog\.$", text, re.M)
    # minicnn's checkpoints are real Keras files: TensorFlow's Keras loads them
    keras = importlib.import_module("keras")
    checkpoint = _WORKDIRS["image_classification", "minicnn"] / "save_at_2.keras"
    kmodel = keras.models.load_model(str(checkpoint))
    assert kmodel.count_params() == run_script("image_classification", "keras")[0]["params"]
    assert type(kmodel.get_layer("data_augmentation").layers[0]).__name__ == "RandomFlip"


def test_array_script_details(run_script):
    for lib in ("keras", "minicnn"):
        result, _ = run_script("array_sequential", lib)
        assert result["classes_in_range"], lib
        assert result["probabilities_sum"] == [1.0] * 5, lib
        # whether the plateau rule fires depends on the run's numbers; what it may do does not
        rates = result["learning_rates"]
        assert rates[0] == pytest.approx(0.05) and rates == sorted(rates, reverse=True), lib
        assert all(any(r == pytest.approx(0.05 * 0.5 ** k) for k in range(3)) for r in rates)


# -- training=None: Keras 3's rule -----------------------------------------------------------


def _changed(out, x) -> bool:
    arr = out.numpy() if isinstance(out, mc.Tensor) else np.asarray(out)
    return bool(np.abs(arr - x).max() > 1e-3)


def _cases(keras):
    """The same calls on both libraries: (label, whether the output differs from the input)."""
    layers = keras.layers
    x = np.random.default_rng(0).uniform(0, 255, (16, 8, 8, 3)).astype("float32")

    def augmenter():
        return keras.Sequential([layers.RandomFlip("horizontal"),
                                 layers.RandomTranslation(0.25, 0.25)])

    aug = augmenter()
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layers.Activation("linear")(augmenter()(inputs)))
    seq = keras.Sequential([keras.Input((8, 8, 3)), augmenter(), layers.Activation("linear")])
    dropout = keras.Sequential([keras.Input((8, 8, 3)), layers.Dropout(0.5)])

    class Wrapper(layers.Layer):  # calls its sublayer without `training`: it inherits
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.shift = layers.RandomTranslation(0.25, 0.25)

    class InferByDefault(Wrapper):
        def call(self, v, training=False):
            return self.shift(v)

    class NoTrainingArg(Wrapper):
        def call(self, v):
            return self.shift(v)

    return {
        "layer called alone": _changed(layers.RandomTranslation(0.25, 0.25)(x), x),
        "Sequential called alone": _changed(aug(x), x),
        "Sequential training=None": _changed(aug(x, training=None), x),
        "Sequential training=False": _changed(aug(x, training=False), x),
        "model called alone": _changed(model(x), x),
        "model training=False": _changed(model(x, training=False), x),
        "model predict": _changed(model.predict(x, verbose=0), x),
        "nested Sequential called alone": _changed(seq(x), x),
        "nested Sequential predict": _changed(seq.predict(x, verbose=0), x),
        "nested Sequential predict_on_batch": _changed(seq.predict_on_batch(x), x),
        "Dropout model called alone": _changed(dropout(x), x),
        "Dropout model training=True": _changed(dropout(x, training=True), x),
        "custom call(training=False) alone": _changed(InferByDefault()(x), x),
        "custom call(training=False) training=True": _changed(
            InferByDefault()(x, training=True), x),
        "custom call() alone": _changed(NoTrainingArg()(x), x),
        "custom call() training=False": _changed(NoTrainingArg()(x, training=False), x),
    }


def test_training_none_rule_matches_keras():
    keras = importlib.import_module("keras")
    theirs, ours = _cases(keras), _cases(mc)
    assert ours == theirs
    # and the rule is not vacuous: both kinds of outcome occur
    assert set(theirs.values()) == {True, False}


# -- keras_compat: the preprocessing layers ----------------------------------------------------


def _augmented_model():
    layers = mc.layers
    augment = mc.Sequential([
        layers.RandomFlip("horizontal", seed=1), layers.RandomRotation(0.1, fill_mode="nearest"),
        layers.RandomZoom(0.1, 0.2), layers.RandomTranslation((-0.1, 0.2), 0.1,
                                                              fill_mode="constant"),
        layers.RandomContrast(0.2), layers.RandomBrightness((-0.1, 0.2), value_range=(0, 255)),
        layers.RandomCrop(16, 16, seed=3),
    ], name="augment")
    inputs = mc.Input((16, 16, 3))
    x = augment(inputs)
    x = layers.Resizing(12, 10, interpolation="nearest")(x)
    x = layers.CenterCrop(8, 8)(x)
    x = layers.Rescaling(1 / 255)(x)
    x = layers.Conv2D(2, 3)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return mc.Model(inputs, layers.Dense(1)(x))


def _configs(model) -> list[tuple[str, dict]]:
    """The preprocessing layers' configs, factors written as the ranges they mean (a scalar
    ``f`` is ``(-f, f)``, for RandomContrast ``(f, f)``, a pair itself)."""
    def meaning(kind, key, value):
        if key in ("factor", "height_factor", "width_factor") and isinstance(value, float):
            return (value, value) if kind == "RandomContrast" else (-value, value)
        return tuple(value) if isinstance(value, list) else value

    layers = [*model.get_layer("augment").layers, *model.layers[2:5]]
    return [(type(layer).__name__, {k: meaning(type(layer).__name__, k, v)
                                    for k, v in layer.get_config().items()
                                    if k not in ("name", "trainable")})
            for layer in layers]


def test_preprocessing_layers_save_as_keras_and_convert_back(tmp_path):
    keras = importlib.import_module("keras")
    from minicnn.keras_compat import from_keras, to_keras

    model = _augmented_model()
    model.save(str(tmp_path / "augmented.keras"))  # through to_keras: a real Keras file
    kmodel = keras.models.load_model(str(tmp_path / "augmented.keras"))
    kaug = kmodel.get_layer("augment")
    assert [type(k).__name__ for k in kaug.layers] == [
        "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast",
        "RandomBrightness", "RandomCrop"]
    assert kaug.layers[0].get_config()["seed"] == 1 and kaug.layers[6].seed == 3
    # minicnn's RandomContrast(0.2) is [0.8, 1.2]; Keras 3 reads a scalar f as [1, 1 + f]
    assert tuple(kaug.layers[4].factor) == (0.2, 0.2)
    x = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    expected = model.predict(x, verbose=0)  # inference: the random layers pass through
    np.testing.assert_allclose(kmodel.predict(x, verbose=0), expected, atol=1e-5)

    back = from_keras(kmodel)
    assert _configs(back) == _configs(model)
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, atol=1e-6)
    again = mc.models.load_model(str(tmp_path / "augmented.keras"))
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, atol=1e-6)
    assert type(to_keras(back).get_layer("augment").layers[3]).__name__ == "RandomTranslation"


def test_preprocessing_options_keras_cannot_take_are_refused():
    keras = importlib.import_module("keras")
    from minicnn.keras_compat import KerasCompatError, layer_from_keras, layer_to_keras

    with pytest.raises(KerasCompatError, match="pad_to_aspect_ratio"):
        layer_from_keras(keras.layers.Resizing(4, 4, pad_to_aspect_ratio=True))
    with pytest.raises(KerasCompatError, match="sorts RandomContrast's factor"):
        layer_to_keras(mc.layers.RandomContrast((0.5, 0.1)))
