"""Training parity: losses and optimizers step for step, and the seed network under Adam."""

from __future__ import annotations

import numpy as np
import pytest
from keras_models import keras_catdog
from parity_tools import rel_err

import minicnn as mc
from minicnn.keras_compat import from_keras

STEP_TOL = 1e-5  # per-step loss and weights on the small shared problem


def _tiny_keras(keras, seed=0):
    keras.utils.set_random_seed(seed)  # Keras's glorot draw, then small non-zero biases
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    rng = np.random.default_rng(seed)
    model.set_weights([w if w.ndim > 1 else rng.normal(0, 0.1, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    return model


def _all(weights):
    return np.concatenate([np.ravel(w) for w in weights])


def _batches(n_steps, batch, shape, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, *shape)).astype(np.float32),
             rng.integers(0, 2, (batch, 1)).astype(np.float32)) for _ in range(n_steps)]


OPTIMIZERS = {
    "sgd": ("SGD", dict(learning_rate=0.1)),
    "sgd_momentum": ("SGD", dict(learning_rate=0.1, momentum=0.9)),
    "sgd_nesterov": ("SGD", dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    "adam": ("Adam", dict(learning_rate=0.01)),
    "adam_amsgrad": ("Adam", dict(learning_rate=0.01, amsgrad=True)),
    "rmsprop": ("RMSprop", dict(learning_rate=0.01)),
    "rmsprop_centered_momentum": ("RMSprop", dict(learning_rate=0.01, momentum=0.5,
                                                  centered=True)),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_steps_match_keras(keras, record, name):
    """Same init, same batches, binary cross-entropy: the loss and all weights after each of 10
    train_on_batch steps within 1e-5 (relative) of Keras's. The weights are compared as one
    vector: a single output bias, whose gradient mean(p - y) cancels, is relatively noisier
    than float32 on its own."""
    cls, kwargs = OPTIMIZERS[name]
    kmodel = _tiny_keras(keras)
    model = from_keras(kmodel)
    kmodel.compile(optimizer=getattr(keras.optimizers, cls)(**kwargs),
                   loss="binary_crossentropy")
    model.compile(optimizer=getattr(mc.optimizers, cls)(**kwargs), loss="binary_crossentropy")
    for step, (x, y) in enumerate(_batches(10, 16, (6,))):
        loss_k = float(kmodel.train_on_batch(x, y))
        loss_m = float(model.train_on_batch(x, y))
        err = record(f"optimizer.{name}.loss", rel_err(loss_m, loss_k))
        assert err <= STEP_TOL, f"step {step}: loss {loss_m} vs Keras {loss_k}"
        err = record(f"optimizer.{name}.weights",
                     rel_err(_all(model.get_weights()), _all(kmodel.get_weights())))
        assert err <= STEP_TOL, f"step {step}: weights differ by {err:.3g}"


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_values_and_gradients(tf, keras, record, from_logits):
    """On plain arrays (no activation to peek at) Keras clips probabilities to
    [1e-7, 1 - 1e-7]; minicnn clips identically, saturated values included."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (64, 3)).astype(np.float32)
    if from_logits:
        p = (rng.standard_normal((64, 3)) * 20).astype(np.float32)
    else:
        p = rng.uniform(0, 1, (64, 3)).astype(np.float32)
        p[:8] = [[0.0, 1.0, 1e-9]] * 8  # saturated: the clip decides the value
    pt = tf.constant(p)
    with tf.GradientTape() as tape:
        tape.watch(pt)
        loss_k = keras.losses.BinaryCrossentropy(from_logits=from_logits)(y, pt)
    g_k = tape.gradient(loss_k, pt).numpy()
    pm = mc.Tensor(p, requires_grad=True)
    loss_m = mc.losses.BinaryCrossentropy(from_logits=from_logits)(y, pm)
    loss_m.backward()
    assert record("bce.value", rel_err(loss_m.data, loss_k.numpy())) <= STEP_TOL
    assert record("bce.grad", rel_err(pm.grad, g_k)) <= STEP_TOL


def test_keras_fit_uses_logits_of_a_sigmoid_output(keras):
    """Pinned Keras-on-TF behaviour: a sigmoid activation tags its output with its logits
    (``_keras_logits``) and binary_crossentropy then uses the logits formula, unclipped, in
    train_on_batch, fit and evaluate alike. minicnn does the same (see the next test)."""
    kmodel = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, activation="sigmoid")])
    kmodel.set_weights([np.ones((1, 1), np.float32), np.array([30.0], np.float32)])
    kmodel.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy")
    x, y = np.zeros((2, 1), np.float32), np.zeros((2, 1), np.float32)
    # logits: log(1 + e^30) = 30.0; the clipped formula would give 15.942 (below)
    assert kmodel.train_on_batch(x, y) == pytest.approx(30.0)
    assert kmodel.evaluate(x, y, verbose=0) == pytest.approx(30.0)
    assert kmodel.fit(x, y, verbose=0).history["loss"][0] == pytest.approx(30.0)
    # A plain array has no logits to peek at, so it is clipped; 1 - 1e-7 rounds to 1 - 2**-23
    # in float32, so the loss is -log(2**-23) = 15.942, not -log(1e-7) = 16.118.
    p = kmodel.predict(x, verbose=0)
    assert float(keras.losses.binary_crossentropy(y, p)[0]) == pytest.approx(15.942, abs=1e-3)


@pytest.mark.parametrize("bias", [30.0, -30.0, 12.0])
def test_saturated_sigmoid_loss_and_gradient_match_keras(tf, keras, record, bias):
    kmodel = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    kmodel.set_weights([np.array([[0.5], [-0.25]], np.float32), np.array([bias], np.float32)])
    model = from_keras(kmodel)
    x = np.array([[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]], np.float32)
    y = np.array([[0.0], [1.0], [1.0]], np.float32)
    with tf.GradientTape() as tape:
        loss_k = keras.losses.BinaryCrossentropy()(y, kmodel(x))
    grads_k = [g.numpy() for g in tape.gradient(loss_k, kmodel.trainable_weights)]
    loss_m = mc.losses.BinaryCrossentropy()(y, model(x))
    loss_m.backward()
    assert record("bce.saturated.value", rel_err(loss_m.data, loss_k.numpy())) <= STEP_TOL
    for w, gk in zip(model.trainable_weights, grads_k, strict=True):
        assert record("bce.saturated.grad", rel_err(w.grad, gk)) <= STEP_TOL


@pytest.mark.parametrize("n,fraction", [(10, 0.2), (7, 0.3), (100, 0.25), (9, 0.5)])
def test_validation_split_takes_the_last_fraction(keras, record, n, fraction):
    """Rule: validation_split holds out the LAST floor-complement of the arrays, before any
    shuffling: train on x[:floor(n * (1 - f))], validate on the rest. Checked end to end:
    val_loss after one epoch with a zero learning rate equals the loss on that tail."""
    from keras.src.trainers.data_adapters.array_slicing import train_validation_split

    from minicnn.models.data import split_validation

    x, y = _batches(1, n, (6,), seed=n)[0]
    (kx, ky), (kvx, kvy) = train_validation_split((x, y), validation_split=fraction)
    mx, my, mvx, mvy = split_validation(x, y, fraction)
    for a, b in ((mx, kx), (my, ky), (mvx, kvx), (mvy, kvy)):
        np.testing.assert_array_equal(a, np.asarray(b))
    kmodel = _tiny_keras(keras)
    model = from_keras(kmodel)
    kmodel.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy")
    model.compile(optimizer=mc.optimizers.SGD(0.0), loss="binary_crossentropy")
    hk = kmodel.fit(x, y, validation_split=fraction, epochs=1, verbose=0).history
    hm = model.fit(x, y, validation_split=fraction, epochs=1, verbose=0).history
    tail = kmodel.evaluate(x[len(mx):], y[len(mx):], verbose=0)
    assert hk["val_loss"][0] == pytest.approx(tail, rel=1e-6)
    assert record("validation_split.val_loss", rel_err(hm["val_loss"][0], hk["val_loss"][0])
                  ) <= STEP_TOL


# The seed network under Adam, step by step. Twenty steps compared end to end are chaotic:
# a max-pool or ReLU near-tie that one library's float32 rounding decides the other way sends
# a window's gradient elsewhere, Adam's normalisation amplifies it, and the trajectories part
# (Keras against itself started one float32 ulp apart drifted 0.25 at 128 px); which seed
# holds no such tie depends on the CPU's BLAS kernels. So, by construction and on any CPU:
# both sides compute in float64 (a near-tie would have to lie within ~1e-15 to flip), every
# step starts both from the same weights (Keras's, so nothing accumulates), and what is
# compared is that step's loss and each weight tensor's update. Adam's moment slots run on in
# each library, as in real training. docs/keras-parity.md has the measurements.
NET_CASES = [(64, "same", 4), (128, "valid", 2)]  # batches small: 2 shared cores in CI
NET_STEPS = 10
NET_LR = 1e-4
# Median per-entry difference of one step's update over the update's rms. Keras rounds parts of
# a float64 step through float32 (beta_2 ** t, the logits loss gradient): 6.7e-6 at step 1.
UPDATE_TOL = 1e-4
LOSS_TOL = 1e-6  # Keras reports the loss through a float32 metric


def median_update_error(mine, theirs, before) -> float:
    """Median over entries of |Δmine - Δtheirs| / rms(Δtheirs), where Δ is the step's change
    of the weights from ``before`` (0 when neither moved). Scaled by the tensor's typical
    update, not each entry's own: an entry whose Adam momentum has nearly cancelled moves by
    almost nothing, and any rounding is large relative to that alone."""
    d_mine, d_theirs = mine - before, theirs - before
    diff = np.abs(d_mine - d_theirs)
    scale = float(np.sqrt(np.mean(d_theirs**2)))
    if scale == 0.0:
        return 0.0 if not diff.any() else float("inf")
    return float(np.median(diff)) / scale


def _float64_keras_catdog(keras, size, padding, weights):
    keras.config.set_dtype_policy("float64")
    try:
        kmodel = keras_catdog(keras, (size, size, 3), padding, dropout=0.0)
    finally:
        keras.config.set_dtype_policy("float32")
    kmodel.set_weights([w.astype(np.float64) for w in weights])
    return kmodel


def seed_network_adam_errors(keras, size, padding, batch, optimizer, steps=NET_STEPS,
                             seed=0):
    """Train the Keras seed network (dropout rate 0) in float64 with Adam; before each step
    copy its weights into minicnn's float64 model (trained with ``optimizer``) and run the same
    batch on both. Returns the per-step loss errors and, per step, the worst tensor's median
    update error with its name."""
    keras.utils.set_random_seed(seed)
    init = keras_catdog(keras, (size, size, 3), padding, dropout=0.0)  # Keras's own init
    model = from_keras(init)
    for w in model.weights:
        w.data = w.data.astype(np.float64)
    kmodel = _float64_keras_catdog(keras, size, padding, init.get_weights())
    model.compile(optimizer=optimizer, loss="binary_crossentropy")
    kmodel.compile(optimizer=keras.optimizers.Adam(NET_LR), loss="binary_crossentropy")
    names = [w.name for w in model.weights]
    rng = np.random.default_rng(seed)
    loss_errors, update_errors = [], []
    for _ in range(steps):
        x = rng.uniform(0, 1, (batch, size, size, 3))
        y = rng.integers(0, 2, (batch, 1)).astype(np.float64)
        before = kmodel.get_weights()
        model.set_weights(before)
        loss_m = float(model.train_on_batch(mc.Tensor(x), y))
        loss_k = float(kmodel.train_on_batch(x, y))
        loss_errors.append(rel_err(loss_m, loss_k))
        errs = [median_update_error(m, k, b) for m, k, b in
                zip(model.get_weights(), kmodel.get_weights(), before, strict=True)]
        worst = int(np.argmax(errs))
        update_errors.append((errs[worst], names[worst]))
    return loss_errors, update_errors


@pytest.mark.parametrize("size,padding,batch", NET_CASES)
def test_seed_network_adam_steps(keras, record, size, padding, batch):
    """Each of 10 Adam steps of the seed network, float64, from the same weights as Keras: the
    loss within 1e-6 and every weight tensor's update within 1e-4 (median over its entries,
    relative to the update's rms) of Keras's."""
    loss_errors, update_errors = seed_network_adam_errors(keras, size, padding, batch,
                                                          mc.optimizers.Adam(NET_LR))
    for step, (loss_err, (upd_err, name)) in enumerate(zip(loss_errors, update_errors)):
        record(f"catdog{size}.adam.loss", loss_err)
        record(f"catdog{size}.adam.update", upd_err)
        assert loss_err <= LOSS_TOL, f"step {step}: loss differs by {loss_err:.3g}"
        assert upd_err <= UPDATE_TOL, f"step {step}: update of {name} differs by {upd_err:.3g}"


class _AdamWithoutBiasCorrection(mc.optimizers.Adam):
    def update(self, i, param, grad):
        m, v = self._slots["momentum"][i], self._slots["velocity"][i]
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        param.data -= self.learning_rate * m / (np.sqrt(v) + self.epsilon)


class _AdamEpsilonInsideSqrt(mc.optimizers.Adam):
    def update(self, i, param, grad):
        t = self.iterations + 1
        alpha = self.learning_rate * np.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        m, v = self._slots["momentum"][i], self._slots["velocity"][i]
        m += (grad - m) * (1 - self.beta_1)
        v += (grad * grad - v) * (1 - self.beta_2)
        param.data -= alpha * m / np.sqrt(v + self.epsilon)


@pytest.mark.parametrize("wrong", [
    pytest.param(lambda: _AdamWithoutBiasCorrection(NET_LR), id="no-bias-correction"),
    pytest.param(lambda: _AdamEpsilonInsideSqrt(NET_LR), id="epsilon-inside-sqrt"),
    pytest.param(lambda: mc.optimizers.Adam(NET_LR * 1.01), id="learning-rate-1pc-off"),
])
def test_seed_network_adam_check_catches_wrong_steps(keras, wrong):
    """The check above is not blind: Adam steps that are wrong in the ways that matter fail
    it (on the cheaper 64 px case, 3 steps)."""
    _, update_errors = seed_network_adam_errors(keras, 64, "same", 4, wrong(), steps=3)
    assert max(err for err, _ in update_errors) > UPDATE_TOL


@pytest.mark.parametrize("name", ["adam", "adam_amsgrad", "rmsprop", "rmsprop_centered_momentum",
                                  "sgd_nesterov"])
@pytest.mark.parametrize("scale", [1e-7, 1.0])
def test_optimizer_epsilon_placement(keras, record, name, scale):
    """Rule: Adam adds epsilon (1e-7) OUTSIDE the square root, RMSprop INSIDE it. Gradients of
    ~1e-7 make the placement decide the step (the training tests above cannot see it)."""
    cls, kwargs = OPTIMIZERS[name]
    rng = np.random.default_rng(11)
    w0 = np.zeros((4, 3), np.float32)  # weights = distance moved, free of w0's rounding
    grads = [(rng.standard_normal((4, 3)) * scale).astype(np.float32) for _ in range(5)]
    param, var = mc.Parameter(w0.copy(), name="w"), keras.Variable(w0.copy())
    mine, theirs = (getattr(mc.optimizers, cls)(**kwargs),
                    getattr(keras.optimizers, cls)(**kwargs))
    for step, g in enumerate(grads):
        mine.apply_gradients([(g, param)])
        theirs.apply_gradients([(g, var)])
        err = record(f"optimizer.epsilon.{name}", rel_err(param.data, var.numpy()))
        assert err <= STEP_TOL, f"step {step}: moved differently by {err:.3g}"
