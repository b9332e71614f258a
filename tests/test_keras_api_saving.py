"""The Keras-API additions survive save / load_model: schedules as learning rates, AdamW and the
clip / decay options, loss options, the new metrics and weighted_metrics; and bad arguments
raise errors that name them."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.optimizers import schedules


def _model():
    mc.set_seed(0)
    return mc.Sequential([mc.Input((4,)), mc.layers.Dense(3, activation="relu"),
                          mc.layers.Dense(1)])


@pytest.mark.parametrize("optimizer", [
    lambda: mc.optimizers.Adam(schedules.ExponentialDecay(0.01, 3, 0.5, staircase=True),
                               clipnorm=1.0),
    lambda: mc.optimizers.AdamW(schedules.CosineDecay(0.0, 5, warmup_target=0.01,
                                                      warmup_steps=2), global_clipnorm=2.0),
    lambda: mc.optimizers.SGD(schedules.PiecewiseConstantDecay([2], [0.1, 0.01]),
                              momentum=0.9, weight_decay=0.01, clipvalue=0.5),
    lambda: mc.optimizers.RMSprop(0.01, weight_decay=0.1),
])
def test_optimizer_options_round_trip_and_resume_identically(tmp_path, optimizer):
    x = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    y = np.random.default_rng(1).integers(0, 2, (16, 1)).astype(np.float32)
    model = _model()
    model.compile(optimizer=optimizer(),
                  loss=mc.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
                  metrics=["auc", mc.metrics.Precision(name="p")],
                  weighted_metrics=["accuracy"])
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, sample_weight=np.linspace(0.5, 2, 16))
    model.save(tmp_path / "m.npz")
    restored = mc.load_model(tmp_path / "m.npz")
    assert mc.optimizers.serialize(restored.optimizer) == mc.optimizers.serialize(model.optimizer)
    assert restored.optimizer.iterations == model.optimizer.iterations == 4
    assert restored.loss.label_smoothing == 0.1
    assert [m.name for m in restored.metrics] == [m.name for m in model.metrics]
    assert [getattr(m, "weighted", False) for m in restored.metrics] == \
        [getattr(m, "weighted", False) for m in model.metrics]
    h1 = model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    h2 = restored.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
    assert h1.history == h2.history
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_schedule_is_evaluated_at_the_iteration_count():
    lr = schedules.PiecewiseConstantDecay([1], [0.5, 0.1])
    w = mc.Parameter(np.array([1.0], np.float32))
    opt = mc.optimizers.SGD(lr)
    moves = []
    for _ in range(3):
        before = float(w.data[0])
        opt.apply_gradients([(np.array([1.0], np.float32), w)])
        moves.append(round(before - float(w.data[0]), 6))
    assert moves == [0.5, 0.5, 0.1]  # steps 0 and 1 at 0.5 (step <= boundary), then 0.1
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.3


@pytest.mark.parametrize("make,match", [
    (lambda: mc.optimizers.Adam(use_ema=True), "use_ema"),
    (lambda: mc.optimizers.SGD(foo=1), "foo"),
    (lambda: mc.optimizers.AdamW(weight_decay=None), "weight_decay"),
    (lambda: mc.optimizers.SGD(clipnorm=-1.0), "clipnorm"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1]), "boundaries"),
    (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
    (lambda: mc.losses.BinaryCrossentropy(label_smoothing=2.0), "label_smoothing"),
    (lambda: mc.losses.CategoricalCrossentropy(axis=1), "axis"),
    (lambda: mc.losses.SparseCategoricalCrossentropy(ignore_class=0), "ignore_class"),
    (lambda: mc.metrics.AUC(num_thresholds=1), "num_thresholds"),
    (lambda: mc.metrics.AUC(curve="PRGAIN"), "PRGAIN"),
    (lambda: mc.metrics.AUC(multi_label=True), "multi_label"),
    (lambda: mc.metrics.Precision(thresholds=[0.3, 0.5]), "thresholds"),
    (lambda: mc.metrics.TopKCategoricalAccuracy(k=0), "k"),
    (lambda: mc.callbacks.ReduceLROnPlateau(factor=1.5), "factor"),
    (lambda: mc.callbacks.ModelCheckpoint("m.npz", save_freq=10), "save_freq"),
    (lambda: mc.utils.to_categorical([0, 3], num_classes=2), "labels"),
])
def test_bad_arguments_name_themselves(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sample_weight_length_is_checked():
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit(np.zeros((4, 4)), np.zeros(4), sample_weight=np.ones(3), verbose=0)


def test_sample_weight_scales_the_loss_like_keras_definition():
    """sum_over_batch_size divides the weighted sum by the number of samples, not the weights."""
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 4), np.float32), np.zeros((4, 1), np.float32)
    plain = model.evaluate(x, y, verbose=0)
    weighted = model.evaluate(x, y, sample_weight=np.array([2.0, 0, 0, 0]), verbose=0)
    assert weighted == pytest.approx(plain * 2 / 4, rel=1e-6)


def test_csv_logger_learning_rate_column(tmp_path):
    model = _model()
    model.compile(optimizer=mc.optimizers.SGD(0.1), loss="mse")
    path = tmp_path / "log.csv"
    model.fit(np.ones((8, 4)), np.zeros(8), epochs=3, verbose=0, callbacks=[
        mc.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10),
        mc.callbacks.CSVLogger(path)])
    rows = path.read_text().splitlines()
    assert rows[0] == "epoch,learning_rate,loss,val_learning_rate,val_loss"
    rates = [float(r.split(",")[1]) for r in rows[1:]]
    # logged before that epoch's reduction, as Keras: epoch 0 sets the best, then halvings
    assert rates == pytest.approx([0.1, 0.1, 0.05])


def test_legacy_on_batch_end_hook_runs_in_fit_as_keras():
    seen = []

    class Legacy(mc.callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((8, 4)), np.zeros(8), batch_size=4, epochs=2, verbose=0,
              callbacks=[Legacy()])
    assert seen == [0, 1, 0, 1]
