"""Bad input, one table (issue 13, items 4 and 5): each row is an input and the exact error or
behaviour it must give. Library rows run in-process; command-line rows run the tools in
subprocesses and require one line on stderr, the exit status, and never a traceback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import minicnn as mc
from minicnn.data import image_dataset_from_directory

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "examples" / "data" / "catdog_small" / "training_set"


def model_8x8():
    model = mc.Sequential([mc.Input((8, 8, 1)), mc.Flatten(), mc.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


X8 = np.zeros((8, 8, 8, 1), np.float32)
Y8 = np.zeros(8, np.float32)


def saved(tmp: Path, name: str, mutate=None) -> Path:
    """A model file written by minicnn, optionally with its arrays changed."""
    model = mc.Sequential([mc.Input((3,)), mc.Dense(2, name="hidden"), mc.Dense(1, name="out")])
    path = tmp / name
    model.save(path)
    if mutate is not None:
        arrays, meta = mc.io.load_arrays(path)
        mutate(arrays)
        mc.io.save_arrays(path, arrays, meta)
    return path


def random_bytes(tmp: Path) -> Path:
    path = tmp / "noise.npz"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def fake_keras_file(tmp: Path, name: str = "download.npz") -> Path:
    """The layout of a Keras 3 ``.keras`` file (a zip with config.json and model.weights.h5),
    under a name that is not Keras's (a ``.keras`` name is read by Keras itself)."""
    path = tmp / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", '{"keras_version": "3.0.0"}')
        z.writestr("config.json", '{"class_name": "Sequential"}')
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(64))
    return path


def fake_h5_file(tmp: Path) -> Path:
    path = tmp / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(512))
    return path


def nan_weight(arrays):
    arrays["weights/1/0"][0, 0] = np.nan  # layer 'out', weight 'kernel'


# (id, action taking tmp_path, exception type, message pattern matched with re.search)
LIBRARY = [
    ("fit string y", lambda t: model_8x8().fit(X8, np.array(["cat", "dog"] * 4), verbose=0),
     ValueError, r"^fit: `y` must hold numbers: class indices, or 0/1 for binary_crossentropy\. "
                 r"Received: y of dtype <U3, e\.g\. 'cat'\. Map the class names to integers "),
    ("fit list x without y", lambda t: model_8x8().fit(X8.tolist(), verbose=0),
     ValueError, r"^fit: `x` is a Python list and `y` was not given, so each of its items must "
                 r"be a batch `x` or a tuple `\(x, y\)`\. Received: an item that is a list of 8 "
                 r"elements\. To pass samples, pass arrays: fit\(np\.asarray\(x\), y\)\.$"),
    ("fit zero samples", lambda t: model_8x8().fit(X8[:0], Y8[:0], verbose=0),
     ValueError, r"^fit: `x` holds no samples\. Received: x\.shape=\(0, 8, 8, 1\)$"),
    ("fit 9x9 into an 8x8 model",
     lambda t: model_8x8().fit(np.zeros((8, 9, 9, 1)), Y8, verbose=0),
     ValueError, r"^fit: the model expects inputs of shape \(None, 8, 8, 1\)\. "
                 r"Received: x with shape \(8, 9, 9, 1\)\.$"),
    ("fit 9x9 validation data",
     lambda t: model_8x8().fit(X8, Y8, validation_data=(np.zeros((2, 9, 9, 1)), Y8[:2]),
                               verbose=0),
     ValueError, r"^fit: the model expects inputs of shape \(None, 8, 8, 1\)\. "
                 r"Received: x with shape \(2, 9, 9, 1\)\.$"),
    ("evaluate 9x9", lambda t: model_8x8().evaluate(np.zeros((8, 9, 9, 1)), Y8, verbose=0),
     ValueError, r"^evaluate: the model expects inputs of shape \(None, 8, 8, 1\)"),
    ("predict 9x9", lambda t: model_8x8().predict(np.zeros((8, 9, 9, 1)), verbose=0),
     ValueError, r"^predict: the model expects inputs of shape \(None, 8, 8, 1\)"),
    ("load_model random bytes", lambda t: mc.load_model(random_bytes(t)),
     ValueError, r"noise\.npz': it is not a minicnn model file \(a \.npz zip archive starts "
                 r"with 'PK'; this file starts with b'"),
    ("load_model Keras file as .npz", lambda t: mc.load_model(fake_keras_file(t)),
     ValueError, r"download\.npz': it is a Keras \.keras file, not a minicnn model file\. Load it "
                 r"with minicnn\.keras_compat\.from_keras\(path\)\.$"),
    ("load_model Keras .h5", lambda t: mc.load_model(fake_h5_file(t)),
     ValueError, r"model\.h5': it is an HDF5 file \(a Keras \.h5 model or weights file\?\), not "
                 r"a minicnn model file\. Load a Keras model with "
                 r"minicnn\.keras_compat\.from_keras\(path\)\.$"),
    ("load_model NaN weight", lambda t: mc.load_model(saved(t, "nan.npz", nan_weight)),
     ValueError, r"nan\.npz': layer 'out' weight 'kernel' holds 1 NaN and 0 infinite values "
                 r"\(of 2\); .* pass allow_non_finite=True\.$"),
    ("load_weights NaN weight",
     lambda t: mc.Sequential([mc.Input((3,)), mc.Dense(2), mc.Dense(1)]).load_weights(
         saved(t, "nan.npz", nan_weight)),
     ValueError, r"layer 'dense_1' weight 'kernel' holds 1 NaN"),
    ("save m.h5", lambda t: model_8x8().save(t / "m.h5"),
     ValueError, r"^save: the filename must end in `\.npz`.*Received: filepath='.*m\.h5'\. "
                 r"Keras 3 itself writes `\.keras` models and `\.weights\.h5` weights"),
    ("save m", lambda t: model_8x8().save(t / "m"),
     ValueError, r"^save: the filename must end in `\.npz` \(minicnn's format; by convention "
                 r"`model\.npz`\), or be a Keras name \(`\.keras`, `\.weights\.h5`\)\. "
                 r"Received: filepath='.*m'\.$"),
    ("save_weights w.h5", lambda t: model_8x8().save_weights(t / "w.h5"),
     ValueError, r"^save_weights: the filename must end in `\.npz` \(minicnn's format; by "
                 r"convention `name\.weights\.npz`\), or be a Keras name"),
]


@pytest.mark.parametrize("action, error, pattern", [row[1:] for row in LIBRARY],
                         ids=[row[0] for row in LIBRARY])
def test_library_bad_input(tmp_path, action, error, pattern):
    with pytest.raises(error) as info:
        action(tmp_path)
    message = str(info.value)
    assert re.search(pattern, message), message
    assert "pickle" not in message and "\n" not in message


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_random_bytes_never_suggest_unsafe_loading(tmp_path):
    with pytest.raises(ValueError) as info:
        mc.load_model(random_bytes(tmp_path))
    assert "allow_pickle" not in str(info.value)


def test_non_finite_weights_load_when_allowed(tmp_path):
    path = saved(tmp_path, "nan.npz", nan_weight)
    model = mc.load_model(path, allow_non_finite=True)
    assert np.isnan(model.get_weights()[2][0, 0])
    other = mc.Sequential([mc.Input((3,)), mc.Dense(2), mc.Dense(1)])
    other.load_weights(path, allow_non_finite=True)
    assert np.isnan(other.get_weights()[2][0, 0])


def test_a_real_npz_with_pickled_objects_is_still_reported_as_pickled(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="objects.npz.*pickled objects, which minicnn never"):
        mc.load_model(path)


def test_save_npz_and_weights_npz_still_work(tmp_path):
    model = model_8x8()
    model.save(tmp_path / "m.npz")
    model.save_weights(tmp_path / "m.weights.npz")
    model.save(tmp_path / "M.NPZ")
    assert mc.load_model(tmp_path / "m.npz").input_shape == (None, 8, 8, 1)


def test_found_line_says_how_many_files_were_skipped(tmp_path, capsys):
    for cls in ("cats", "dogs"):
        (tmp_path / cls).mkdir()
        for src in sorted((SMALL / cls).glob("*.jpg"))[:4]:
            shutil.copy(src, tmp_path / cls / src.name)
    (tmp_path / "cats" / "broken.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "dogs" / "empty.png").write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, val = image_dataset_from_directory(
            tmp_path, image_size=(16, 16), validation_split=0.3, subset="both", seed=1,
            cache="memory")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Found 10 files belonging to 2 classes; skipped 2 unreadable."
    assert lines[1:] == [f"Using {train.num_samples} files for training.",
                         f"Using {val.num_samples} files for validation."]
    assert train.num_samples + val.num_samples == 8


# ----------------------------------------------------------------------- command-line tools


def tool(*argv, env=None):
    """Run a tool with this checkout's minicnn; returns (status, stdout, stderr)."""
    environ = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]), **(env or {}))
    out = subprocess.run([sys.executable, *map(str, argv)], capture_output=True, text=True,
                         timeout=300, env=environ, cwd=REPO)
    return out.returncode, out.stdout, out.stderr


CATDOG = REPO / "examples" / "catdog.py"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad-input")
    for name, classes in (("one", ("cats",)), ("empty", ("cats", "dogs"))):
        for cls in classes:
            (root / name / cls).mkdir(parents=True)
        for src in sorted((SMALL / "cats").glob("*.jpg"))[:4]:
            shutil.copy(src, root / name / "cats" / src.name)
    (root / "bad.jpg").write_bytes(b"not a jpeg")
    Image.new("RGB", (64, 64), (90, 120, 30)).save(root / "ok.png")
    (root / "used").mkdir()
    (root / "used" / "model.npz").write_bytes(b"")
    model = mc.Sequential([mc.Input((32, 32, 3)), mc.Conv2D(2, 3), mc.Flatten(), mc.Dense(1)])
    model.save(root / "small.npz")
    return root


BLOCK_REQUESTS = (
    "import sys, runpy\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] == 'requests':\n"
    "            raise ImportError(f'No module named {name!r}')\n"
    "sys.meta_path.insert(0, Block())\n"
    "sys.argv = ['facepp', 'detect', sys.argv[1]]\n"
    "runpy.run_module('minicnn.integrations.facepp', run_name='__main__')\n"
)

# (id, argv given the folders fixture, exit status, the one stderr line, as a regex)
CLI = [
    ("catdog empty class folder",
     lambda r: [CATDOG, "train", "--data", r / "empty", "--validation-split", "0.25",
                "--out", r / "run-empty"],
     1, r"^catdog\.py: error: Class folder '.*dogs' contains no images \(allowed formats: .*\)\.$"),
    ("catdog one class with --validation-split",
     lambda r: [CATDOG, "train", "--data", r / "one", "--validation-split", "0.25",
                "--out", r / "run-one"],
     1, r"^catdog\.py: error: When passing `label_mode=\"binary\"`, there must be exactly 2 "
        r"class_names\. Received: class_names=\['cats'\]$"),
    ("catdog --out holding a run",
     lambda r: [CATDOG, "train", "--data", r / "one", "--out", r / "used"],
     2, r"^catdog\.py: error: --out: .*used already holds a run \(model\.npz\); pass --overwrite "
        r"to replace it, or choose another folder$"),
    ("catdog features on a bad image",
     lambda r: [CATDOG, "features", "--model", r / "small.npz", r / "bad.jpg", "--out",
                r / "maps.png"],
     1, r"^catdog\.py: error: cannot identify image file '.*bad\.jpg'$"),
    ("catdog features --out in a missing folder",
     lambda r: [CATDOG, "features", "--model", r / "small.npz", r / "ok.png", "--out",
                r / "nowhere" / "maps.png"],
     2, r"^catdog\.py: error: --out: no such folder: .*nowhere$"),
    ("catdog features --out not an image name",
     lambda r: [CATDOG, "features", "--model", r / "small.npz", r / "ok.png", "--out",
                r / "maps.xyz"],
     2, r"^catdog\.py: error: --out: maps\.xyz is not an image file name \(use \.png\)$"),
    ("catdog predict with a Keras file",
     lambda r: [CATDOG, "predict", "--model", fake_h5_file(r), r / "ok.png"],
     1, r"^catdog\.py: error: Cannot load '.*model\.h5': it is an HDF5 file .* "
        r"minicnn\.keras_compat\.from_keras\(path\)\.$"),
    ("facepp without requests",
     lambda r: ["-c", BLOCK_REQUESTS, r / "ok.png"],
     1, r"^error: the Face\+\+ client needs 'requests': pip install 'minicnn\[facepp\]'$"),
]


@pytest.mark.parametrize("argv, status, line", [row[1:] for row in CLI],
                         ids=[row[0] for row in CLI])
def test_command_line_bad_input(folders, argv, status, line):
    code, out, err = tool(*argv(folders), env={"FACEPP_API_KEY": "k",
                                                "FACEPP_API_SECRET": "s"})
    assert "Traceback" not in err and "Traceback" not in out, err
    assert code == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and re.search(line, lines[0]), err


def test_a_model_of_convolutions_alone_still_runs_on_other_image_sizes():
    model = mc.Sequential([mc.Input((8, 8, 1)), mc.Conv2D(2, 3, padding="same")])
    assert model.predict(np.zeros((1, 9, 9, 1)), verbose=0).shape == (1, 9, 9, 2)
    with pytest.raises(ValueError, match=r"^predict: the model expects inputs of shape "
                                         r"\(None, 8, 8, 1\)\. Received: x with shape "
                                         r"\(1, 8, 8, 2\)\.$"):
        model.predict(np.zeros((1, 8, 8, 2)), verbose=0)


def test_keras_names_write_real_keras_files(tmp_path):
    """``.keras`` and ``.weights.h5`` (a Keras script's names) are written as real Keras files
    through keras_compat, read back by minicnn and by Keras itself; nothing else is left."""
    import keras  # the test extra installs it; the names need TensorFlow (next test: without)

    model = model_8x8()
    x = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "w.weights.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "w.weights.h5"]
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(mc.load_model(tmp_path / "m.keras").predict(x, verbose=0),
                               expected, rtol=1e-6)
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "m.keras").predict(x, verbose=0),
                               expected, rtol=1e-5, atol=1e-6)
    other = model_8x8()
    other.load_weights(tmp_path / "w.weights.h5")
    np.testing.assert_allclose(other.predict(x, verbose=0), expected, rtol=1e-6)


@pytest.mark.parametrize("action", ["save", "save_weights", "load_model"])
def test_keras_names_without_tensorflow_say_how(tmp_path, monkeypatch, action):
    from minicnn import keras_compat

    def no_keras():
        raise ImportError("no TensorFlow here")

    monkeypatch.setattr(keras_compat, "_import_keras", no_keras)
    model = model_8x8()
    with pytest.raises(ValueError) as info:
        if action == "save":
            model.save(tmp_path / "m.keras")
        elif action == "save_weights":
            model.save_weights(tmp_path / "w.weights.h5")
        else:
            mc.load_model(fake_keras_file(tmp_path, "m.keras"))
    assert re.search(r"is a Keras file name, and writing or reading a real Keras file needs "
                     r"TensorFlow \(pip install tensorflow-cpu\)\. Without it, use minicnn's own "
                     r"format: a name ending in `\.npz`", str(info.value)), str(info.value)
    assert list(tmp_path.iterdir()) in ([], [tmp_path / "m.keras"])
