"""minicnn.explain.grad_cam against the same Grad-CAM written with TensorFlow's GradientTape on
the same weights (the recipe of keras.io's Grad-CAM example: a model returning the layer's
output and the prediction, the gradient of the class score with respect to the first).

Both sides run in float64: a map is a ReLU of a weighted sum, and its gradient runs back
through ReLUs and max-pools, so a float32 near-tie that the two libraries round differently
would move a whole map entry; in float64 no such tie is within reach of the rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.explain import grad_cam
from minicnn.keras_compat import to_keras

TOL = 1e-4  # maps are in [0, 1]; float64 on both sides agrees to ~1e-12


def _model(units: int) -> mc.Sequential:
    """Rescaling, a Conv2D(relu)+MaxPooling2D pair (which Sequential fuses), a "same"
    convolution, average pooling and a dense head: one sigmoid unit or a softmax."""
    mc.set_seed(7)
    model = mc.Sequential([
        mc.Input((20, 20, 3)),
        mc.Rescaling(1 / 255),
        mc.Conv2D(6, 3, activation="relu", name="c1"),
        mc.MaxPooling2D(2, name="p1"),
        mc.Conv2D(8, 3, padding="same", activation="relu", name="c2"),
        mc.AveragePooling2D(2),
        mc.Flatten(),
        mc.Dense(units, activation="sigmoid" if units == 1 else "softmax", name="head"),
    ])
    rng = np.random.default_rng(units)
    for layer in model.layers:  # small random biases: zero biases would hide bugs
        if getattr(layer, "bias", None) is not None:
            layer.bias.data = rng.normal(0, 0.05, layer.bias.shape).astype(np.float32)
    for w in model.weights:
        w.data = w.data.astype(np.float64)
    return model


def _keras64(keras, model):
    keras.config.set_dtype_policy("float64")
    try:
        kmodel = to_keras(model)
    finally:
        keras.config.set_dtype_policy("float32")
    kmodel.set_weights([w.astype(np.float64) for w in model.get_weights()])
    return kmodel


def _keras_grad_cam(tf, keras, kmodel, x, index):
    probe = keras.Model(kmodel.inputs, [kmodel.layers[index].output, kmodel.outputs[0]])
    with tf.GradientTape() as tape:
        maps, y = probe([x], training=False)
        if y.shape[1] == 1:
            score = tf.where(y[:, 0] >= 0.5, y[:, 0], -y[:, 0])
        else:
            score = tf.gather(y, tf.argmax(y, axis=1), batch_dims=1)
    grads = tape.gradient(score, maps)
    alpha = tf.reduce_mean(grads, axis=(1, 2))
    cam = tf.nn.relu(tf.einsum("nhwk,nk->nhw", maps, alpha)).numpy()
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0.0), y.numpy()


def _x(seed=0, n=6):
    return np.random.default_rng(seed).uniform(0, 255, (n, 20, 20, 3))


def _split_sigmoid(model, x):
    """Shift the sigmoid's bias so that half the images are above 0.5 and half below: both
    branches of the score rule (p, and -p for class 0) are then always exercised."""
    p = model(mc.Tensor(x)).data[:, 0]
    logits = np.log(p / (1 - p))
    model.get_layer("head").bias.data -= np.median(logits)


@pytest.mark.parametrize("units", [1, 3])
@pytest.mark.parametrize("layer", [None, "c1", "p1"])
def test_grad_cam_matches_tensorflow(tf, keras, record, units, layer):
    model = _model(units)
    x = _x()
    if units == 1:
        _split_sigmoid(model, x)
    kmodel = _keras64(keras, model)
    names = [lay.name for lay in model.layers]
    index = names.index(layer or "c2")
    theirs, y = _keras_grad_cam(tf, keras, kmodel, x, index)
    if units == 1:
        assert 0 < (y[:, 0] >= 0.5).sum() < len(y)  # both classes explained
    mine = grad_cam(model, mc.Tensor(x), layer=layer)
    assert mine.dtype == np.float64 and mine.shape == theirs.shape
    assert theirs.max() > 0  # something to compare
    err = record("gradcam.map", float(np.abs(mine - theirs).max()))
    assert err <= TOL, f"grad_cam units={units} layer={layer}: max abs diff {err:.3g} > {TOL}"
