"""Keras 3's optimizer options against live Keras, step for step: weight decay, AdamW, the three
clipping arguments, and learning-rate schedules (their values, and as an optimizer's rate)."""

from __future__ import annotations

import pytest
from parity_tools import rel_err
from test_training_parity import STEP_TOL, _all, _batches, _tiny_keras

import minicnn as mc
from minicnn.keras_compat import from_keras

# Clip thresholds below the tiny problem's gradient norms (~0.1-1), so the clips are active.
OPTIONS = {
    "sgd_weight_decay": ("SGD", dict(learning_rate=0.1, momentum=0.9, weight_decay=0.05)),
    "adam_weight_decay": ("Adam", dict(learning_rate=0.01, weight_decay=0.1)),
    "adamw_default": ("AdamW", dict(learning_rate=0.01)),
    "adamw_amsgrad": ("AdamW", dict(learning_rate=0.01, weight_decay=0.2, amsgrad=True)),
    "rmsprop_weight_decay": ("RMSprop", dict(learning_rate=0.01, weight_decay=0.1)),
    "sgd_clipnorm": ("SGD", dict(learning_rate=0.5, clipnorm=0.05)),
    "adam_clipnorm": ("Adam", dict(learning_rate=0.01, clipnorm=0.05)),
    "sgd_clipvalue": ("SGD", dict(learning_rate=0.5, clipvalue=0.02)),
    "rmsprop_clipvalue": ("RMSprop", dict(learning_rate=0.01, clipvalue=0.02)),
    "sgd_global_clipnorm": ("SGD", dict(learning_rate=0.5, global_clipnorm=0.05)),
    "adamw_global_clipnorm": ("AdamW", dict(learning_rate=0.01, global_clipnorm=0.05)),
}

SCHEDULES = {
    "exponential": ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3,
                                              decay_rate=0.5)),
    "exponential_staircase": ("ExponentialDecay", dict(initial_learning_rate=0.1,
                                                        decay_steps=3, decay_rate=0.5,
                                                        staircase=True)),
    "piecewise": ("PiecewiseConstantDecay", dict(boundaries=[2, 5], values=[0.1, 0.05, 0.01])),
    "cosine": ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=6, alpha=0.1)),
    "cosine_warmup": ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=5,
                                          warmup_target=0.1, warmup_steps=3)),
}


def _train_both(keras, record, check, mine, theirs, steps=10):
    kmodel = _tiny_keras(keras)
    model = from_keras(kmodel)
    kmodel.compile(optimizer=theirs, loss="binary_crossentropy")
    model.compile(optimizer=mine, loss="binary_crossentropy")
    for step, (x, y) in enumerate(_batches(steps, 16, (6,))):
        loss_k = float(kmodel.train_on_batch(x, y))
        loss_m = float(model.train_on_batch(x, y))
        err = record(f"{check}.loss", rel_err(loss_m, loss_k))
        assert err <= STEP_TOL, f"step {step}: loss {loss_m} vs Keras {loss_k}"
        err = record(f"{check}.weights",
                     rel_err(_all(model.get_weights()), _all(kmodel.get_weights())))
        assert err <= STEP_TOL, f"step {step}: weights differ by {err:.3g}"
    return model, kmodel


@pytest.mark.parametrize("name", OPTIONS)
def test_optimizer_options_match_keras(keras, record, name):
    """10 train_on_batch steps with the same init and batches: loss and weights within 1e-5."""
    cls, kwargs = OPTIONS[name]
    _train_both(keras, record, f"optimizer.{name}", getattr(mc.optimizers, cls)(**kwargs),
                getattr(keras.optimizers, cls)(**kwargs))


def test_weight_decay_moves_weights_differently(keras):
    """The decay is really applied: without it the weights end elsewhere (guards the test)."""
    a, _ = _train_both(keras, lambda c, e: e, "x", mc.optimizers.AdamW(0.01, weight_decay=0.5),
                       keras.optimizers.AdamW(0.01, weight_decay=0.5), steps=3)
    b = from_keras(_tiny_keras(keras))
    b.compile(optimizer=mc.optimizers.Adam(0.01), loss="binary_crossentropy")
    for x, y in _batches(3, 16, (6,)):
        b.train_on_batch(x, y)
    assert rel_err(_all(a.get_weights()), _all(b.get_weights())) > 1e-3


def test_exclude_from_weight_decay_matches_keras(keras, record):
    kmodel = _tiny_keras(keras)
    model = from_keras(kmodel)
    theirs = keras.optimizers.AdamW(0.01, weight_decay=0.3)
    theirs.exclude_from_weight_decay(var_names=["bias"])
    mine = mc.optimizers.AdamW(0.01, weight_decay=0.3)
    mine.exclude_from_weight_decay(var_names=["bias"])
    kmodel.compile(optimizer=theirs, loss="binary_crossentropy")
    model.compile(optimizer=mine, loss="binary_crossentropy")
    for x, y in _batches(5, 16, (6,)):
        kmodel.train_on_batch(x, y)
        model.train_on_batch(x, y)
        err = record("optimizer.exclude_from_weight_decay",
                     rel_err(_all(model.get_weights()), _all(kmodel.get_weights())))
        assert err <= STEP_TOL


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_values_match_keras(keras, record, name):
    cls, kwargs = SCHEDULES[name]
    mine = getattr(mc.optimizers.schedules, cls)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, cls)(**kwargs)
    for step in range(12):
        err = record(f"schedule.{name}.value", rel_err(mine(step), float(theirs(step))))
        assert err <= STEP_TOL, f"step {step}: {mine(step)} vs Keras {float(theirs(step))}"
    assert mine.get_config() == theirs.get_config()


@pytest.mark.parametrize("name", SCHEDULES)
@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_schedule_as_learning_rate_matches_keras(keras, record, name, opt):
    """The schedule is evaluated at the optimizer's iteration count before each update."""
    cls, kwargs = SCHEDULES[name]
    model, kmodel = _train_both(
        keras, record, f"schedule.{name}.{opt}",
        getattr(mc.optimizers, opt)(getattr(mc.optimizers.schedules, cls)(**kwargs)),
        getattr(keras.optimizers, opt)(getattr(keras.optimizers.schedules, cls)(**kwargs)),
        steps=8)
    assert model.optimizer.iterations == int(kmodel.optimizer.iterations.numpy()) == 8
    assert rel_err(model.optimizer.learning_rate,
                   float(kmodel.optimizer.learning_rate.numpy())) <= STEP_TOL


def test_only_one_clip_argument_as_keras(keras):
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue`"):
        keras.optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue`"):
        mc.optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
