"""Parity of issue 15's single-input layers with live TensorFlow/Keras 3: BatchNormalization
(training, moving statistics over several steps, inference, trainable=False), DepthwiseConv2D,
SeparableConv2D, Conv2D with dilation_rate and groups, global pooling, ZeroPadding2D, ReLU,
LeakyReLU and Reshape.

Each Keras layer is converted with ``layer_from_keras`` and must compute the same forward values
(<= 1e-5 relative) and the same gradients of sum(y * R) with respect to the input and every
weight (<= 1e-4 relative). Inputs of the piecewise layers (ReLUs, max pooling) keep a margin from
every kink and tie, so float rounding cannot flip a branch between the two libraries.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from parity_tools import FORWARD_TOL, GRAD_TOL, compare, rel_err, run_keras, run_minicnn

import minicnn as mc
from minicnn.keras_compat import from_keras, layer_from_keras, to_keras

STEP_TOL = 1e-5  # moving statistics and normalised outputs over a few steps, float32


def _randomize(klayer, rng):
    """Non-trivial weights: kernels and biases random, BN's gamma around 1 and a positive
    moving variance (a negative one would make both sides NaN)."""
    values = []
    for w in klayer.weights:
        name = w.path.split("/")[-1]
        shape = tuple(w.shape)
        if name in ("gamma", "moving_variance"):
            values.append(rng.uniform(0.5, 1.5, shape))
        elif len(shape) > 1:
            values.append(rng.standard_normal(shape) * 0.5)
        else:
            values.append(rng.standard_normal(shape) * 0.1)
    klayer.set_weights([v.astype(np.float32) for v in values])


def _check(tf, record, kind, klayer, x, rng, training=False):
    """Build and randomise ``klayer``, convert it, and compare forward values and gradients."""
    klayer.build(x.shape)
    _randomize(klayer, rng)
    layer = layer_from_keras(klayer, input_shape=(None,) + x.shape[1:])
    R = rng.standard_normal(layer.compute_output_shape(x.shape)).astype(np.float32)
    y_t, grads_t = run_keras(tf, [klayer], x, R, training)
    y_m, grads_m = run_minicnn([layer], x, R, training)
    compare(record, f"{kind}.forward", y_m, y_t, FORWARD_TOL)
    names = ["input"] + [w.name.split("/")[-1] for w in layer.weights]
    for name, gm, gt in zip(names, grads_m, grads_t):
        if gt is None:  # a weight TensorFlow's tape does not reach (moving statistics)
            assert gm is None, f"{kind}: minicnn has a gradient for {name}, TensorFlow none"
            continue
        compare(record, f"{kind}.grad_{name}", gm, gt, GRAD_TOL)
    return layer


def _all(weights):
    return np.concatenate([np.ravel(w) for w in weights])


def _off_the_grid(rng, shape, scale=0.1):
    """Values k * scale + scale / 2: at least scale / 2 from every multiple of ``scale``, so
    from the kinks (0, thresholds, caps) the ReLU tests put on multiples of 0.5."""
    return ((rng.integers(-60, 60, shape) + 0.5) * scale).astype(np.float32)


def _without_ties(rng, shape):
    """Distinct values (a permutation of a grid), so every maximum is unique by a margin."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2) * (4.0 / n)).reshape(shape).astype(np.float32)


# ---------------------------------------------------------------------- depthwise
DEPTHWISE_GRID = [
    dict(kernel_size=k, strides=s, padding=p, depth_multiplier=m, shape=(2, 7, 9, 3))
    for k, s, p, m in itertools.product((1, 3, (2, 3)), (1, 2), ("valid", "same"), (1, 2))
] + [
    dict(kernel_size=5, strides=2, padding="same", depth_multiplier=2, shape=(1, 8, 8, 2)),
    dict(kernel_size=4, strides=3, padding="same", depth_multiplier=1, shape=(1, 10, 11, 2)),
    dict(kernel_size=3, strides=1, padding="same", depth_multiplier=2, shape=(1, 7, 8, 2),
         dilation_rate=2),
    dict(kernel_size=(2, 3), strides=1, padding="valid", depth_multiplier=1,
         shape=(2, 7, 9, 2), dilation_rate=(3, 2)),
]


@pytest.mark.parametrize("case", DEPTHWISE_GRID, ids=lambda c: "-".join(
    str(c[k]) for k in ("kernel_size", "strides", "padding", "depth_multiplier", "shape")
) + (f"-d{c['dilation_rate']}" if "dilation_rate" in c else ""))
def test_depthwise_conv2d(tf, keras, record, case):
    """Rules: kernel (KH, KW, C, M); output channel c*M + m; TF's 'same' split (odd pixel
    bottom/right) for the (dilated) window."""
    rng = np.random.default_rng(20)
    x = rng.standard_normal(case["shape"]).astype(np.float32)
    klayer = keras.layers.DepthwiseConv2D(
        case["kernel_size"], strides=case["strides"], padding=case["padding"],
        depth_multiplier=case["depth_multiplier"], dilation_rate=case.get("dilation_rate", 1))
    _check(tf, record, "DepthwiseConv2D", klayer, x, rng)


def test_depthwise_conv2d_activation_without_bias(tf, keras, record):
    rng = np.random.default_rng(21)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    klayer = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2,
                                          activation="tanh", use_bias=False)
    _check(tf, record, "DepthwiseConv2D", klayer, x, rng)


SEPARABLE_GRID = [
    dict(kernel_size=k, strides=s, padding=p, depth_multiplier=m, shape=(2, 7, 9, 3))
    for k, s, p, m in itertools.product((3, (2, 3)), (1, 2), ("valid", "same"), (1, 2))
] + [
    dict(kernel_size=3, strides=1, padding="same", depth_multiplier=1, shape=(1, 8, 8, 4),
         dilation_rate=2),
]


@pytest.mark.parametrize("case", SEPARABLE_GRID, ids=lambda c: "-".join(
    str(c[k]) for k in ("kernel_size", "strides", "padding", "depth_multiplier", "shape")
) + (f"-d{c['dilation_rate']}" if "dilation_rate" in c else ""))
def test_separable_conv2d(tf, keras, record, case):
    """Rules: weights depthwise_kernel (KH, KW, C, M), pointwise_kernel (1, 1, C*M, F), bias
    (F,); strides and padding apply to the depthwise step; the bias after the pointwise."""
    rng = np.random.default_rng(22)
    x = rng.standard_normal(case["shape"]).astype(np.float32)
    klayer = keras.layers.SeparableConv2D(
        5, case["kernel_size"], strides=case["strides"], padding=case["padding"],
        depth_multiplier=case["depth_multiplier"], dilation_rate=case.get("dilation_rate", 1))
    _check(tf, record, "SeparableConv2D", klayer, x, rng)


@pytest.mark.parametrize("activation,use_bias", [("relu", True), ("sigmoid", False)])
def test_separable_conv2d_activation_and_bias(tf, keras, record, activation, use_bias):
    rng = np.random.default_rng(23)
    x = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    klayer = keras.layers.SeparableConv2D(4, 3, padding="same", activation=activation,
                                          use_bias=use_bias)
    _check(tf, record, "SeparableConv2D", klayer, x, rng)


# ------------------------------------------------------- Conv2D dilation and groups
@pytest.mark.parametrize("kernel_size,dilation,padding,groups,channels,shape", [
    (3, 2, "same", 1, (3, 4), (2, 9, 9)),
    (3, 2, "valid", 1, (3, 4), (2, 9, 8)),
    ((2, 3), (3, 1), "same", 1, (2, 3), (1, 7, 8)),
    (3, 1, "same", 2, (4, 6), (2, 7, 9)),
    (1, 1, "valid", 4, (8, 4), (1, 5, 5)),
    (3, 2, "same", 3, (3, 6), (2, 8, 7)),
])
def test_conv2d_dilation_and_groups(tf, keras, record, kernel_size, dilation, padding, groups,
                                    channels, shape):
    """Rules: the dilated window (K - 1) * D + 1 gets TF's 'same' split; a grouped kernel is
    (KH, KW, C / G, F) with group g mapping channels g*C/G.. to outputs g*F/G.."""
    rng = np.random.default_rng(24)
    x = rng.standard_normal((*shape, channels[0])).astype(np.float32)
    klayer = keras.layers.Conv2D(channels[1], kernel_size, padding=padding,
                                 dilation_rate=dilation, groups=groups)
    _check(tf, record, "Conv2D.dilated_grouped", klayer, x, rng)


def test_conv2d_groups_with_strides(tf, keras, record):
    rng = np.random.default_rng(25)
    x = rng.standard_normal((2, 7, 8, 4)).astype(np.float32)
    klayer = keras.layers.Conv2D(4, 3, strides=2, padding="same", groups=2, activation="relu")
    _check(tf, record, "Conv2D.dilated_grouped", klayer, x, rng)


# ------------------------------------------------------------------ global pooling
@pytest.mark.parametrize("kind", ["GlobalAveragePooling2D", "GlobalMaxPooling2D"])
@pytest.mark.parametrize("shape,keepdims", [
    ((2, 7, 9, 3), False), ((1, 8, 8, 4), True), ((3, 1, 1, 2), False), ((1, 5, 3, 1), True),
])
def test_global_pooling(tf, keras, record, kind, shape, keepdims):
    rng = np.random.default_rng(26)
    x = _without_ties(rng, shape)
    _check(tf, record, kind, getattr(keras.layers, kind)(keepdims=keepdims), x, rng)


def test_global_max_pooling_shares_the_gradient_between_ties(tf, keras, record):
    """Rule: Keras's GlobalMaxPooling2D is reduce_max, whose gradient is split equally between
    tied maxima (unlike MaxPooling2D's first-maximum rule)."""
    rng = np.random.default_rng(27)
    x = rng.integers(0, 3, size=(2, 4, 5, 3)).astype(np.float32)  # many ties at the maximum
    _check(tf, record, "GlobalMaxPooling2D.ties", keras.layers.GlobalMaxPooling2D(), x, rng)


# ----------------------------------------------------------- padding and reshaping
@pytest.mark.parametrize("padding", [1, (2, 0), ((0, 1), (2, 3))])
def test_zero_padding2d(tf, keras, record, padding):
    rng = np.random.default_rng(28)
    x = rng.standard_normal((2, 5, 4, 3)).astype(np.float32)
    _check(tf, record, "ZeroPadding2D", keras.layers.ZeroPadding2D(padding), x, rng)


@pytest.mark.parametrize("target_shape", [(-1,), (6, -1), (2, 3, 10)])
def test_reshape(tf, keras, record, target_shape):
    rng = np.random.default_rng(29)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    _check(tf, record, "Reshape", keras.layers.Reshape(target_shape), x, rng)


# ------------------------------------------------------------------------ ReLUs
@pytest.mark.parametrize("max_value,negative_slope,threshold", [
    (None, 0.0, 0.0), (6.0, 0.0, 0.0), (None, 0.2, 0.0), (None, 0.0, 1.0), (4.0, 0.1, 0.5),
    (6.0, 0.3, 0.0), (2.5, 0.0, 1.5),
])
def test_relu(tf, keras, record, max_value, negative_slope, threshold):
    """Rule: Keras 3's relu: ``min(x, max_value)`` above the threshold, ``negative_slope *
    (x - threshold)`` below it (inputs kept 0.05 away from every kink)."""
    rng = np.random.default_rng(30)
    x = _off_the_grid(rng, (2, 4, 5, 3))
    klayer = keras.layers.ReLU(max_value=max_value, negative_slope=negative_slope,
                               threshold=threshold)
    _check(tf, record, "ReLU", klayer, x, rng)


@pytest.mark.parametrize("negative_slope", [None, 0.1])
def test_leaky_relu(tf, keras, record, negative_slope):
    """Rule: Keras 3's LeakyReLU default slope is 0.3 (not tf.nn's 0.2)."""
    rng = np.random.default_rng(31)
    x = _off_the_grid(rng, (3, 10))
    klayer = (keras.layers.LeakyReLU() if negative_slope is None
              else keras.layers.LeakyReLU(negative_slope=negative_slope))
    layer = _check(tf, record, "LeakyReLU", klayer, x, rng)
    assert layer.negative_slope == klayer.negative_slope


@pytest.mark.parametrize("make", [
    lambda L: L.ReLU(), lambda L: L.ReLU(6.0), lambda L: L.LeakyReLU(),
    lambda L: L.ReLU(threshold=1.0), lambda L: L.ReLU(4.0, 0.1, 0.5),
    lambda L: L.GlobalMaxPooling2D(), lambda L: L.Activation("relu"),
], ids=["relu", "relu6", "leaky", "threshold", "all-options", "global-max", "activation-relu"])
def test_nan_propagates_as_in_tensorflow(keras, make):
    x = np.array([-1.0, np.nan, 3.0, 7.0, 0.25, np.nan, -4.0, 2.0], np.float32).reshape(2, 2, 2, 1)
    klayer = make(keras.layers)
    layer = layer_from_keras(klayer, input_shape=(None, 2, 2, 1))
    np.testing.assert_array_equal(layer(x).data, klayer(x).numpy())  # NaN == NaN here


# --------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize("shape,kwargs", [
    ((2, 5, 5, 3), {}),
    ((1, 4, 3, 3), {}),  # batch of one: statistics over H and W only
    ((8, 5), dict(momentum=0.9, epsilon=1e-5)),
    ((2, 3, 4, 4), dict(axis=1)),
    ((4, 3, 3, 2), dict(center=False)),
    ((4, 3, 3, 2), dict(scale=False)),
    ((4, 3, 3, 2), dict(center=False, scale=False)),
])
@pytest.mark.parametrize("training", [True, False])
def test_batch_normalization(tf, keras, record, shape, kwargs, training):
    """Rules: training normalises with the batch mean and biased variance, the gradient flowing
    through both; inference uses the moving statistics; epsilon 1e-3 by default; weights gamma,
    beta, moving_mean, moving_variance in that order."""
    rng = np.random.default_rng(32)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    klayer = keras.layers.BatchNormalization(**kwargs)
    layer = _check(tf, record, f"BatchNormalization.{'train' if training else 'infer'}", klayer,
                   x, rng, training)
    assert layer.weight_names() == [w.path.split("/")[-1] for w in klayer.weights]
    # the moving statistics moved the same way (training) or not at all (inference)
    for mine, theirs in zip(layer.get_weights(), klayer.get_weights()):
        compare(record, "BatchNormalization.moving_after_one_step", mine, theirs, STEP_TOL)


def test_batch_normalization_several_training_steps_then_inference(tf, keras, record):
    """Rule: moving = moving * momentum + batch * (1 - momentum), with the BIASED batch variance
    (tf.nn.moments), at every training call. Five SGD steps of gamma and beta on both sides, then
    inference with the moving statistics; momentum 0.5 so the statistics really move."""
    rng = np.random.default_rng(33)
    klayer = keras.layers.BatchNormalization(momentum=0.5)
    klayer.build((None, 4, 4, 3))
    _randomize(klayer, rng)
    layer = layer_from_keras(klayer, input_shape=(None, 4, 4, 3))
    for step in range(5):
        x = (rng.standard_normal((3, 4, 4, 3)) * (step + 1) + step).astype(np.float32)
        R = rng.standard_normal(x.shape).astype(np.float32)
        y_t, grads_t = run_keras(tf, [klayer], x, R, training=True)
        y_m, grads_m = run_minicnn([layer], x, R, training=True)
        compare(record, "BatchNormalization.steps.forward", y_m, y_t, FORWARD_TOL, f"step {step}")
        for name, gm, gt in zip(("input", "gamma", "beta"), grads_m, grads_t):
            compare(record, f"BatchNormalization.steps.grad_{name}", gm, gt, GRAD_TOL,
                    f"step {step}")
        for param, g, kvar in zip((layer.gamma, layer.beta), grads_m[1:3], klayer.weights[:2]):
            param.data -= np.float32(0.1) * g
            kvar.assign(param.data)  # the same SGD step on both sides
        for mine, theirs in zip(layer.get_weights(), klayer.get_weights()):
            compare(record, "BatchNormalization.steps.moving", mine, theirs, STEP_TOL,
                    f"step {step}")
    # the unbiased variance would have given another moving variance: the rule is pinned
    x = rng.standard_normal((3, 4, 4, 3)).astype(np.float32)
    R = rng.standard_normal(x.shape).astype(np.float32)
    y_t, grads_t = run_keras(tf, [klayer], x, R, training=False)
    y_m, grads_m = run_minicnn([layer], x, R, training=False)
    compare(record, "BatchNormalization.after_training.forward", y_m, y_t, FORWARD_TOL)
    for name, gm, gt in zip(("input", "gamma", "beta"), grads_m, grads_t):
        compare(record, f"BatchNormalization.after_training.grad_{name}", gm, gt, GRAD_TOL)


def test_batch_normalization_frozen_runs_in_inference_mode(tf, keras, record):
    """Rule (Keras 3, the fine-tuning rule): a BatchNormalization with trainable=False uses its
    moving statistics and leaves them alone even when called with training=True."""
    rng = np.random.default_rng(34)
    klayer = keras.layers.BatchNormalization()
    klayer.build((None, 5, 5, 2))
    _randomize(klayer, rng)
    klayer.trainable = False
    layer = layer_from_keras(klayer, input_shape=(None, 5, 5, 2))
    assert not layer.trainable and layer.trainable_weights == []
    before = layer.get_weights()
    x = (rng.standard_normal((2, 5, 5, 2)) * 3 + 2).astype(np.float32)
    R = rng.standard_normal(x.shape).astype(np.float32)
    y_t, grads_t = run_keras(tf, [klayer], x, R, training=True)
    y_m, grads_m = run_minicnn([layer], x, R, training=True)
    compare(record, "BatchNormalization.frozen.forward", y_m, y_t, FORWARD_TOL)
    compare(record, "BatchNormalization.frozen.grad_input", grads_m[0], grads_t[0], GRAD_TOL)
    for mine, old, theirs in zip(layer.get_weights(), before, klayer.get_weights()):
        np.testing.assert_array_equal(mine, old)
        np.testing.assert_array_equal(theirs, old)


def test_sequential_with_batch_norm_trains_in_step_with_keras(keras, record):
    """Three SGD train_on_batch steps of a small Conv2D + BN + SeparableConv2D + global pooling
    network: loss, weights and BN statistics stay within 1e-4 of Keras's (float32)."""
    keras.utils.set_random_seed(1)
    L = keras.layers
    kmodel = keras.Sequential([
        keras.Input((8, 8, 3)), L.Conv2D(4, 3, padding="same"), L.BatchNormalization(),
        L.ReLU(6.0), L.SeparableConv2D(6, 3, strides=2, padding="same", depth_multiplier=2),
        L.BatchNormalization(momentum=0.8), L.LeakyReLU(), L.DepthwiseConv2D(3, padding="same"),
        L.GlobalAveragePooling2D(), L.Dense(1, activation="sigmoid"),
    ])
    model = from_keras(kmodel)
    kmodel.compile(optimizer=keras.optimizers.SGD(0.1), loss="binary_crossentropy")
    model.compile(optimizer=mc.optimizers.SGD(0.1), loss="binary_crossentropy")
    rng = np.random.default_rng(35)
    for step in range(3):
        x = rng.standard_normal((8, 8, 8, 3)).astype(np.float32)
        y = rng.integers(0, 2, (8, 1)).astype(np.float32)
        loss_k = float(kmodel.train_on_batch(x, y))
        loss_m = float(model.train_on_batch(x, y))
        err = record("sequential_bn.loss", rel_err(loss_m, loss_k))
        assert err <= 1e-4, f"step {step}: loss {loss_m} vs Keras {loss_k}"
        # as one vector: the conv bias before a BN has a zero gradient (BN removes it), so it
        # stays at its initial value plus rounding noise on both sides
        compare(record, "sequential_bn.weights", _all(model.get_weights()),
                _all(kmodel.get_weights()), 1e-4, f"step {step}")
        for i in (1, 4):  # each BN's moving statistics on their own
            mine, theirs = model.layers[i].get_weights(), kmodel.layers[i].get_weights()
            compare(record, "sequential_bn.moving", _all(mine[2:]), _all(theirs[2:]), 1e-4,
                    f"step {step}")
    x = rng.standard_normal((4, 8, 8, 3)).astype(np.float32)
    compare(record, "sequential_bn.predict", model.predict(x, verbose=0),
            kmodel.predict(x, verbose=0), FORWARD_TOL)


def test_to_keras_and_back_keeps_layers_weights_and_predictions(keras, record):
    """A minicnn Sequential of the new layers, trained a little (so BN statistics are not the
    initial ones), goes to Keras and back with the same names, weights and predictions."""
    mc.set_seed(3)
    model = mc.Sequential([
        mc.Input((8, 8, 3)), mc.ZeroPadding2D(1), mc.Conv2D(4, 3, dilation_rate=2),
        mc.BatchNormalization(), mc.ReLU(6.0),
        mc.SeparableConv2D(4, 3, padding="same", depth_multiplier=2),
        mc.Conv2D(4, 3, groups=2, padding="same"),
        mc.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
        mc.LeakyReLU(), mc.GlobalMaxPooling2D(keepdims=True), mc.Reshape((-1,)),
        mc.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(36)
    x = rng.standard_normal((8, 8, 8, 3)).astype(np.float32)
    model.fit(x, rng.integers(0, 2, (8, 1)).astype(np.float32), epochs=2, batch_size=4,
              verbose=0)
    kmodel = to_keras(model)
    assert [layer.name for layer in kmodel.layers] == [layer.name for layer in model.layers]
    for mine, theirs in zip(model.get_weights(), kmodel.get_weights()):
        np.testing.assert_array_equal(mine, theirs)
    compare(record, "roundtrip_modern.minicnn_vs_keras", model.predict(x, verbose=0),
            kmodel.predict(x, verbose=0), FORWARD_TOL)
    back = from_keras(kmodel)
    assert [layer.get_config() for layer in back.layers] == [
        layer.get_config() for layer in model.layers]
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
