"""Issue 15's single-input layers without TensorFlow: shapes, configs, saving, summary,
training-mode rules and Keras-style errors (their numbers against TensorFlow are in
tests/parity/test_modern_layers_parity.py)."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.models.sequential import layer_from_config


def _model():
    mc.set_seed(0)
    return mc.Sequential([
        mc.Input((9, 9, 3)),
        mc.Conv2D(4, 3, padding="same", dilation_rate=2),
        mc.BatchNormalization(momentum=0.9),
        mc.ReLU(6.0),
        mc.SeparableConv2D(6, 3, strides=2, padding="same", depth_multiplier=2),
        mc.BatchNormalization(),
        mc.LeakyReLU(0.1),
        mc.DepthwiseConv2D(3, padding="same", depth_multiplier=2),
        mc.Conv2D(6, 1, groups=3),
        mc.ZeroPadding2D(((1, 0), (0, 1))),
        mc.GlobalMaxPooling2D(keepdims=True),
        mc.Reshape((-1,)),
        mc.Dense(1, activation="sigmoid"),
    ])


def _data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, 9, 9, 3)).astype(np.float32) * 2 + 1,
            rng.integers(0, 2, (n, 1)).astype(np.float32))


def test_model_of_new_layers_trains_saves_and_loads(tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = _data()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    bn = model.layers[1]
    assert not np.allclose(bn.moving_mean.data, 0)  # training moved the statistics
    model.save(tmp_path / "m.npz")
    loaded = mc.load_model(tmp_path / "m.npz")
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)  # moving statistics included
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("layer", _model().layers, ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    again = layer_from_config({"class_name": type(layer).__name__, "config": layer.get_config()})
    assert again.get_config() == layer.get_config()


def test_summary_counts_moving_statistics_as_non_trainable():
    model = mc.Sequential([mc.Input((4, 4, 3)), mc.BatchNormalization(), mc.Flatten(),
                           mc.Dense(1)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # BN: 3 gamma + 3 beta trainable, 3 + 3 moving statistics not; Dense 48 + 1
    assert " Total params: 61 " in text
    assert " Trainable params: 55 " in text
    assert " Non-trainable params: 6 " in text


def test_batch_norm_weights_and_modes():
    bn = mc.BatchNormalization()
    x = np.array([[0.0, 1.0], [2.0, 5.0]], np.float32)
    y = bn(x, training=True).data
    np.testing.assert_allclose(y, [[-1, -1], [1, 1]], atol=1e-3)  # epsilon 1e-3 shrinks a bit
    assert bn.weight_names() == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in bn.trainable_weights] == [bn.gamma.name, bn.beta.name]
    # moving = moving * 0.99 + batch * 0.01, with the biased batch variance [1, 4]
    np.testing.assert_allclose(bn.moving_mean.data, [0.01, 0.03], rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.data, [0.99 + 0.01, 0.99 + 0.04], rtol=1e-6)
    before = bn.get_weights()
    y_inf = bn(x).data  # inference: moving statistics, nothing updated
    mean, var = before[2], before[3]
    np.testing.assert_allclose(y_inf, (x - mean) / np.sqrt(var + 1e-3), rtol=1e-6)
    for a, b in zip(bn.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_frozen_batch_norm_stays_frozen_in_fit():
    model = _model()
    for layer in model.layers:
        if isinstance(layer, mc.BatchNormalization):
            layer.trainable = False
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    frozen = [layer.get_weights() for layer in model.layers
              if isinstance(layer, mc.BatchNormalization)]
    x, y = _data()
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    after = [layer.get_weights() for layer in model.layers
             if isinstance(layer, mc.BatchNormalization)]
    for ws_a, ws_b in zip(after, frozen):
        for a, b in zip(ws_a, ws_b):
            np.testing.assert_array_equal(a, b)


def test_depthwise_channel_order_is_c_times_m_plus_m():
    layer = mc.DepthwiseConv2D(1, depth_multiplier=2, use_bias=False)
    x = np.array([1.0, 10.0], np.float32).reshape(1, 1, 1, 2)
    layer(x)
    layer.set_weights([np.array([[1.0, 2.0], [3.0, 4.0]], np.float32).reshape(1, 1, 2, 2)])
    # channel 0 through filters 0, 1, then channel 1 through filters 0, 1
    np.testing.assert_array_equal(layer(x).data.ravel(), [1.0, 2.0, 30.0, 40.0])


def test_relu_keeps_nan():
    x = np.array([[np.nan, -1.0, 8.0]], np.float32)
    np.testing.assert_array_equal(mc.ReLU()(x).data, [[np.nan, 0.0, 8.0]])
    np.testing.assert_array_equal(mc.ReLU(6.0)(x).data, [[np.nan, 0.0, 6.0]])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: mc.BatchNormalization(momentum=-1), r"Received: momentum=-1"),
        (lambda: mc.BatchNormalization(axis="x"), r"Received: axis='x'"),
        (lambda: mc.DepthwiseConv2D(3, depth_multiplier=0), r"Received: depth_multiplier=0"),
        (lambda: mc.DepthwiseConv2D(3, strides=2, dilation_rate=2), r"dilation_rate=\(2, 2\)"),
        (lambda: mc.SeparableConv2D(0, 3), r"Received: filters=0"),
        (lambda: mc.SeparableConv2D(2, 3, padding="full"), r"Received: padding='full'"),
        (lambda: mc.ZeroPadding2D((1, 2, 3)), r"Received: padding=\(1, 2, 3\)"),
        (lambda: mc.ZeroPadding2D(-1), r"Received: padding=-1"),
        (lambda: mc.ReLU(max_value=-1), r"Received: max_value=-1"),
        (lambda: mc.LeakyReLU(negative_slope=None), r"Received: negative_slope=None"),
        (lambda: mc.Reshape((-1, -1)), r"Received: target_shape=\(-1, -1\)"),
        (lambda: mc.GlobalAveragePooling2D(data_format="channels_first"), r"channels_first"),
    ],
)
def test_bad_arguments_raise_keras_style_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_inputs_name_the_layer():
    with pytest.raises(ValueError, match=r"Reshape 'r'.*total size"):
        mc.Reshape((5,), name="r")(np.zeros((1, 2, 3), np.float32))
    with pytest.raises(ValueError, match=r"DepthwiseConv2D 'd'.*does not fit"):
        mc.DepthwiseConv2D(5, name="d")(np.zeros((1, 3, 3, 1), np.float32))
    with pytest.raises(ValueError, match=r"Conv2D 'g'.*divisible by groups=2"):
        mc.Conv2D(4, 3, groups=2, name="g")(np.zeros((1, 5, 5, 3), np.float32))
    bn = mc.BatchNormalization(name="bn")
    bn(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"'bn' was built for 3 channels"):
        bn(np.zeros((2, 4), np.float32))
