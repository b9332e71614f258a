"""Float64 gradient checks for issue 15's ops and layers, one table row each: batch norm
(through the batch statistics), depthwise and dilated/grouped convolution, global pooling, zero
padding and Keras's general ReLU."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.ops.depthwise import depthwise_conv2d
from minicnn.ops.dilated import dilated_conv2d
from minicnn.ops.global_pooling import global_avg_pool2d, global_max_pool2d
from minicnn.ops.normalization import batch_norm, moments
from minicnn.ops.padding import zero_pad2d
from minicnn.ops.relu import general_relu
from tests.gradcheck import check_gradients

R = np.random.default_rng(15)


def any_(*shape):
    return R.standard_normal(shape)


def distinct(*shape):
    # well-separated values: no ties within eps for max, no kinks of the ReLUs within eps
    n = int(np.prod(shape))
    return (R.permutation(np.arange(n, dtype=np.float64)) - n / 2 + 0.5).reshape(shape) * 0.1


def bn_train(axis):
    def fn(x, gamma, beta):
        return batch_norm(x, gamma, beta, *moments(x.data, axis), epsilon=1e-3, axis=axis,
                          batch_stats=True)
    return fn


def bn_infer(x, gamma, beta):
    mean, var = np.array([0.3, -0.2, 0.1]), np.array([0.5, 2.0, 1.2])
    return batch_norm(x, gamma, beta, mean, var, epsilon=1e-3, batch_stats=False)


CASES = [
    ("batch_norm_train_nhwc", bn_train(-1), [any_(2, 3, 3, 3), any_(3), any_(3)]),
    ("batch_norm_train_2d", bn_train(-1), [any_(5, 3), any_(3), any_(3)]),
    ("batch_norm_train_axis1", bn_train(1), [any_(2, 3, 2, 2), any_(3), any_(3)]),
    ("batch_norm_batch_of_1", bn_train(-1), [any_(1, 3, 2, 3), any_(3), any_(3)]),
    ("batch_norm_inference", bn_infer, [any_(2, 2, 2, 3), any_(3), any_(3)]),
    ("depthwise_valid", lambda x, w, b: depthwise_conv2d(x, w, b),
     [any_(2, 5, 5, 2), any_(3, 3, 2, 1), any_(2)]),
    ("depthwise_same_s2_m2", lambda x, w, b: depthwise_conv2d(x, w, b, (2, 2), "same"),
     [any_(1, 7, 6, 3), any_(3, 3, 3, 2), any_(6)]),
    ("depthwise_even_kernel_same", lambda x, w: depthwise_conv2d(x, w, None, (1, 1), "same"),
     [any_(2, 4, 5, 2), any_(2, 4, 2, 2)]),
    ("depthwise_dilated", lambda x, w: depthwise_conv2d(x, w, None, (1, 1), "same", (2, 2)),
     [any_(1, 6, 6, 2), any_(3, 3, 2, 2)]),
    ("depthwise_stride_gt_kernel", lambda x, w: depthwise_conv2d(x, w, None, (3, 2), "valid"),
     [any_(1, 7, 5, 1), any_(2, 1, 1, 3)]),
    ("conv_dilated_same", lambda x, w, b: dilated_conv2d(x, w, b, (1, 1), "same", (2, 3)),
     [any_(1, 6, 7, 2), any_(3, 2, 2, 3), any_(3)]),
    ("conv_dilated_valid", lambda x, w: dilated_conv2d(x, w, None, (1, 1), "valid", (2, 2)),
     [any_(2, 6, 6, 1), any_(2, 2, 1, 2)]),
    ("conv_grouped", lambda x, w, b: dilated_conv2d(x, w, b, (2, 2), "same", (1, 1), 2),
     [any_(1, 5, 5, 4), any_(3, 3, 2, 4), any_(4)]),
    ("conv_grouped_dilated", lambda x, w: dilated_conv2d(x, w, None, (1, 1), "same", (2, 2), 3),
     [any_(1, 5, 5, 3), any_(2, 2, 1, 6)]),
    ("global_avg_pool", lambda x: global_avg_pool2d(x), [any_(2, 3, 4, 2)]),
    ("global_avg_pool_keepdims", lambda x: global_avg_pool2d(x, True), [any_(1, 3, 3, 2)]),
    ("global_max_pool", lambda x: global_max_pool2d(x), [distinct(2, 3, 4, 2)]),
    ("global_max_pool_keepdims", lambda x: global_max_pool2d(x, True), [distinct(1, 3, 3, 2)]),
    ("zero_pad", lambda x: zero_pad2d(x, ((1, 2), (0, 3))), [any_(2, 3, 2, 2)]),
    ("relu", lambda x: general_relu(x), [distinct(3, 4)]),
    ("relu6", lambda x: general_relu(x, max_value=0.42), [distinct(3, 4)]),
    ("leaky_relu", lambda x: general_relu(x, negative_slope=0.3), [distinct(3, 4)]),
    ("relu_all_options", lambda x: general_relu(x, 0.43, 0.2, 0.12), [distinct(3, 4)]),
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_op_gradient(name, fn, inputs):
    check_gradients(fn, *inputs, max_full=200)


def test_depthwise_direction_check_on_a_larger_case():
    x, w, b = any_(2, 12, 12, 8), any_(3, 3, 8, 2), any_(16)
    check_gradients(lambda x, w, b: depthwise_conv2d(x, w, b, (2, 2), "same"), x, w, b,
                    max_full=0)


def _with_weights(layer, names, tensors):
    """Point the layer's weight attributes (what ``call`` reads) at ``tensors``."""
    for name, tensor in zip(names, tensors):
        setattr(layer, name, tensor)


@pytest.mark.parametrize(
    "make_layer, shape, names",
    [
        (lambda: mc.BatchNormalization(), (3, 2, 2, 3), ("gamma", "beta")),
        (lambda: mc.BatchNormalization(center=False, scale=False), (4, 3), ()),
        (lambda: mc.BatchNormalization(center=False), (4, 3), ("gamma",)),
        (lambda: mc.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="tanh"),
         (1, 5, 5, 2), ("depthwise_kernel", "bias")),
        (lambda: mc.SeparableConv2D(3, 3, strides=2, padding="same", depth_multiplier=2),
         (2, 5, 5, 2), ("depthwise_kernel", "pointwise_kernel", "bias")),
        (lambda: mc.SeparableConv2D(2, 2, activation="relu", use_bias=False),
         (1, 4, 4, 2), ("depthwise_kernel", "pointwise_kernel")),
        (lambda: mc.Conv2D(2, 3, dilation_rate=2, padding="same", activation="relu"),
         (1, 6, 6, 2), ("kernel", "bias")),
        (lambda: mc.Conv2D(4, 3, groups=2), (1, 5, 5, 4), ("kernel", "bias")),
        (lambda: mc.GlobalAveragePooling2D(), (2, 3, 3, 2), ()),
        (lambda: mc.GlobalMaxPooling2D(), (2, 3, 3, 2), ()),
        (lambda: mc.ZeroPadding2D((1, 2)), (1, 2, 2, 2), ()),
        (lambda: mc.ReLU(0.43, 0.1, 0.12), (2, 6), ()),
        (lambda: mc.LeakyReLU(), (2, 6), ()),
        (lambda: mc.Reshape((-1, 2)), (2, 2, 2, 2), ()),
    ],
)
def test_layer_gradients_wrt_input_and_weights(make_layer, shape, names):
    layer = make_layer()
    x = distinct(*shape)
    layer(x)  # build
    originals = [getattr(layer, n) for n in names]
    weights = [w.data.astype(np.float64) for w in originals]
    if isinstance(layer, mc.BatchNormalization):
        moving = [w.data.copy() for w in (layer.moving_mean, layer.moving_variance)]

    def fn(x, *ws):
        _with_weights(layer, names, ws)
        try:
            return layer(x, training=True)
        finally:
            _with_weights(layer, names, originals)

    check_gradients(fn, x, *weights, max_full=150)
    if isinstance(layer, mc.BatchNormalization):  # training calls moved the statistics
        assert not np.allclose(layer.moving_mean.data, moving[0])
