"""Functional models built from the modern blocks, against live Keras: a keras.io-style residual
network (Conv2D + BatchNormalization + ReLU stem, SeparableConv2D + BN + ReLU blocks with a
strided 1x1 Conv2D shortcut joined by ``add``, GlobalAveragePooling2D, Dropout, Dense),
concatenated branches with global pooling and a squeeze-and-excite style gate, and MobileNet
blocks (DepthwiseConv2D + BN + ReLU(6), 1x1 Conv2D, ZeroPadding2D + strided depthwise).

Per model: predictions (<= 1e-5), three SGD steps in step with Keras (all weights, BN moving
statistics included, <= 1e-3), to_keras and back, save / load_model, and the ONNX export.

Why each check is robust on any CPU:

* Predictions are continuous functions of the input (ReLU, ReLU(6) and max-pooling have kinks,
  not jumps), so a near-tie decided differently by the two libraries' float32 roundings moves the
  output by a rounding, not by a jump: float32 is fine there.
* Training is not: a gradient does jump at a kink, SGD carries the jump into the weights, and BN
  spreads it over the whole batch. So the three steps run in float64 on both sides (a near-tie
  would have to lie within ~1e-15 of the kink to flip), as tests/parity/test_training_parity.py
  does, with Dropout's rate 0 (the two libraries' dropout masks are different random draws).
"""

from __future__ import annotations

import numpy as np
import pytest
from parity_tools import FORWARD_TOL, compare, rel_err

import minicnn as mc
from minicnn.keras_compat import from_keras, to_keras

STEP_TOL = 1e-3  # weights and moving statistics after three SGD steps (all as one vector)
LOSS_TOL = 1e-6  # each step's loss, float64 on both sides (Keras reports it via float32)
LR = 0.05


def _residual(keras, dropout=0.25):
    """keras.io's "image classification from scratch" network, shrunk to 16 px."""
    L = keras.layers
    inp = keras.Input((16, 16, 3), name="img")
    x = L.Conv2D(8, 3, strides=2, padding="same", name="stem")(inp)
    x = L.BatchNormalization(name="stem_bn")(x)
    x = L.ReLU(name="stem_relu")(x)
    previous = x
    for size in (8, 12):
        x = L.SeparableConv2D(size, 3, padding="same", name=f"sep{size}a")(x)
        x = L.BatchNormalization(name=f"bn{size}a")(x)
        x = L.ReLU(name=f"relu{size}a")(x)
        x = L.SeparableConv2D(size, 3, padding="same", depth_multiplier=2,
                              name=f"sep{size}b")(x)
        x = L.BatchNormalization(name=f"bn{size}b")(x)
        x = L.ReLU(name=f"relu{size}b")(x)
        x = L.MaxPooling2D(3, strides=2, padding="same", name=f"pool{size}")(x)
        shortcut = L.Conv2D(size, 1, strides=2, padding="same", name=f"short{size}")(previous)
        x = L.add([x, shortcut], name=f"add{size}")
        previous = x
    x = L.GlobalAveragePooling2D(name="gap")(x)
    x = L.Dropout(dropout, name="drop")(x)
    out = L.Dense(3, name="head")(x)
    return keras.Model(inp, out, name="residual_blocks")


def _branches(keras, dropout=0.0):
    """Inception-style branches concatenated, a squeeze-and-excite gate (global average pooling
    with keepdims, 1x1 Conv2D, multiply), then average and max global pooling side by side."""
    L = keras.layers
    inp = keras.Input((10, 10, 3), name="img")
    b1 = L.Conv2D(4, 1, name="b1")(inp)
    b1 = L.ReLU(name="b1_relu")(L.BatchNormalization(name="b1_bn")(b1))
    b2 = L.SeparableConv2D(4, 3, padding="same", activation="relu", name="b2")(inp)
    b3 = L.MaxPooling2D(3, strides=1, padding="same", name="b3_pool")(inp)
    b3 = L.Conv2D(2, 1, name="b3")(b3)
    x = L.concatenate([b1, b2, b3], name="mixed")
    gate = L.GlobalAveragePooling2D(keepdims=True, name="squeeze")(x)
    gate = L.Conv2D(10, 1, activation="sigmoid", name="excite")(gate)
    x = L.multiply([x, gate], name="gated")
    pooled = L.concatenate([L.GlobalAveragePooling2D(name="gap")(x),
                            L.GlobalMaxPooling2D(name="gmp")(x)], name="pooled")
    out = L.Dense(2, name="head")(L.Dropout(dropout, name="drop")(pooled))
    return keras.Model(inp, out, name="branches_pooling")


def _mobile(keras, dropout=0.0):
    """MobileNet v1 blocks: depthwise 3x3 + BN + ReLU(6), pointwise 1x1 + BN + ReLU(6), and the
    strided block's explicit ZeroPadding2D ((0, 1), (0, 1)) before a 'valid' depthwise."""
    L = keras.layers
    inp = keras.Input((16, 16, 3), name="img")
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False, name="conv1")(inp)
    x = L.ReLU(6.0, name="conv1_relu")(L.BatchNormalization(name="conv1_bn")(x))
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw1")(x)
    x = L.ReLU(6.0, name="dw1_relu")(L.BatchNormalization(name="dw1_bn")(x))
    x = L.Conv2D(12, 1, use_bias=False, name="pw1")(x)
    x = L.ReLU(6.0, name="pw1_relu")(L.BatchNormalization(name="pw1_bn")(x))
    x = L.ZeroPadding2D(((0, 1), (0, 1)), name="pad2")(x)
    x = L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, use_bias=False, name="dw2")(x)
    x = L.ReLU(6.0, name="dw2_relu")(L.BatchNormalization(name="dw2_bn")(x))
    x = L.Conv2D(16, 1, use_bias=False, name="pw2")(x)
    x = L.ReLU(6.0, name="pw2_relu")(L.BatchNormalization(name="pw2_bn")(x))
    x = L.GlobalAveragePooling2D(name="gap")(x)
    out = L.Dense(3, name="head")(L.Dropout(dropout, name="drop")(x))
    return keras.Model(inp, out, name="mobile_blocks")


BUILDERS = {"residual": _residual, "branches": _branches, "mobile": _mobile}


def _random_weights(kmodel, seed, gamma=(0.5, 1.5)):
    """Keras's initial kernels, with random biases and BN statistics: gamma and the moving
    variance positive, beta and the moving mean around 0 (Keras's ones / zeros would leave the
    inference-mode BN an identity that no layout mistake could show)."""
    rng = np.random.default_rng(seed)
    values = []
    for w in kmodel.weights:
        name = w.path.split("/")[-1]
        shape = tuple(w.shape)
        if name == "gamma":
            values.append(rng.uniform(*gamma, shape))
        elif name == "moving_variance":
            values.append(rng.uniform(0.5, 1.5, shape))
        elif len(shape) > 1:
            values.append(w.numpy())
        else:
            values.append(rng.normal(0, 0.2, shape))
    return [v.astype(np.float32) for v in values]


def _pair(keras, name, seed=0):
    """A float32 Keras model of ``name`` with random statistics, and from_keras of it."""
    keras.utils.set_random_seed(seed)
    kmodel = BUILDERS[name](keras)
    # The mobile blocks' gammas are large enough that ReLU(6)'s cap is reached (checked below).
    kmodel.set_weights(_random_weights(kmodel, seed, (2.0, 6.0) if name == "mobile" else
                                       (0.5, 1.5)))
    return kmodel, from_keras(kmodel)


def _inputs(kmodel, n, seed, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal((n, *kmodel.input_shape[1:])).astype(dtype)


def _all(weights):
    return np.concatenate([np.ravel(w) for w in weights])


@pytest.mark.parametrize("name", list(BUILDERS))
def test_predictions_layers_and_weights_match_keras(keras, record, name):
    kmodel, model = _pair(keras, name)
    assert type(model) is mc.Model
    assert [lay.name for lay in model.layers] == [lay.name for lay in kmodel.layers]
    kw, mw = kmodel.get_weights(), model.get_weights()
    assert [w.shape for w in mw] == [w.shape for w in kw]
    assert all(np.array_equal(a, b) for a, b in zip(mw, kw))
    assert model.count_params() == kmodel.count_params()
    assert (sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
            == sum(int(np.prod(w.shape)) for w in kmodel.non_trainable_weights))
    for batch in (1, 5):
        x = _inputs(kmodel, batch, 1)
        compare(record, f"blocks/{name}/predict", model.predict(x, verbose=0),
                kmodel.predict(x, verbose=0), FORWARD_TOL)


def test_mobile_blocks_reach_the_relu6_cap(keras):
    """The mobile model's predictions check ReLU(6)'s cap only if activations go past 6."""
    kmodel, _ = _pair(keras, "mobile")
    probe = keras.Model(kmodel.input, kmodel.get_layer("pw1_bn").output)
    assert float(np.max(probe.predict(_inputs(kmodel, 5, 1), verbose=0))) > 6.0


def _float64_keras(keras, name, weights):
    # floatx too: keras.Input takes its dtype from floatx, not from the dtype policy, and a
    # float32 input layer would round every batch to float32 on Keras's side only.
    keras.config.set_dtype_policy("float64")
    keras.config.set_floatx("float64")
    try:
        kmodel = BUILDERS[name](keras, dropout=0.0)
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy("float32")
    kmodel.set_weights([w.astype(np.float64) for w in weights])
    return kmodel


@pytest.mark.parametrize("name", list(BUILDERS))
def test_three_sgd_steps_in_step_with_keras_float64(keras, record, name):
    """Three SGD steps in training mode (BN on batch statistics, moving statistics updated) from
    the same weights, float64 on both sides: each step's loss, then every weight and moving
    statistic."""
    k32, _ = _pair(keras, name)
    kmodel = _float64_keras(keras, name, k32.get_weights())
    model = from_keras(BUILDERS[name](keras, dropout=0.0))  # same graph, rate 0 (see module doc)
    model.set_weights(k32.get_weights())
    for w in model.weights:
        w.data = w.data.astype(np.float64)
    kmodel.compile(optimizer=keras.optimizers.SGD(learning_rate=LR), loss="mse")
    model.compile(optimizer=mc.optimizers.SGD(learning_rate=LR), loss="mse")
    rng = np.random.default_rng(2)
    before = _all(kmodel.get_weights())
    for step in range(3):
        x = rng.standard_normal((4, *kmodel.input_shape[1:]))
        y = rng.standard_normal((4, kmodel.output_shape[-1]))
        k_loss = float(kmodel.train_on_batch(x, y))
        m_loss = float(model.train_on_batch(mc.Tensor(x), y))
        assert record(f"blocks/{name}/sgd3_loss", rel_err(m_loss, k_loss)) <= LOSS_TOL, \
            (step, m_loss, k_loss)
    theirs = _all(kmodel.get_weights())
    assert rel_err(theirs, before) > 1e-3  # the steps moved the weights and statistics
    compare(record, f"blocks/{name}/sgd3_weights", _all(model.get_weights()), theirs, STEP_TOL)
    moving = [i for i, w in enumerate(kmodel.weights) if "moving" in w.path]
    assert moving  # every model here has BatchNormalization
    compare(record, f"blocks/{name}/sgd3_moving_stats",
            _all([model.get_weights()[i] for i in moving]),
            _all([kmodel.get_weights()[i] for i in moving]), STEP_TOL)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_to_keras_and_back(keras, record, name):
    _, model = _pair(keras, name)
    kmodel = to_keras(model)
    assert isinstance(kmodel, keras.Model) and kmodel.name == model.name
    assert [lay.name for lay in kmodel.layers] == [lay.name for lay in model.layers]
    assert all(np.array_equal(u, v) for u, v in zip(kmodel.get_weights(), model.get_weights()))
    x = _inputs(kmodel, 3, 4)
    compare(record, f"blocks/{name}/to_keras", model.predict(x, verbose=0),
            kmodel.predict(x, verbose=0), FORWARD_TOL)
    back = from_keras(kmodel)
    assert back.get_config() == model.get_config()
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_save_load_model_round_trip(keras, tmp_path, name):
    kmodel, model = _pair(keras, name)
    path = tmp_path / f"{name}.npz"
    model.save(path)
    loaded = mc.load_model(path)
    assert [lay.name for lay in loaded.layers] == [lay.name for lay in model.layers]
    assert all(np.array_equal(u, v) for u, v in zip(loaded.get_weights(), model.get_weights()))
    x = _inputs(kmodel, 3, 5)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_onnx_export_predicts_the_same(keras, record, tmp_path, name):
    """The ONNX file minicnn writes, run by onnxruntime, against minicnn's predict (inference
    mode: BN on moving statistics, Dropout off)."""
    onnx = pytest.importorskip("onnx") if not _ci() else __import__("onnx")
    ort = pytest.importorskip("onnxruntime") if not _ci() else __import__("onnxruntime")
    kmodel, model = _pair(keras, name)
    path = tmp_path / f"{name}.onnx"
    model.export(path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    for batch in (1, 4):
        x = _inputs(kmodel, batch, 6)
        compare(record, f"blocks/{name}/onnx", session.run(None, {inp.name: x})[0],
                model.predict(x, verbose=0), FORWARD_TOL)


def _ci() -> bool:
    import os

    return os.environ.get("CI", "").lower() == "true"
