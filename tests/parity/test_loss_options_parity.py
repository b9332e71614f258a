"""Loss options against live Keras: label_smoothing, sample_weight with every reduction, the
function forms; values and gradients with respect to y_pred, and 10 training steps."""

from __future__ import annotations

import numpy as np
import pytest
from parity_tools import rel_err
from test_training_parity import STEP_TOL, _all, _batches, _tiny_keras

import minicnn as mc
from minicnn.keras_compat import from_keras
from minicnn.tensor import Tensor

TOL = 1e-6


def _case(name, rng, n=6, k=4):
    """(class name, y_true, y_pred) for a loss; probabilities away from the 1e-7 clip."""
    if name == "BinaryCrossentropy":
        return rng.integers(0, 2, (n, 3)).astype(np.float32), \
            rng.uniform(0.05, 0.95, (n, 3)).astype(np.float32)
    if name == "CategoricalCrossentropy":
        p = rng.uniform(0.1, 1.0, (n, k)).astype(np.float32)
        return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)], p / p.sum(-1, keepdims=True)
    if name == "SparseCategoricalCrossentropy":
        p = rng.uniform(0.1, 1.0, (n, k)).astype(np.float32)
        return rng.integers(0, k, n), p / p.sum(-1, keepdims=True)
    return rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32)


def _both(tf, keras, cls, kwargs, y, p, sample_weight):
    loss_m = getattr(mc.losses, cls)(**kwargs)
    t = Tensor(p.copy(), requires_grad=True)
    out = loss_m(y, t, sample_weight=sample_weight)
    out.sum().backward() if out.ndim else out.backward()
    loss_k = getattr(keras.losses, cls)(**kwargs)
    v = tf.Variable(p)
    with tf.GradientTape() as tape:
        ref = loss_k(y, v, sample_weight=sample_weight)
        total = tf.reduce_sum(ref)
    return out.data, t.grad, ref.numpy(), tape.gradient(total, v).numpy()


LOGIT_LOSSES = ["BinaryCrossentropy", "CategoricalCrossentropy"]


@pytest.mark.parametrize("cls", LOGIT_LOSSES)
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.1, 0.35])
def test_label_smoothing_matches_keras(tf, keras, record, cls, from_logits, smoothing):
    rng = np.random.default_rng(3)
    y, p = _case(cls, rng)
    if from_logits:
        p = rng.normal(size=p.shape).astype(np.float32) * 2
    kwargs = dict(from_logits=from_logits, label_smoothing=smoothing)
    value, grad, ref, ref_grad = _both(tf, keras, cls, kwargs, y, p, None)
    assert record(f"loss.{cls}.label_smoothing", rel_err(value, ref)) <= TOL
    assert record(f"loss.{cls}.label_smoothing.grad", rel_err(grad, ref_grad)) <= TOL
    plain = getattr(mc.losses, cls)(from_logits=from_logits)(y, p).data
    assert abs(float(plain) - float(value)) > 1e-3  # the option really changes the loss


ALL = ["BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
       "MeanSquaredError"]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none", "mean",
                                       "mean_with_sample_weight"])
@pytest.mark.parametrize("weight_shape", ["(N,)", "(N, 1)"])
def test_sample_weight_matches_keras(tf, keras, record, cls, reduction, weight_shape):
    rng = np.random.default_rng(5)
    y, p = _case(cls, rng)
    w = rng.uniform(0, 3, len(p)).astype(np.float32)
    w[1] = 0.0
    if weight_shape == "(N, 1)":
        w = w[:, None]
    value, grad, ref, ref_grad = _both(tf, keras, cls, dict(reduction=reduction), y, p, w)
    assert record(f"loss.{cls}.sample_weight", rel_err(value, ref)) <= TOL
    assert record(f"loss.{cls}.sample_weight.grad", rel_err(grad, ref_grad)) <= TOL


@pytest.mark.parametrize("fn,kwargs", [
    ("binary_crossentropy", dict(label_smoothing=0.2)),
    ("binary_crossentropy", dict(from_logits=True, label_smoothing=0.2)),
    ("categorical_crossentropy", dict(label_smoothing=0.2)),
    ("categorical_crossentropy", dict(from_logits=True)),
    ("sparse_categorical_crossentropy", dict(from_logits=True)),
    ("mean_squared_error", {}),
])
def test_function_forms_match_keras(keras, record, fn, kwargs):
    cls = {"binary_crossentropy": "BinaryCrossentropy",
           "categorical_crossentropy": "CategoricalCrossentropy",
           "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
           "mean_squared_error": "MeanSquaredError"}[fn]
    y, p = _case(cls, np.random.default_rng(7))
    if kwargs.get("from_logits"):
        p = np.log(p)
    mine = getattr(mc.losses, fn)(y, p, **kwargs).data
    theirs = np.asarray(getattr(keras.losses, fn)(y, p, **kwargs))
    assert record(f"loss.function.{fn}", rel_err(mine, theirs)) <= TOL


def test_label_smoothing_training_steps_match_keras(keras, record):
    kmodel = _tiny_keras(keras)
    model = from_keras(kmodel)
    kmodel.compile(optimizer=keras.optimizers.SGD(0.5),
                   loss=keras.losses.BinaryCrossentropy(label_smoothing=0.2))
    model.compile(optimizer=mc.optimizers.SGD(0.5),
                  loss=mc.losses.BinaryCrossentropy(label_smoothing=0.2))
    for step, (x, y) in enumerate(_batches(10, 16, (6,))):
        loss_k = float(kmodel.train_on_batch(x, y))
        loss_m = float(model.train_on_batch(x, y))
        assert record("loss.label_smoothing.train", rel_err(loss_m, loss_k)) <= STEP_TOL, step
        err = rel_err(_all(model.get_weights()), _all(kmodel.get_weights()))
        assert record("loss.label_smoothing.train.weights", err) <= STEP_TOL, step
