"""Callbacks against live Keras: ReduceLROnPlateau on scripted metric sequences, CSVLogger files,
the learning rate in History and in the epoch line, LearningRateScheduler's logs."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

import minicnn as mc


def _models(keras, lr=0.1):
    kmodel = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    kmodel.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    model = mc.Sequential([mc.Input((3,)), mc.layers.Dense(1)])
    model.compile(optimizer=mc.optimizers.SGD(lr), loss="mse")
    model.set_weights(kmodel.get_weights())
    return model, kmodel


SEQUENCES = {
    "plateau": [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
    "tiny_gains_below_min_delta": [1.0, 0.99995, 0.9999, 0.99985, 0.9998, 0.5, 0.5, 0.5, 0.5],
    "noisy": [1.0, 0.8, 0.85, 0.82, 0.7, 0.75, 0.71, 0.72, 0.73, 0.69, 0.69, 0.7, 0.7, 0.7],
    "rising_accuracy": [0.5, 0.6, 0.6, 0.55, 0.61, 0.61, 0.61, 0.61, 0.61, 0.61],
}
SETTINGS = {
    "defaults_patience_2": dict(patience=2),
    "cooldown_min_lr": dict(factor=0.5, patience=1, cooldown=2, min_lr=0.02),
    "min_delta": dict(factor=0.2, patience=1, min_delta=0.05),
    "floor_reached": dict(factor=0.1, patience=1, min_lr=0.001),
    "max_mode": dict(factor=0.5, patience=1, mode="max"),
}


@pytest.mark.parametrize("seq", SEQUENCES)
@pytest.mark.parametrize("setting", SETTINGS)
def test_reduce_lr_on_plateau_matches_keras(keras, capsys, seq, setting):
    """Same scripted val_loss sequence to both callbacks: the same rate after every epoch, the
    same logged ``learning_rate`` and the same verbose lines."""
    model, kmodel = _models(keras)
    kwargs = dict(SETTINGS[setting], monitor="val_loss", verbose=1)
    mine = mc.callbacks.ReduceLROnPlateau(**kwargs)
    theirs = keras.callbacks.ReduceLROnPlateau(**kwargs)
    mine.set_model(model)
    theirs.set_model(kmodel)
    mine.on_train_begin()
    theirs.on_train_begin()
    for epoch, value in enumerate(SEQUENCES[seq]):
        logs_m, logs_k = {"val_loss": value}, {"val_loss": value}
        mine.on_epoch_end(epoch, logs_m)
        out_m = capsys.readouterr().out
        theirs.on_epoch_end(epoch, logs_k)
        out_k = capsys.readouterr().out
        assert logs_m == logs_k, f"epoch {epoch}"
        assert out_m == out_k, f"epoch {epoch}"
        assert float(np.float32(model.optimizer.learning_rate)) == \
            float(kmodel.optimizer.learning_rate.numpy()), f"epoch {epoch}"


def test_reduce_lr_on_plateau_reduces(keras):
    """Guard: the scripted sequences do reduce the rate (the comparison above is not vacuous)."""
    model, _ = _models(keras)
    cb = mc.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=2)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch, value in enumerate(SEQUENCES["plateau"]):
        cb.on_epoch_end(epoch, {"val_loss": value})
    # reductions at the ends of epochs 4, 6, 8 and 10
    assert model.optimizer.learning_rate == pytest.approx(0.1 * 0.1 ** 4, rel=1e-6)


def test_reduce_lr_rejects_factor_of_one_as_keras(keras):
    for lib in (keras, mc):
        with pytest.raises(ValueError, match="factor >= 1.0"):
            lib.callbacks.ReduceLROnPlateau(factor=1.0)


def _fit_both(keras, tmp_path, make_callbacks, epochs=3, verbose=0, validation=True):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = rng.normal(size=(20, 1)).astype(np.float32)
    model, kmodel = _models(keras, lr=0.05)
    val = (x[:6], y[:6]) if validation else None
    h_k = kmodel.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, validation_data=val,
                     verbose=verbose, callbacks=make_callbacks(keras, tmp_path / "keras"))
    h_m = model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, validation_data=val,
                    verbose=verbose, callbacks=make_callbacks(mc, tmp_path / "minicnn"))
    return h_m, h_k


def _read(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


@pytest.mark.parametrize("validation", [True, False])
@pytest.mark.parametrize("with_plateau", [False, True])
def test_csv_logger_and_history_match_keras(keras, tmp_path, validation, with_plateau):
    """The CSV files have the same header, rows and values (within float32 noise), and
    History has the same keys, including Keras 3's ``learning_rate``."""
    (tmp_path / "keras").mkdir()
    (tmp_path / "minicnn").mkdir()

    def callbacks(lib, folder):
        cbs = [lib.callbacks.CSVLogger(str(folder / "log.csv"), separator=";")]
        if with_plateau:  # before the logger, so its learning_rate reaches the file
            cbs.insert(0, lib.callbacks.ReduceLROnPlateau(monitor="loss", patience=1,
                                                          min_delta=10.0))
        return cbs

    h_m, h_k = _fit_both(keras, tmp_path, callbacks, validation=validation)
    assert sorted(h_m.history) == sorted(h_k.history)
    assert h_m.epoch == h_k.epoch
    mine, theirs = _read(tmp_path / "minicnn/log.csv"), _read(tmp_path / "keras/log.csv")
    assert [r[0].split(";")[0] for r in mine] == [r[0].split(";")[0] for r in theirs]
    rows_m = [r[0].split(";") for r in mine]
    rows_k = [r[0].split(";") for r in theirs]
    assert rows_m[0] == rows_k[0]
    for rm, rk in zip(rows_m[1:], rows_k[1:]):
        for a, b in zip(rm, rk):
            if b == "NA":
                assert a == "NA"
            else:
                assert float(a) == pytest.approx(float(b), rel=1e-4, abs=1e-6)
    if with_plateau:
        assert h_m.history["learning_rate"] == h_k.history["learning_rate"]
        assert "learning_rate" in rows_m[0]


def test_csv_logger_append_writes_one_header_like_keras(keras, tmp_path):
    (tmp_path / "keras").mkdir()
    (tmp_path / "minicnn").mkdir()

    def callbacks(lib, folder):
        return [lib.callbacks.CSVLogger(str(folder / "log.csv"), append=True)]

    _fit_both(keras, tmp_path, callbacks, epochs=2)
    _fit_both(keras, tmp_path, callbacks, epochs=2)
    mine, theirs = _read(tmp_path / "minicnn/log.csv"), _read(tmp_path / "keras/log.csv")
    assert len(mine) == len(theirs) == 5
    assert mine[0] == theirs[0]
    assert [r[0] for r in mine] == [r[0] for r in theirs]


def _line_shape(text):
    """The printed epoch lines with numbers and times blanked out."""
    text = re.sub(r"\d+(\.\d+)?(e[+-]\d+)?", "#", text)
    text = re.sub(r"#(ms|us|s)\b", "#s", text)  # timings: their units vary with speed
    return [line for line in text.splitlines() if line.strip()]


def test_epoch_line_shows_learning_rate_like_keras(keras, tmp_path, capsys):
    def callbacks(lib, folder):
        return [lib.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=1)]

    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    model, kmodel = _models(keras)
    kmodel.fit(x, y, epochs=2, verbose=2, validation_data=(x, y), callbacks=callbacks(keras, 0))
    out_k = capsys.readouterr().out
    model.fit(x, y, epochs=2, verbose=2, validation_data=(x, y), callbacks=callbacks(mc, 0))
    out_m = capsys.readouterr().out
    assert "learning_rate: " in out_m
    assert _line_shape(out_m) == _line_shape(out_k)


def test_learning_rate_scheduler_logs_rate_like_keras(keras, tmp_path):
    def callbacks(lib, folder):
        return [lib.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.3)]

    h_m, h_k = _fit_both(keras, tmp_path, callbacks)
    assert h_m.history["learning_rate"] == h_k.history["learning_rate"]
    assert sorted(h_m.history) == sorted(h_k.history)


def test_model_checkpoint_names_files_like_keras(keras, tmp_path):
    """``{epoch:02d}`` and ``{val_loss:.2f}`` in the path; save_best_only writes only on
    improvement; the same set of file names (up to the values' float32 noise)."""
    (tmp_path / "keras").mkdir()
    (tmp_path / "minicnn").mkdir()

    def callbacks(lib, folder):
        path = str(folder / "w-{epoch:02d}-{val_loss:.1f}.weights.h5")
        return [lib.callbacks.ModelCheckpoint(path, save_weights_only=True,
                                              save_best_only=True)]

    _fit_both(keras, tmp_path, callbacks, epochs=4)
    mine = sorted(p.name for p in (tmp_path / "minicnn").iterdir())
    theirs = sorted(p.name for p in (tmp_path / "keras").iterdir())
    assert [n[:5] for n in mine] == [n[:5] for n in theirs]
    assert mine


STOP_SETTINGS = {
    "patience_2": dict(patience=2),
    "min_delta_restore": dict(patience=1, min_delta=0.05, restore_best_weights=True),
    "baseline": dict(patience=3, baseline=0.75),
    "start_from_epoch": dict(patience=1, start_from_epoch=3),
}


@pytest.mark.parametrize("seq", SEQUENCES)
@pytest.mark.parametrize("setting", STOP_SETTINGS)
def test_early_stopping_matches_keras(keras, capsys, seq, setting):
    """Same scripted sequence: the same epoch of stopping, best epoch and messages."""
    model, kmodel = _models(keras)
    kwargs = dict(STOP_SETTINGS[setting], monitor="val_loss", verbose=1)
    mine, theirs = mc.callbacks.EarlyStopping(**kwargs), keras.callbacks.EarlyStopping(**kwargs)
    for cb, m in ((mine, model), (theirs, kmodel)):
        cb.set_model(m)
        m.stop_training = False
        cb.on_train_begin()
    stops = {"mine": None, "keras": None}
    for epoch, value in enumerate(SEQUENCES[seq]):
        for key, cb, m in (("mine", mine, model), ("keras", theirs, kmodel)):
            if stops[key] is None:
                cb.on_epoch_end(epoch, {"val_loss": value})
                if m.stop_training:
                    stops[key] = epoch
    mine.on_train_end()
    out_m = capsys.readouterr().out
    theirs.on_train_end()
    out_k = capsys.readouterr().out
    assert stops["mine"] == stops["keras"]
    assert mine.best_epoch == theirs.best_epoch
    assert out_m == out_k
