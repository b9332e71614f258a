"""Layer contracts: shapes, Keras weight layouts and initialisation, config, errors."""

import numpy as np
import pytest

import minicnn as mc


def test_conv2d_builds_hwio_kernel_and_zero_bias():
    conv = mc.Conv2D(8, 3)
    y = conv(np.zeros((2, 10, 9, 3), np.float32))
    assert y.shape == (2, 8, 7, 8)
    kernel, bias = conv.get_weights()
    assert kernel.shape == (3, 3, 3, 8) and bias.shape == (8,)
    assert not bias.any()
    assert conv.weight_names() == ["kernel", "bias"]


def test_glorot_uniform_uses_receptive_field_in_both_fans():
    conv = mc.Conv2D(64, 3)
    conv(np.zeros((1, 8, 8, 32), np.float32))
    limit = np.sqrt(6.0 / (3 * 3 * 32 + 3 * 3 * 64))
    k = conv.kernel.data
    assert k.max() <= limit and k.min() >= -limit
    assert k.max() > 0.95 * limit  # fills the range: the limit is not smaller than Keras's
    assert abs(k.std() - limit / np.sqrt(3)) < 0.02 * limit


def test_set_seed_makes_initialisation_reproducible():
    mc.set_seed(3)
    a = mc.Dense(4)
    a(np.zeros((1, 5), np.float32))
    mc.set_seed(3)
    b = mc.Dense(4)
    b(np.zeros((1, 5), np.float32))
    np.testing.assert_array_equal(a.kernel.data, b.kernel.data)


@pytest.mark.parametrize(
    "layer, in_shape, out_shape",
    [
        (lambda: mc.Conv2D(4, 3, padding="same"), (2, 7, 7, 3), (2, 7, 7, 4)),
        (lambda: mc.Conv2D(4, 3, strides=2, padding="same"), (2, 7, 6, 3), (2, 4, 3, 4)),
        (lambda: mc.Conv2D(4, (3, 1), strides=(2, 1)), (1, 7, 6, 3), (1, 3, 6, 4)),
        (lambda: mc.MaxPooling2D(), (2, 7, 7, 3), (2, 3, 3, 3)),
        (lambda: mc.MaxPooling2D(2, padding="same"), (2, 7, 7, 3), (2, 4, 4, 3)),
        (lambda: mc.AveragePooling2D(3, strides=1), (1, 5, 5, 2), (1, 3, 3, 2)),
        (lambda: mc.Flatten(), (2, 3, 4, 5), (2, 60)),
        (lambda: mc.Dense(7), (3, 5), (3, 7)),
        (lambda: mc.Dense(7), (3, 2, 5), (3, 2, 7)),
    ],
)
def test_output_shapes_match_compute_output_shape(layer, in_shape, out_shape):
    lay = layer()
    y = lay(np.random.default_rng(0).standard_normal(in_shape).astype(np.float32))
    assert y.shape == out_shape
    assert lay.compute_output_shape((None,) + in_shape[1:]) == (None,) + out_shape[1:]


def test_same_padding_puts_odd_pixel_bottom_right():
    # 4x4 input of ones, 2x2 kernel of ones, 'same' stride 1: total pad 1, all of it after.
    x = np.ones((1, 4, 4, 1), np.float32)
    conv = mc.Conv2D(1, 2, padding="same", use_bias=False)
    conv(x)
    conv.set_weights([np.ones((2, 2, 1, 1), np.float32)])
    y = conv(x).data[0, :, :, 0]
    assert y[0, 0] == 4 and y[3, 3] == 1 and y[0, 3] == 2 and y[3, 0] == 2


def test_flatten_keeps_nhwc_order():
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3)
    np.testing.assert_array_equal(mc.Flatten()(x).data[0], np.arange(12))


def test_dropout_inverted_and_only_when_training():
    x = np.ones((200, 50), np.float32)
    layer = mc.Dropout(0.5)
    np.testing.assert_array_equal(layer(x).data, x)
    y = layer(x, training=True).data
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert abs((y == 0).mean() - 0.5) < 0.03


def test_dropout_seeded_by_set_seed():
    x = np.ones((4, 8), np.float32)
    mc.set_seed(5)
    a = mc.Dropout(0.3)(x, training=True).data
    mc.set_seed(5)
    b = mc.Dropout(0.3)(x, training=True).data
    np.testing.assert_array_equal(a, b)


def test_layer_names_are_keras_style_and_unique():
    names = [mc.Conv2D(1, 1).name, mc.Conv2D(1, 1).name, mc.MaxPool2D().name, mc.Dense(1).name]
    assert names == ["conv2d", "conv2d_1", "max_pooling2d", "dense"]
    assert mc.MaxPool2D is mc.MaxPooling2D and mc.AvgPool2D is mc.AveragePooling2D


def test_get_config_round_trips():
    conv = mc.Conv2D(5, (3, 2), strides=2, padding="same", activation="relu", use_bias=False)
    clone = mc.Conv2D.from_config(conv.get_config())
    assert clone.get_config() == conv.get_config()
    dense = mc.Dense(3, activation="sigmoid")
    assert mc.Dense.from_config(dense.get_config()).get_config() == dense.get_config()


def test_set_weights_checks_count_and_shape():
    dense = mc.Dense(3, name="head")
    dense(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match=r"'head' expects 2 weight arrays .* Received: 1"):
        dense.set_weights([np.zeros((4, 3))])
    with pytest.raises(ValueError, match=r"head/kernel.*\(4, 3\).*\(5, 3\)"):
        dense.set_weights([np.zeros((5, 3)), np.zeros(3)])


def test_set_weights_before_build_is_an_error():
    with pytest.raises(ValueError, match="not built"):
        mc.Dense(3).set_weights([])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: mc.Conv2D(4, 3, padding="foo"), r"Received: padding='foo'"),
        (lambda: mc.Conv2D(0, 3), r"Received: filters=0"),
        (lambda: mc.Conv2D(4, (3, 3, 3)), r"Received: kernel_size=\(3, 3, 3\)"),
        (lambda: mc.Conv2D(4, 3, strides=0), r"Received: strides=0"),
        (lambda: mc.Conv2D(4, 3, strides=2, dilation_rate=2), r"dilation_rate=\(2, 2\)"),
        (lambda: mc.Conv2D(4, 3, groups=3), r"groups=3"),
        (lambda: mc.Conv2D(4, 3, data_format="channels_first"), r"channels_first"),
        (lambda: mc.MaxPooling2D(0), r"Received: pool_size=0"),
        (lambda: mc.AveragePooling2D(2, padding="full"), r"Received: padding='full'"),
        (lambda: mc.Dense(-1), r"Received: units=-1"),
        (lambda: mc.Dropout(1.5), r"Received: rate=1.5"),
        (lambda: mc.Activation("swishy"), r"Received: 'swishy'"),
        (lambda: mc.Input((0, 3)), r"Received: shape=\(0, 3\)"),
        (lambda: mc.Dense(3, bogus=1), r"bogus"),
    ],
)
def test_bad_arguments_raise_keras_style_errors(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_window_that_does_not_fit_names_the_layer():
    conv = mc.Conv2D(2, 5, name="c1")
    with pytest.raises(ValueError, match=r"'c1'.*does not fit an input of size 3"):
        conv(np.zeros((1, 3, 3, 1), np.float32))


def test_conv_on_wrong_rank_input_is_named():
    with pytest.raises(ValueError, match="Conv2D 'conv2d' expects inputs of shape"):
        mc.Conv2D(2, 3)(np.zeros((3, 3), np.float32))


def test_first_layer_input_gradient_is_not_computed():
    conv = mc.Conv2D(2, 3)
    x = mc.Tensor(np.ones((1, 5, 5, 1), np.float32))  # no requires_grad: nothing needs dx
    y = conv(x)
    ctx = y._ctx
    assert ctx.needs_input_grad == (False, True, True)
    y.sum().backward()
    assert conv.kernel.grad is not None and x.grad is None


def test_input_layer_shape():
    inp = mc.Input((28, 28, 1))
    assert inp.shape == (None, 28, 28, 1)


def test_rescaling_scales_and_offsets_and_round_trips_config():
    layer = mc.Rescaling(1 / 127.5, offset=-1)
    np.testing.assert_allclose(layer(np.array([[0.0, 255.0]], np.float32)).data, [[-1.0, 1.0]])
    assert mc.Rescaling.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="Received: scale='x'"):
        mc.Rescaling("x")


def test_build_then_set_weights_like_keras():
    dense = mc.Dense(2)
    dense.build((None, 3))
    assert dense.built and dense.input_shape == (None, 3) and dense.output_shape == (None, 2)
    dense.set_weights([np.ones((3, 2)), np.zeros(2)])
    np.testing.assert_allclose(dense(np.ones((1, 3), np.float32)).data, [[3.0, 3.0]])


def test_dense_names_feature_mismatch():
    dense = mc.Dense(2, name="head")
    dense(np.ones((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"'head' was built for inputs with 3 features.*\(1, 4\)"):
        dense(np.ones((1, 4), np.float32))
