"""Grad-CAM through a functional graph (residual adds, batch normalisation in inference mode) on
minicnn.models.catdog_residual_network, against TensorFlow on the same weights, in float64 (see
test_gradcam_parity.py for why)."""

from __future__ import annotations

import numpy as np
import pytest
from test_gradcam_parity import TOL, _keras_grad_cam

import minicnn as mc
from minicnn.explain import grad_cam
from minicnn.keras_compat import to_keras
from minicnn.models.residual import catdog_residual_network


def _model():
    mc.set_seed(3)
    model = catdog_residual_network((32, 32, 3), block_filters=(8, 16), entry_filters=8,
                                    head_filters=16)
    rng = np.random.default_rng(0)
    weights = []
    for w, name in zip(model.get_weights(), model.weight_names()):
        if "moving_variance" in name or "gamma" in name:  # BN statistics away from 1 and 0
            w = rng.uniform(0.5, 1.5, w.shape)
        elif w.ndim == 1:
            w = rng.normal(0, 0.1, w.shape)
        weights.append(w.astype(np.float64))
    model.set_weights(weights)
    for w in model.weights:
        w.data = w.data.astype(np.float64)
    return model


@pytest.mark.parametrize("layer", [None, "add", "activation_3"])
def test_residual_grad_cam_matches_tensorflow(tf, keras, record, layer):
    mc.clear_session()
    model = _model()
    keras.config.set_dtype_policy("float64")
    try:
        kmodel = to_keras(model)
    finally:
        keras.config.set_dtype_policy("float32")
    kmodel.set_weights([w.astype(np.float64) for w in model.get_weights()])
    x = np.random.default_rng(1).uniform(0, 255, (4, 32, 32, 3))
    name = layer or [lay.name for lay in model.layers
                     if type(lay).__name__ == "SeparableConv2D"][-1]
    index = [lay.name for lay in kmodel.layers].index(name)
    theirs, _ = _keras_grad_cam(tf, keras, kmodel, x, index)
    mine = grad_cam(model, mc.Tensor(x), layer=layer)
    assert mine.shape == theirs.shape and theirs.max() > 0
    err = record("gradcam.residual_map", float(np.abs(mine - theirs).max()))
    assert err <= TOL, f"residual grad_cam layer={layer}: max abs diff {err:.3g} > {TOL}"
