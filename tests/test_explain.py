"""minicnn.explain.grad_cam without TensorFlow (tests/parity/test_gradcam_parity.py pins the
values against TF): shapes, range, the zero map, layer choice, errors, no side effects."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn.explain import grad_cam, layer_and_model_outputs


def _model(units=1, seed=0):
    mc.set_seed(seed)
    return mc.Sequential([
        mc.Input((16, 16, 3)),
        mc.Conv2D(4, 3, activation="relu", name="c1"),
        mc.MaxPooling2D(2, name="p1"),
        mc.Conv2D(5, 3, padding="same", activation="relu", name="c2"),
        mc.Flatten(name="flat"),
        mc.Dense(units, activation="sigmoid" if units == 1 else "softmax", name="head"),
    ])


def _x(n=3):
    return np.random.default_rng(1).uniform(0, 1, (n, 16, 16, 3)).astype(np.float32)


@pytest.mark.parametrize("units", [1, 4])
def test_shape_range_and_peak(units):
    maps = grad_cam(_model(units), _x())
    assert maps.shape == (3, 7, 7) and maps.dtype == np.float32
    assert maps.min() >= 0 and maps.max() <= 1
    peaks = maps.max(axis=(1, 2))
    assert np.all((peaks == 1) | (peaks == 0))


def test_default_is_the_last_convolution_and_names_select_others():
    model = _model()
    x = _x()
    assert np.array_equal(grad_cam(model, x), grad_cam(model, x, layer="c2"))
    assert np.array_equal(grad_cam(model, x, layer=model.get_layer("c2")),
                          grad_cam(model, x, layer="c2"))
    assert grad_cam(model, x, layer="c1").shape == (3, 14, 14)
    assert grad_cam(model, x, layer="p1").shape == (3, 7, 7)


def test_matches_a_hand_computation_by_finite_differences():
    """alpha_k from central differences of the score with respect to each map, in float64."""
    model = _model()
    for w in model.weights:
        w.data = w.data.astype(np.float64)
    x = _x(2).astype(np.float64)
    layers = model.layers
    with mc.no_grad():
        a = mc.Tensor(x)
        for layer in layers[:3]:
            a = layer(a)
    a = a.data

    def score(maps):
        h = mc.Tensor(maps)
        with mc.no_grad():
            for layer in layers[3:]:
                h = layer(h)
        p = h.data[:, 0]
        return np.where(p >= 0.5, p, -p)

    grad = np.zeros_like(a)
    eps = 1e-6
    for idx in np.ndindex(a.shape[1:]):
        for n in range(len(a)):
            up, down = a.copy(), a.copy()
            up[(n, *idx)] += eps
            down[(n, *idx)] -= eps
            grad[(n, *idx)] = (score(up)[n] - score(down)[n]) / (2 * eps)
    cam = np.maximum(np.einsum("nhwk,nk->nhw", a, grad.mean(axis=(1, 2))), 0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    expected = np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0)
    np.testing.assert_allclose(grad_cam(model, mc.Tensor(x), "c2"), expected, atol=1e-6)


def test_all_zero_map_when_nothing_speaks_for_the_class():
    model = _model()
    model.get_layer("c2").kernel.data[:] = 0
    model.get_layer("c2").bias.data[:] = 0  # every map is 0: ReLU(sum) is 0 everywhere
    maps = grad_cam(model, _x())
    assert maps.shape == (3, 7, 7) and not maps.any() and np.isfinite(maps).all()


def test_explaining_class_zero_flips_the_score():
    """With one sigmoid unit a confident 'class 0' is explained by -p: the map is where the
    evidence *against* class 1 lies, so it differs from the map of +p."""
    model = _model()
    head = model.get_layer("head")
    x = _x()
    p = model.predict_on_batch(x)[:, 0]
    head.bias.data -= np.log(p / (1 - p)).max() + 1  # every image class 0, p not saturated
    a, y = layer_and_model_outputs(model, x, model.get_layer("c2"))
    assert (y.data < 0.5).all()
    y.backward(np.ones_like(y.data))  # the gradient of +p
    cam_plus = np.maximum(np.einsum("nhwk,nk->nhw", a.data, a.grad.mean(axis=(1, 2))), 0)
    maps = grad_cam(model, x)
    cam_minus = np.maximum(np.einsum("nhwk,nk->nhw", a.data, -a.grad.mean(axis=(1, 2))), 0)
    peak = cam_minus.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(maps, np.where(peak > 0, cam_minus / np.maximum(peak, 1e-30), 0),
                               atol=1e-5)
    assert not np.allclose(maps, cam_plus / np.maximum(cam_plus.max(axis=(1, 2),
                                                                    keepdims=True), 1e-30))


def test_weights_untouched_and_works_under_no_grad():
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    with mc.no_grad():
        maps = grad_cam(model, _x())
    assert maps.max() == 1
    assert all(w.grad is None and w.requires_grad for w in model.weights)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert mc.is_grad_enabled()


def test_unknown_layer_name_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"no layer named 'conv9'.*Existing layers are: "
                                         r"\['c1', 'p1', 'c2', 'flat', 'head'\]"):
        grad_cam(_model(), _x(), layer="conv9")


@pytest.mark.parametrize("name", ["flat", "head"])
def test_layer_without_spatial_maps_is_refused_naming_it(name):
    with pytest.raises(ValueError, match=rf"layer '{name}' \(\w+\) gives outputs of shape "
                                         r"\(3, \d+\), which are not spatial maps"):
        grad_cam(_model(), _x(), layer=name)


def test_layer_of_another_model_and_model_without_convolution():
    other = mc.Conv2D(2, 3, name="stranger")
    with pytest.raises(ValueError, match="layer 'stranger' is not a layer of model"):
        grad_cam(_model(), _x(), layer=other)
    dense = mc.Sequential([mc.Input((4,)), mc.Dense(1, activation="sigmoid")], name="flatnet")
    with pytest.raises(ValueError, match="model 'flatnet' has no Conv2D, SeparableConv2D, "
                                         "DepthwiseConv2D layer"):
        grad_cam(dense, np.ones((1, 4)))
    with pytest.raises(TypeError, match="layer must be a name, a Layer or None"):
        grad_cam(_model(), _x(), layer=3)


def test_confident_sigmoid_still_gets_its_map():
    """p rounds to 1.0 in float32 at a logit of 40, so d p / d A underflows to 0; the map is
    taken from the logit, whose gradient does not depend on the output bias at all."""
    model = _model()
    x = _x()
    head = model.get_layer("head")
    head.bias.data[:] = 2.0
    expected = grad_cam(model, x)
    head.bias.data[:] = 40.0
    assert (model.predict_on_batch(x) == 1.0).all()
    maps = grad_cam(model, x)
    assert maps.max() == 1
    np.testing.assert_allclose(maps, expected, atol=1e-6)
    assert head.activation is mc.activations.sigmoid  # restored
