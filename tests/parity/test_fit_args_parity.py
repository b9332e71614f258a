"""fit/evaluate arguments against live Keras: class_weight, sample_weight (arrays and a third
batch element), validation_data with weights, validation_split with weights, weighted_metrics,
steps_per_epoch / initial_epoch / validation_freq, evaluate(sample_weight, return_dict), and
compile's backend-only arguments."""

from __future__ import annotations

import numpy as np
import pytest
from parity_tools import rel_err
from test_training_parity import STEP_TOL, _all, _tiny_keras

import minicnn as mc
from minicnn.keras_compat import from_keras


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    y = (rng.random((n, 1)) < 0.3).astype(np.float32)  # unbalanced, as class_weight is for
    w = rng.uniform(0, 2, n).astype(np.float32)
    return x, y, w


def _pair(keras, **compile_kwargs):
    kmodel = _tiny_keras(keras)
    model = from_keras(kmodel)
    kw = dict(dict(loss="binary_crossentropy", metrics=["accuracy"]), **compile_kwargs)
    kmodel.compile(optimizer=keras.optimizers.SGD(0.3), **kw)
    model.compile(optimizer=mc.optimizers.SGD(0.3), **kw)
    return model, kmodel


def _compare_histories(record, check, h_m, h_k):
    assert sorted(h_m.history) == sorted(h_k.history)
    assert h_m.epoch == h_k.epoch
    for key in h_k.history:
        err = record(f"fit.{check}.{key}", rel_err(h_m.history[key], h_k.history[key]))
        assert err <= STEP_TOL, f"{key}: {h_m.history[key]} vs Keras {h_k.history[key]}"


FIT_CASES = {
    "class_weight": dict(class_weight={0: 0.5, 1: 2.5}),
    "class_weight_partial": dict(class_weight={1: 4.0}),
    "sample_weight": dict(sample_weight="w"),
    "validation_data_weighted": dict(sample_weight="w", validation_data="xyw"),
    "validation_split_weighted": dict(sample_weight="w", validation_split=0.25),
    "steps_initial_epoch_freq": dict(steps_per_epoch=2, initial_epoch=1, validation_data="xy",
                                     validation_freq=2, epochs=5),
    "validation_steps_batch_size": dict(validation_data="xy", validation_steps=2,
                                        validation_batch_size=5),
}


@pytest.mark.parametrize("name", FIT_CASES)
def test_fit_arguments_match_keras(keras, record, name):
    x, y, w = _data()
    vx, vy, vw = _data(12, seed=1)
    args = dict(FIT_CASES[name])
    if args.get("sample_weight") == "w":
        args["sample_weight"] = w
    if args.get("validation_data") == "xyw":
        args["validation_data"] = (vx, vy, vw)
    elif args.get("validation_data") == "xy":
        args["validation_data"] = (vx, vy)
    args.setdefault("epochs", 3)
    model, kmodel = _pair(keras, weighted_metrics=["accuracy"])
    h_k = kmodel.fit(x, y, batch_size=8, shuffle=False, verbose=0, **args)
    h_m = model.fit(x, y, batch_size=8, shuffle=False, verbose=0, **args)
    _compare_histories(record, name, h_m, h_k)
    assert rel_err(_all(model.get_weights()), _all(kmodel.get_weights())) <= STEP_TOL


def test_weights_really_change_training(keras):
    """Guard: with the weights the run differs from the unweighted one."""
    x, y, w = _data()
    a, _ = _pair(keras)
    b, _ = _pair(keras)
    ha = a.fit(x, y, batch_size=8, shuffle=False, verbose=0, class_weight={0: 0.5, 1: 2.5})
    hb = b.fit(x, y, batch_size=8, shuffle=False, verbose=0)
    assert abs(ha.history["loss"][0] - hb.history["loss"][0]) > 1e-3


def test_dataset_batches_with_sample_weights_match_keras(keras, record):
    """A dataset yielding (x, y, sample_weight): a Python list here, tf.data for Keras."""
    import tensorflow as tf

    x, y, w = _data()
    batches = [(x[i:i + 8], y[i:i + 8], w[i:i + 8]) for i in range(0, 40, 8)]
    model, kmodel = _pair(keras, weighted_metrics=["accuracy"])
    h_k = kmodel.fit(tf.data.Dataset.from_tensor_slices((x, y, w)).batch(8), epochs=2,
                     verbose=0)
    h_m = model.fit(batches, epochs=2, verbose=0)
    _compare_histories(record, "dataset_weights", h_m, h_k)


def test_evaluate_sample_weight_and_return_dict_match_keras(keras, record):
    x, y, w = _data()
    model, kmodel = _pair(keras, weighted_metrics=["accuracy"], metrics=["auc"])
    got = model.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0, return_dict=True)
    want = kmodel.evaluate(x, y, sample_weight=w, batch_size=8, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    for key in want:
        assert record(f"evaluate.{key}", rel_err(got[key], float(want[key]))) <= STEP_TOL, key
    as_list_m = model.evaluate(x, y, batch_size=8, verbose=0)
    as_list_k = kmodel.evaluate(x, y, batch_size=8, verbose=0)
    assert len(as_list_m) == len(as_list_k)


def test_weighted_metric_names_match_keras(keras):
    x, y, w = _data()
    model, kmodel = _pair(keras, metrics=["accuracy", "auc"],
                          weighted_metrics=["accuracy", "precision"])
    k_keys = sorted(kmodel.fit(x, y, sample_weight=w, epochs=1, verbose=0).history)
    m_keys = sorted(model.fit(x, y, sample_weight=w, epochs=1, verbose=0).history)
    assert m_keys == k_keys


def test_train_on_batch_with_weights_matches_keras(keras, record):
    x, y, w = _data(16)
    model, kmodel = _pair(keras)
    for kwargs in (dict(sample_weight=w), dict(class_weight={0: 1.0, 1: 3.0})):
        loss_k = kmodel.train_on_batch(x, y, **kwargs)
        loss_m = model.train_on_batch(x, y, **kwargs)
        assert record("train_on_batch.weights", rel_err(loss_m, loss_k)) <= STEP_TOL


def test_class_weight_and_sample_weight_together_raise_like_keras(keras):
    x, y, w = _data()
    model, kmodel = _pair(keras)
    for m in (kmodel, model):
        with pytest.raises(ValueError, match="class_weight"):
            m.fit(x, y, sample_weight=w, class_weight={0: 1.0}, verbose=0)


def test_backend_only_compile_arguments_are_accepted(keras):
    model = mc.Sequential([mc.Input((6,)), mc.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", jit_compile=True,
                  steps_per_execution=4, run_eagerly=True, auto_scale_loss=False)
    with pytest.raises(ValueError, match="loss_weights"):
        model.compile(optimizer="adam", loss="binary_crossentropy", loss_weights=[2.0])
    with pytest.raises(TypeError):
        model.compile(optimizer="adam", loss="binary_crossentropy", distribute=True)
    with pytest.raises(TypeError):
        model.fit(np.zeros((4, 6)), np.zeros(4), workers=4, verbose=0)
