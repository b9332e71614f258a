"""Per-layer parity: each Keras layer, converted with ``layer_from_keras``, computes the same
forward values (<= 1e-5 relative) and the same gradients of sum(y * R) with respect to the input
and every weight (<= 1e-4 relative) as TensorFlow's GradientTape."""

from __future__ import annotations

import numpy as np
import pytest
from parity_tools import FORWARD_TOL, GRAD_TOL, compare, run_keras, run_minicnn

from minicnn.keras_compat import layer_from_keras
from tests.layer_grids import CONV_GRID, POOL_GRID, conv_case_id


def _randomize(keras_layer, rng):
    """Non-trivial weights, bias included (Keras initialises biases to zero)."""
    keras_layer.set_weights(
        [rng.standard_normal(w.shape).astype(np.float32) * (0.5 if w.ndim > 1 else 0.1)
         for w in keras_layer.get_weights()]
    )


def _relu_margin(layer, x) -> float:
    """min |z| / max |z| over a relu layer's pre-activations z, in float64 (inf for others).

    Its float32 inputs to the ReLU differ between the libraries by ~1e-7 relative; a margin far
    above that means no ReLU can go one way in TensorFlow and the other in minicnn, so the
    gradient comparison cannot depend on the CPU's rounding."""
    from minicnn import activations
    from minicnn.tensor import Tensor

    if getattr(layer, "activation", None) is not activations.relu:
        return float("inf")
    weights = [w.data for w in layer.weights]
    try:
        for w in layer.weights:
            w.data = w.data.astype(np.float64)
        layer.activation = activations.linear
        z = layer(Tensor(x.astype(np.float64))).data
    finally:
        layer.activation = activations.relu
        for w, data in zip(layer.weights, weights):
            w.data = data
    return float(np.abs(z).min() / np.abs(z).max())


def _check_layer(tf, record, kind, keras_layer, x, rng, training=False):
    keras_layer.build(x.shape)
    _randomize(keras_layer, rng)
    layer = layer_from_keras(keras_layer, input_shape=(None,) + x.shape[1:])
    assert _relu_margin(layer, x) > 1e-5, "a ReLU input within rounding of 0: change the data"
    y_k = keras_layer(x)
    R = rng.standard_normal(y_k.shape).astype(np.float32)
    y_t, grads_t = run_keras(tf, [keras_layer], x, R, training)
    names = ["input"] + [w.name.split("/")[-1] for w in layer.weights]
    from minicnn.ops import route

    fast = route.FAST
    try:
        for route.FAST in (fast, False):  # the default path, then the plain ops
            y_m, grads_m = run_minicnn([layer], x, R, training)
            detail = "fast" if route.FAST else "plain"
            compare(record, f"{kind}.forward", y_m, y_t, FORWARD_TOL, detail=detail)
            for name, gm, gt in zip(names, grads_m, grads_t):
                compare(record, f"{kind}.grad_{name}", gm, gt, GRAD_TOL, detail=detail)
    finally:
        route.FAST = fast
    return layer


@pytest.mark.parametrize("case", CONV_GRID, ids=conv_case_id)
def test_conv2d(tf, keras, record, monkeypatch, case):
    from minicnn.ops import route

    if route.FAST:  # (with MINICNN_FAST=0 every case runs the plain im2col convolution)
        from minicnn.fast import routes

        monkeypatch.setattr(routes, "WINOGRAD", True if case.get("winograd") else False)
    rng = np.random.default_rng(0)
    cin, cout = case["channels"]
    x = rng.standard_normal((2, *case["size"], cin)).astype(np.float32)
    layer = keras.layers.Conv2D(cout, case["kernel_size"], strides=case["strides"],
                                padding=case["padding"])
    _check_layer(tf, record, "Conv2D", layer, x, rng)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv2d_activation_and_bias(tf, keras, record, activation, use_bias):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 7, 3)).astype(np.float32)
    layer = keras.layers.Conv2D(4, 3, padding="same", activation=activation, use_bias=use_bias)
    _check_layer(tf, record, "Conv2D", layer, x, rng)


@pytest.mark.parametrize("kind", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("pool,strides,padding,size", POOL_GRID)
def test_pooling(tf, keras, record, kind, pool, strides, padding, size):
    rng = np.random.default_rng(2)
    channels = 1 if pool == 3 and strides == 1 else 3
    x = rng.standard_normal((2, *size, channels)).astype(np.float32)
    layer = getattr(keras.layers, kind)(pool, strides=strides, padding=padding)
    _check_layer(tf, record, kind, layer, x, rng)


@pytest.mark.parametrize("pool,strides,padding", [
    (2, None, "valid"), (2, 1, "valid"), (3, 1, "same"), (3, 2, "same"), (2, None, "same"),
])
def test_max_pool_gradient_on_ties(tf, keras, record, pool, strides, padding):
    """Rule: on ties the whole gradient goes to the FIRST maximum of the window in raster
    order (row by row, left to right), as TF's CPU MaxPoolGrad; never split between ties."""
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(2, 7, 8, 3)).astype(np.float32)  # about half of all are ties
    layer = keras.layers.MaxPooling2D(pool, strides=strides, padding=padding)
    mine = _check_layer(tf, record, "MaxPooling2D.ties", layer, x, rng)
    # exact, not merely close: every gradient entry is a sum of the same R values
    R = rng.standard_normal(mine.compute_output_shape(x.shape)).astype(np.float32)
    _, (g_t,) = run_keras(tf, [layer], x, R)
    _, (g_m,) = run_minicnn([mine], x, R)
    np.testing.assert_array_equal(g_m != 0, g_t != 0)


@pytest.mark.parametrize("units,features,activation", [
    (1, 5, "sigmoid"), (7, 12, "relu"), (3, 4, "softmax"), (4, 3, "tanh"), (6, 9, None),
])
def test_dense(tf, keras, record, units, features, activation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, features)).astype(np.float32)
    layer = keras.layers.Dense(units, activation=activation)
    _check_layer(tf, record, "Dense", layer, x, rng)


def test_dense_without_bias(tf, keras, record):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 8)).astype(np.float32)
    _check_layer(tf, record, "Dense", keras.layers.Dense(4, use_bias=False), x, rng)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "linear"])
def test_activation(tf, keras, record, activation):
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((3, 4, 5, 6)) * 6).astype(np.float32)  # reaches saturation
    _check_layer(tf, record, "Activation", keras.layers.Activation(activation), x, rng)


def test_flatten_order_is_nhwc(tf, keras, record):
    """Rule: Flatten of NHWC keeps (h, w, c) order, so Dense kernels move with no reordering."""
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    rng = np.random.default_rng(7)
    layer = _check_layer(tf, record, "Flatten", keras.layers.Flatten(), x, rng)
    np.testing.assert_array_equal(layer(x).data, keras.layers.Flatten()(x).numpy())


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_dropout_inference_is_identity(tf, keras, record, rate):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 10)).astype(np.float32)
    _check_layer(tf, record, "Dropout", keras.layers.Dropout(rate), x, rng)


def test_dropout_rate_zero_in_training_is_identity(tf, keras, record):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 10)).astype(np.float32)
    _check_layer(tf, record, "Dropout", keras.layers.Dropout(0.0), x, rng, training=True)


@pytest.mark.parametrize("scale,offset", [(1 / 255, 0.0), (2.0, -1.0)])
def test_rescaling(tf, keras, record, scale, offset):
    rng = np.random.default_rng(10)
    x = rng.uniform(0, 255, (2, 5, 6, 3)).astype(np.float32)
    _check_layer(tf, record, "Rescaling", keras.layers.Rescaling(scale, offset), x, rng)
