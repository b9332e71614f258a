import numpy as np
import pytest

import minicnn as mc
from minicnn import callbacks


def tiny_model(lr=0.1):
    mc.set_seed(0)
    model = mc.Sequential([mc.Input((2,)), mc.Dense(1, activation="sigmoid")])
    model.compile(optimizer=mc.optimizers.SGD(lr), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def toy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    return x, y


class Scripted(callbacks.Callback):
    """Overwrites a log value each epoch so EarlyStopping sees a chosen sequence."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def test_early_stopping_stops_and_restores_best_weights():
    model = tiny_model()
    x, y = toy()
    snapshots = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: snapshots.append(
        model.get_weights()))
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    scripted = Scripted("val_loss", [1.0, 0.5, 0.7, 0.6, 0.4, 0.3])
    history = model.fit(x, y, epochs=6, verbose=0, validation_data=(x, y),
                        callbacks=[record, scripted, stop])
    assert history.epoch == [0, 1, 2, 3]  # best at epoch 1, two epochs without improvement
    assert stop.stopped_epoch == 3 and stop.best_epoch == 1
    for got, want in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_mode_auto_min_delta_and_baseline():
    model = tiny_model()
    x, y = toy()
    stop = callbacks.EarlyStopping(monitor="accuracy", patience=1, min_delta=0.1)
    model.fit(x, y, epochs=5, verbose=0,
              callbacks=[Scripted("accuracy", [0.5, 0.55, 0.58, 0.9, 1.0]), stop])
    assert stop._greater is True  # accuracy is maximised
    assert stop.stopped_epoch == 1  # +0.05 is below min_delta
    for baseline, epochs_run in [(None, 3), (0.1, 2)]:
        # Keras: an epoch that improves on the best but not on the baseline keeps counting
        stop = callbacks.EarlyStopping(monitor="loss", patience=2, baseline=baseline)
        history = model.fit(x, y, epochs=5, verbose=0,
                            callbacks=[Scripted("loss", [0.5] * 5), stop])
        assert len(history.epoch) == epochs_run
    with pytest.raises(ValueError, match="mode='max' or mode='min'"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[callbacks.EarlyStopping(monitor="mystery")])


def test_model_checkpoint_save_best_only(tmp_path):
    model = tiny_model()
    x, y = toy()
    path = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.npz")
    ckpt = callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    model.fit(x, y, epochs=4, verbose=0, validation_data=(x, y),
              callbacks=[Scripted("val_loss", [0.9, 0.95, 0.5, 0.7]), ckpt])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01-0.90.npz", "ckpt-03-0.50.npz"]
    restored = mc.load_model(tmp_path / "ckpt-03-0.50.npz")
    assert restored.compiled


def test_model_checkpoint_every_epoch_weights_only(tmp_path, capsys):
    model = tiny_model()
    x, y = toy()
    ckpt = callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch}.weights.npz"),
                                     save_weights_only=True, verbose=1)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-1.weights.npz", "w-2.weights.npz"]
    assert f"Epoch 2: saving model to {tmp_path / 'w-2.weights.npz'}" in capsys.readouterr().out
    model.load_weights(tmp_path / "w-2.weights.npz")
    with pytest.raises(KeyError, match="no key 'nope'"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "{nope}.npz"))])


def test_nan_loss_stops_training_with_epoch_and_batch(capsys):
    model = tiny_model()
    x, y = toy()
    x = x.copy()
    x[20] = np.nan  # batch 2 of epoch 1 with batch_size=8
    before = model.get_weights()
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0, shuffle=False)
    out = capsys.readouterr().out
    assert ("Epoch 1, batch 2: the input x holds 2 NaN values; the step was refused and the "
            "weights left as they were, terminating training.") in out
    assert history.epoch == [0]
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert not all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_terminate_on_nan_callback(capsys):
    model = tiny_model()
    x, y = toy()
    guard = callbacks.TerminateOnNaN()
    model.fit(x, y, epochs=3, verbose=0, callbacks=[Scripted("loss", [1.0] * 3), guard])
    assert not model.stop_training
    guard.set_model(model)
    guard.on_train_batch_end(4, {"loss": float("inf")})
    assert model.stop_training
    assert "Batch 4: Invalid loss, terminating training" in capsys.readouterr().out  # Keras's
    with pytest.raises(RuntimeError, match="batch 4"):
        callbacks.TerminateOnNaN(raise_error=True).on_train_batch_end(4, {"loss": float("nan")})


def test_hooks_order_and_history():
    model = tiny_model()
    x, y = toy()
    seen = []

    class Spy(callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            seen.append(f"epoch_begin {epoch}")

        def on_train_batch_end(self, batch, logs=None):
            seen.append(f"batch {batch} {sorted(logs)}")

        def on_epoch_end(self, epoch, logs=None):
            seen.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            seen.append("train_end")

    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[Spy()],
                        initial_epoch=0, validation_split=0.25)
    # 24 training samples (the last 8 validate) -> 2 batches of 16 and 8
    assert seen[:5] == ["train_begin", "epoch_begin 0", "batch 0 ['accuracy', 'loss']",
                       "batch 1 ['accuracy', 'loss']",
                       "epoch_end 0 ['accuracy', 'loss', 'val_accuracy', 'val_loss']"]
    assert seen[-1] == "train_end"
    # Keras 3 orders its logs (so History) by name
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(v) == 2 for v in history.history.values())
    assert model.history is history
    with pytest.raises(TypeError, match="Callback"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[object()])


def test_learning_rate_scheduler_sets_rate_each_epoch():
    import minicnn as mc

    seen = []
    model = mc.Sequential([mc.Input((3,)), mc.Dense(1)])
    model.compile(mc.optimizers.SGD(learning_rate=0.5), "mse")
    sched = mc.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * (epoch + 1))
    spy = mc.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    x = np.ones((4, 3), np.float32)
    model.fit(x, np.zeros((4, 1), np.float32), epochs=3, verbose=0, callbacks=[sched, spy])
    np.testing.assert_allclose(seen, [0.1, 0.2, 0.3])


def test_learning_rate_scheduler_rejects_bad_schedule():
    import minicnn as mc

    with pytest.raises(TypeError, match="must be callable"):
        mc.callbacks.LearningRateScheduler(0.1)
    model = mc.Sequential([mc.Input((3,)), mc.Dense(1)])
    model.compile("sgd", "mse")
    bad = mc.callbacks.LearningRateScheduler(lambda epoch, lr: float("nan"))
    with pytest.raises(ValueError, match="finite number"):
        model.fit(np.ones((2, 3), np.float32), np.zeros((2, 1), np.float32), epochs=1,
                  verbose=0, callbacks=[bad])
