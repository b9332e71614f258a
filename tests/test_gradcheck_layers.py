"""Float64 gradient checks for convolution, pooling, dropout and every layer."""

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from tests.gradcheck import check_gradients
from tests.paths import use_path


@pytest.fixture(autouse=True, params=["fast", "plain"])
def path(request, monkeypatch):
    """Every check on both paths: the default fast routes and the plain ops (MINICNN_FAST=0)."""
    use_path(request.param, monkeypatch)
    return request.param

CONV_CASES = [
    # (N, H, W, C), (KH, KW, F), strides, padding
    ((2, 5, 5, 2), (3, 3, 3), (1, 1), "valid"),
    ((2, 5, 5, 2), (3, 3, 3), (1, 1), "same"),
    ((1, 7, 6, 3), (3, 2, 2), (2, 2), "valid"),
    ((1, 7, 6, 3), (3, 3, 2), (2, 2), "same"),
    ((2, 6, 6, 1), (4, 4, 2), (2, 1), "same"),
    ((1, 4, 4, 2), (4, 4, 3), (1, 1), "valid"),  # kernel = input
    ((2, 3, 4, 3), (1, 1, 2), (1, 1), "valid"),  # 1x1
    ((1, 5, 7, 2), (1, 1, 2), (2, 2), "same"),  # 1x1 strided
    ((1, 5, 5, 1), (2, 2, 1), (3, 3), "valid"),  # stride > kernel
]


@pytest.mark.parametrize("xs, ks, strides, padding", CONV_CASES)
def test_conv2d_gradients(xs, ks, strides, padding):
    rng = np.random.default_rng(sum(xs) + sum(ks))
    x = rng.standard_normal(xs)
    w = rng.standard_normal((ks[0], ks[1], xs[3], ks[2]))
    b = rng.standard_normal(ks[2])
    check_gradients(lambda x, w, b: F.conv2d(x, w, b, strides, padding), x, w, b, max_full=200)


def test_conv2d_gradients_direction_check_on_a_larger_case():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 12, 12, 4))
    w = rng.standard_normal((3, 3, 4, 6))
    check_gradients(lambda x, w: F.conv2d(x, w, None, (2, 2), "same"), x, w, max_full=0)


POOL_CASES = [
    ((2, 4, 4, 2), (2, 2), None, "valid"),
    ((1, 5, 5, 2), (2, 2), None, "valid"),
    ((1, 5, 5, 2), (2, 2), None, "same"),
    ((1, 7, 6, 1), (3, 3), (2, 2), "valid"),
    ((2, 7, 6, 1), (3, 3), (2, 2), "same"),
    ((1, 6, 6, 3), (3, 3), (1, 1), "same"),
    ((1, 3, 3, 1), (3, 3), None, "valid"),  # pool = input
]


def _distinct(shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return rng.permutation(np.arange(n, dtype=np.float64)).reshape(shape) * 0.1  # no ties


@pytest.mark.parametrize("xs, pool, strides, padding", POOL_CASES)
def test_max_pool_gradients(xs, pool, strides, padding):
    check_gradients(lambda x: F.max_pool2d(x, pool, strides, padding), _distinct(xs, 1))


@pytest.mark.parametrize("xs, pool, strides, padding", POOL_CASES)
def test_avg_pool_gradients(xs, pool, strides, padding):
    x = np.random.default_rng(2).standard_normal(xs)
    check_gradients(lambda x: F.avg_pool2d(x, pool, strides, padding), x)


def test_dropout_gradient_uses_the_same_mask():
    x = np.random.default_rng(0).standard_normal((3, 4))
    rng_state = 99

    def fn(t):
        return F.dropout(t, 0.5, True, np.random.default_rng(rng_state))

    check_gradients(fn, x)


def _use_params(layer, tensors):
    """Point the layer's kernel/bias attributes (what ``call`` reads) at the given tensors."""
    names = [n for n in ("kernel", "bias") if getattr(layer, n, None) is not None]
    for name, tensor in zip(names, tensors):
        setattr(layer, name, tensor)


@pytest.mark.parametrize(
    "make_layer, shape",
    [
        (lambda: mc.Conv2D(3, 3, padding="same", activation="relu"), (2, 5, 5, 2)),
        (lambda: mc.Conv2D(2, (2, 3), strides=2, activation="tanh"), (1, 6, 7, 2)),
        (lambda: mc.MaxPooling2D(2), (1, 4, 4, 2)),
        (lambda: mc.AveragePooling2D(3, strides=2, padding="same"), (1, 5, 5, 1)),
        (lambda: mc.Flatten(), (2, 3, 2, 2)),
        (lambda: mc.Dense(3, activation="sigmoid"), (4, 5)),
        (lambda: mc.Dense(3, activation="relu"), (4, 5)),
        (lambda: mc.Dense(2, activation="relu", use_bias=False), (3, 4)),
        (lambda: mc.Conv2D(2, 2, activation="relu", use_bias=False), (1, 4, 4, 2)),
        (lambda: mc.Dense(3, activation="softmax"), (4, 5)),
        (lambda: mc.Activation("tanh"), (2, 3)),
    ],
)
def test_layer_gradients_wrt_input_and_weights(make_layer, shape):
    layer = make_layer()
    x = _distinct(shape, 5) - 1.0
    layer(x)  # build
    originals = layer.weights
    weights = [w.data.astype(np.float64) for w in originals]

    def fn(x, *ws):
        _use_params(layer, ws)
        try:
            return layer(x)
        finally:
            _use_params(layer, originals)

    check_gradients(fn, x, *weights, max_full=150)
