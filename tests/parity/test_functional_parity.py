"""Functional models against live Keras: a residual network (Conv2D + ``add`` shortcut, a
strided 1x1 convolution on the shortcut, a fusable Conv2D + MaxPooling2D pair) and an
Inception-style block of concatenated branches. Predictions, three SGD steps, every merge
layer's forward and gradients, layer order and weights order, summary, and both conversions."""

from __future__ import annotations

import numpy as np
import pytest
from parity_tools import FORWARD_TOL, GRAD_TOL, compare, rel_err

import minicnn as mc
from minicnn.keras_compat import from_keras, to_keras
from minicnn.tensor import Tensor

STEP_TOL = 1e-3  # weights after three SGD steps (all weights as one vector)


def _keras_residual(keras):
    L = keras.layers
    inp = keras.Input((12, 12, 3), name="img")
    x = L.Conv2D(6, 3, padding="same", activation="relu", name="stem")(inp)
    x = L.MaxPooling2D(2, name="stem_pool")(x)  # fusable: the pool is the stem's only consumer
    y = L.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="block_conv")(x)
    y = L.Conv2D(8, 3, padding="same", name="block_conv2")(y)
    shortcut = L.Conv2D(8, 1, strides=2, name="shortcut")(x)
    z = L.add([y, shortcut], name="residual_add")
    z = L.Activation("tanh", name="act")(z)
    out = L.Dense(3, name="head")(L.Flatten(name="flat")(z))
    return keras.Model(inp, out, name="residual")


def _keras_branches(keras):
    L = keras.layers
    inp = keras.Input((10, 10, 3), name="img")
    b1 = L.Conv2D(4, 1, activation="tanh", name="b1")(inp)
    b2 = L.Conv2D(4, 3, padding="same", activation="tanh", name="b2")(inp)
    b3 = L.AveragePooling2D(3, strides=1, padding="same", name="b3_pool")(inp)
    b3 = L.Conv2D(2, 1, name="b3")(b3)
    shared = L.Dense(3, name="shared")  # one layer on two branches: shared weights
    x = L.concatenate([shared(b1), shared(b2), b3], name="mixed")
    x = L.Conv2D(5, 3, strides=2, name="reduce")(x)
    out = L.Dense(2, name="head")(L.Flatten(name="flat")(x))
    return keras.Model(inp, out, name="branches")


BUILDERS = {"residual": (_keras_residual, (12, 12, 3)),
            "branches": (_keras_branches, (10, 10, 3))}


def _pair(keras, name, seed=0):
    """A Keras functional model with small random biases, and from_keras of it."""
    builder, shape = BUILDERS[name]
    keras.utils.set_random_seed(seed)
    kmodel = builder(keras)
    rng = np.random.default_rng(seed)
    kmodel.set_weights([w if w.ndim > 1 else rng.normal(0, 0.1, w.shape).astype(np.float32)
                        for w in kmodel.get_weights()])
    return kmodel, from_keras(kmodel), shape


def _all(weights):
    return np.concatenate([np.ravel(w) for w in weights])


@pytest.mark.parametrize("name", list(BUILDERS))
def test_predictions_layers_and_weights_order_match_keras(keras, record, name):
    kmodel, model, shape = _pair(keras, name)
    assert type(model) is mc.Model
    assert [lay.name for lay in model.layers] == [lay.name for lay in kmodel.layers]
    kw, mw = kmodel.get_weights(), model.get_weights()
    assert [w.shape for w in mw] == [w.shape for w in kw]
    assert all(np.array_equal(a, b) for a, b in zip(mw, kw))
    x = np.random.default_rng(1).standard_normal((4, *shape)).astype(np.float32)
    compare(record, f"functional/{name}/predict", model.predict(x, verbose=0),
            kmodel.predict(x, verbose=0), FORWARD_TOL)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_three_sgd_steps_in_step_with_keras(keras, record, name):
    kmodel, model, shape = _pair(keras, name)
    kmodel.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    model.compile(optimizer=mc.optimizers.SGD(learning_rate=0.05), loss="mse")
    rng = np.random.default_rng(2)
    for step in range(3):
        x = rng.standard_normal((4, *shape)).astype(np.float32)
        y = rng.standard_normal((4, kmodel.output_shape[-1])).astype(np.float32)
        k_loss = float(kmodel.train_on_batch(x, y))
        m_loss = float(model.train_on_batch(x, y))
        assert abs(m_loss - k_loss) <= STEP_TOL * max(1.0, abs(k_loss)), (step, m_loss, k_loss)
    compare(record, f"functional/{name}/sgd3_weights", _all(model.get_weights()),
            _all(kmodel.get_weights()), STEP_TOL)


def test_two_inputs_two_outputs_train_like_keras(keras, record):
    """Several inputs and outputs: Keras's total loss is the sum of the per-output losses."""
    L = keras.layers
    keras.utils.set_random_seed(7)
    a, b = keras.Input((5,), name="a"), keras.Input((3,), name="b")
    h = L.Dense(6, activation="tanh", name="h")(L.concatenate([a, b], name="ab"))
    kmodel = keras.Model([a, b], [L.Dense(1, name="o1")(h), L.Dense(2, name="o2")(h)])
    model = from_keras(kmodel)
    kmodel.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss=["mse", "mse"])
    model.compile(optimizer=mc.optimizers.SGD(learning_rate=0.1), loss="mse")
    rng = np.random.default_rng(8)
    for _ in range(3):
        xs = [rng.standard_normal((4, 5)).astype(np.float32),
              rng.standard_normal((4, 3)).astype(np.float32)]
        ys = [rng.standard_normal((4, 1)).astype(np.float32),
              rng.standard_normal((4, 2)).astype(np.float32)]
        k_loss = kmodel.train_on_batch(xs, ys)
        k_loss = float(k_loss[0] if isinstance(k_loss, list) else k_loss)
        m_loss = float(model.train_on_batch(xs, ys))
        assert abs(m_loss - k_loss) <= STEP_TOL * max(1.0, abs(k_loss)), (m_loss, k_loss)
    compare(record, "functional/two_in_two_out/sgd3_weights", _all(model.get_weights()),
            _all(kmodel.get_weights()), STEP_TOL)


def test_to_keras_and_back_keeps_graph_names_and_predictions(keras, record, tmp_path):
    mc.clear_session()
    mc.set_seed(3)
    L = mc.layers
    inp = mc.Input((8, 8, 2), name="img")
    a = L.Conv2D(4, 3, padding="same", activation="relu", name="a")(inp)
    b = L.Conv2D(4, 1, name="b")(inp)
    merged = L.concatenate([L.add([a, b], name="s"), L.subtract([a, b], name="d"),
                            L.multiply([a, b], name="m"), L.maximum([a, b], name="mx"),
                            L.average([a, b], name="av")], name="cat")
    head = mc.Sequential([L.Flatten(name="flat"), L.Dense(2, name="dense")], name="head")
    model = mc.Model(inp, [head(merged), L.minimum([a, b], name="mn")], name="all_merges")
    kmodel = to_keras(model)
    assert isinstance(kmodel, keras.Model) and kmodel.name == "all_merges"
    assert [lay.name for lay in kmodel.layers] == [lay.name for lay in model.layers]
    assert all(np.array_equal(u, v) for u, v in zip(kmodel.get_weights(), model.get_weights()))
    x = np.random.default_rng(4).standard_normal((3, 8, 8, 2)).astype(np.float32)
    for i, (mine, theirs) in enumerate(zip(model.predict(x, verbose=0),
                                           kmodel.predict(x, verbose=0))):
        compare(record, f"functional/to_keras/output{i}", mine, theirs, FORWARD_TOL)
    path = tmp_path / "all_merges.keras"
    kmodel.save(path)
    back = from_keras(path)
    assert [lay.name for lay in back.layers] == [lay.name for lay in model.layers]
    assert back.get_config()["output_layers"] == model.get_config()["output_layers"]
    for mine, again in zip(model.predict(x, verbose=0), back.predict(x, verbose=0)):
        np.testing.assert_array_equal(mine, again)


@pytest.mark.parametrize("merge", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                   "Minimum", "Concatenate"])
def test_merge_layer_forward_and_gradients_match_tensorflow(keras, tf, record, merge):
    rng = np.random.default_rng(5)
    n = 2 if merge == "Subtract" else 3
    xs = [rng.standard_normal((2, 3, 4, 5)).astype(np.float32) for _ in range(n)]
    kwargs = {"axis": 2} if merge == "Concatenate" else {}
    ours = getattr(mc.layers, merge)(**kwargs)
    theirs = getattr(keras.layers, merge)(**kwargs)
    R = rng.standard_normal(ours(xs).shape).astype(np.float32)
    ts = [Tensor(x, requires_grad=True) for x in xs]
    (ours(ts) * Tensor(R)).sum().backward()
    kts = [tf.constant(x) for x in xs]
    with tf.GradientTape() as tape:
        for t in kts:
            tape.watch(t)
        ky = theirs(kts)
        loss = tf.reduce_sum(ky * tf.constant(R))
    kgrads = tape.gradient(loss, kts)
    compare(record, f"merge/{merge}/forward", ours(xs).data, ky.numpy(), FORWARD_TOL)
    for i, (t, g) in enumerate(zip(ts, kgrads)):
        compare(record, f"merge/{merge}/grad{i}", t.grad, g.numpy(), GRAD_TOL)


def test_summary_matches_keras_live(keras):
    kmodel, model, _ = _pair(keras, "residual")
    theirs, ours = [], []
    kmodel.summary(line_length=70, print_fn=lambda line, line_break=None: theirs.append(line))
    model.summary(line_length=70, print_fn=ours.append)
    assert "\n".join(theirs).rstrip("\n").split("\n") == ours


def test_functional_weights_round_trip_through_keras_weights_file(keras, tmp_path):
    kmodel, model, shape = _pair(keras, "branches")
    path = tmp_path / "branches.weights.h5"
    kmodel.save_weights(path)
    model.set_weights([w * 0 for w in model.get_weights()])
    loaded = from_keras(path, model=model)
    x = np.random.default_rng(6).standard_normal((2, *shape)).astype(np.float32)
    assert rel_err(loaded.predict(x, verbose=0), kmodel.predict(x, verbose=0)) <= FORWARD_TOL


def test_layer_order_by_depth_matches_keras(keras):
    """Keras orders a functional model's layers by depth, not by creation: here the later
    created 'short' comes before 'long2'."""
    def build(lib, L):
        inp = lib.Input((4,), name="x")
        long = L.Dense(4, name="long2")(L.Dense(4, name="long1")(inp))
        short = L.Dense(4, name="short")(inp)
        return lib.Model(inp, L.add([short, long], name="join"))

    theirs = [lay.name for lay in build(keras, keras.layers).layers]
    assert theirs == ["x", "long1", "short", "long2", "join"]
    assert [lay.name for lay in build(mc, mc.layers).layers] == theirs


def test_nested_keras_sequential_converts_and_predicts_the_same(keras, record):
    """The Keras tutorials' pattern: a preprocessing Sequential called inside a functional
    model."""
    keras.utils.set_random_seed(9)
    L = keras.layers
    augment = keras.Sequential([L.Rescaling(1 / 255.0, name="scale")], name="augment")
    inp = keras.Input((6, 6, 1), name="img")
    x = augment(inp)
    x = L.Conv2D(2, 3, activation="relu", name="conv")(x)
    out = L.Dense(1, name="head")(L.Flatten(name="flat")(x))
    kmodel = keras.Model(inp, out, name="with_augment")
    model = from_keras(kmodel)
    assert isinstance(model.get_layer("augment"), mc.Sequential)
    x = np.random.default_rng(10).uniform(0, 255, (3, 6, 6, 1)).astype(np.float32)
    compare(record, "functional/nested_sequential/predict", model.predict(x, verbose=0),
            kmodel.predict(x, verbose=0), FORWARD_TOL)
    back = to_keras(model)
    assert isinstance(back.get_layer("augment"), keras.Sequential)
    np.testing.assert_allclose(back.predict(x, verbose=0), kmodel.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)
