import json
import os

import numpy as np
import pytest

import minicnn as mc
from minicnn import io as mio


def cnn(filters=4):
    return mc.Sequential([
        mc.Input((6, 6, 1)),
        mc.Conv2D(filters, 3, activation="relu"),
        mc.MaxPooling2D(),
        mc.Flatten(),
        mc.Dropout(0.25),
        mc.Dense(2, activation="softmax"),
    ])


def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(12, 6, 6, 1)).astype(np.float32), rng.integers(0, 2, 12)


def compiled(seed=0):
    mc.set_seed(seed)
    model = cnn()
    model.compile(optimizer=mc.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_model_round_trip_predictions_and_compile_state(tmp_path):
    model = compiled()
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    path = tmp_path / "model.npz"
    model.save(path)
    restored = mc.load_model(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(lay).__name__ for lay in restored.layers] == \
        [type(lay).__name__ for lay in model.layers]
    assert restored.get_config() == model.get_config()
    assert restored.compiled and isinstance(restored.optimizer, mc.optimizers.Adam)
    assert restored.optimizer.learning_rate == 0.01
    assert restored.optimizer.iterations == model.optimizer.iterations == 6
    assert [m.name for m in restored.metrics] == ["loss", "accuracy"]
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


def test_resumed_training_step_equals_uninterrupted(tmp_path):
    x, y = data()
    model = compiled()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "m.npz")
    restored = mc.load_model(tmp_path / "m.npz")
    xb, yb = x[:4], y[:4]
    mc.set_seed(123)  # same dropout mask for both steps
    model.train_on_batch(xb, yb)
    mc.set_seed(123)
    restored.train_on_batch(xb, yb)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_uncompiled_model_loads_uncompiled(tmp_path):
    model = cnn()
    model.save(tmp_path / "plain.npz")
    restored = mc.load_model(tmp_path / "plain.npz")
    assert not restored.compiled
    with pytest.raises(RuntimeError, match=r"compile\(\) before fit\(\)"):
        restored.fit(*data(), verbose=0)


def test_weights_only_round_trip(tmp_path):
    a, b = compiled(0), compiled(1)
    x, _ = data()
    assert not np.array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    a.save_weights(tmp_path / "a.weights.npz")
    b.load_weights(tmp_path / "a.weights.npz")
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    b.load_weights(tmp_path / "a.weights.npz")  # any path, twice is fine
    a.save(tmp_path / "full.npz")
    b.load_weights(tmp_path / "full.npz")  # a model file also holds weights


def test_wrong_shapes_name_layer_weight_and_both_shapes(tmp_path):
    cnn(filters=4).save_weights(tmp_path / "w4.npz")
    other = cnn(filters=8)
    before = other.get_weights()
    with pytest.raises(ValueError) as err:
        other.load_weights(tmp_path / "w4.npz")
    msg = str(err.value)
    conv = other.layers[0].name
    assert f"layer '{conv}' weight 'kernel'" in msg
    assert "(3, 3, 1, 8)" in msg and "(3, 3, 1, 4)" in msg and "w4.npz" in msg
    for got, want in zip(other.get_weights(), before):  # nothing was half-loaded
        np.testing.assert_array_equal(got, want)
    small = mc.Sequential([mc.Input((6, 6, 1)), mc.Flatten(), mc.Dense(2)])
    with pytest.raises(ValueError, match="the file has 5 layers, the model has 2"):
        small.load_weights(tmp_path / "w4.npz")


def test_crash_mid_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    model = compiled()
    path = tmp_path / "model.npz"
    model.save(path)
    original = path.read_bytes()

    def crash(fileobj, arrays):
        fileobj.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(mio, "_write_npz", crash)
    x, y = data()
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.npz"]
    mc.load_model(path)


def test_pickled_object_array_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __meta__=np.array(json.dumps({"format": "minicnn.model"})),
             payload=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="evil.npz.*pickled"):
        mc.load_model(path)


def test_missing_corrupt_and_foreign_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        mc.load_model(tmp_path / "nowhere.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="bad.npz"):
        mc.load_model(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.ones(2))
    with pytest.raises(ValueError, match="foreign.npz.*not a minicnn file"):
        mc.load_model(foreign)
    weights = tmp_path / "only.weights.npz"
    cnn().save_weights(weights)
    with pytest.raises(ValueError, match="expected a minicnn.model file"):
        mc.load_model(weights)


def test_unknown_layer_class_is_not_imported(tmp_path):
    model = cnn()
    config = model.get_config()
    config["layers"][1]["class_name"] = "os.system"
    with pytest.raises(ValueError, match="Unknown layer class.*'os.system'"):
        mc.Sequential.from_config(config)


def test_saved_file_has_ordinary_permissions(tmp_path):
    import os
    import stat

    from minicnn.io import atomic_save_npz

    path = tmp_path / "w.npz"
    atomic_save_npz(path, {"a": np.zeros(2)})
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
