"""BatchNormalization -> ReLU as one op (minicnn.fast.bn_relu, GraphPlan.bn_relus) against the
two layers: the same forward values, gradients, moving statistics and weights after training
steps, bit for bit (the fused kernels recompute the ReLU's mask with the forward's arithmetic)."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.fast import bn_relu, routes
from minicnn.kernels import normalization as NK
from tests.paths import record_calls, use_path

L = mc.layers


@pytest.fixture(autouse=True)
def fast_path(monkeypatch):
    use_path("defaults", monkeypatch)


@pytest.fixture
def fused_calls(monkeypatch):
    """How many BN + ReLU pairs ran fused (run_bn_relu returned a value)."""
    return record_calls(monkeypatch, bn_relu, "run_bn_relu")


def _model(relu_layer):
    mc.set_seed(3)
    return mc.Sequential([mc.Input((9, 10, 3)), L.Conv2D(6, 3, padding="same"),
                          L.BatchNormalization(momentum=0.9), relu_layer, L.Conv2D(4, 3),
                          L.BatchNormalization(center=False), L.Activation("relu"),
                          L.Flatten(), L.Dense(1, activation="sigmoid")])


def _train(model, x, y, steps):
    model.compile(optimizer=mc.optimizers.Adam(1e-2), loss="binary_crossentropy")
    losses = [float(model.train_on_batch(x, y)) for _ in range(steps)]
    return losses, [w.copy() for w in model.get_weights()]


@pytest.mark.parametrize("relu_layer", [lambda: L.ReLU(), lambda: L.Activation("relu")],
                         ids=["ReLU", "Activation"])
def test_training_steps_equal_the_two_layers(relu_layer, fused_calls, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 9, 10, 3)).astype(np.float32)
    y = rng.integers(0, 2, (8, 1)).astype(np.float32)
    fused = _train(_model(relu_layer()), x, y, 4)
    assert fused_calls == [True, True] * 4
    with monkeypatch.context() as m:
        m.setattr(routes, "FUSE", False)
        apart = _train(_model(relu_layer()), x, y, 4)
    assert fused_calls[8:] == [False, False] * 4  # asked, refused: the layers ran apart
    assert fused[0] == apart[0]  # losses
    for a, b in zip(fused[1], apart[1]):  # every weight, moving statistics included
        np.testing.assert_array_equal(a, b)


def test_gradients_equal_the_two_layers_inference_mode_too():
    """Called on a Tensor with a gradient recorded, BN in inference mode (moving statistics,
    constant in backward) and in training mode."""
    rng = np.random.default_rng(1)
    bn = L.BatchNormalization()
    x = rng.normal(size=(5, 4, 4, 6)).astype(np.float32)
    bn(mc.Tensor(x))
    bn.moving_mean.data[:] = rng.normal(0, 0.3, 6)
    bn.moving_variance.data[:] = rng.uniform(0.5, 2, 6)
    gy = rng.normal(size=x.shape).astype(np.float32)
    for training in (False, True):
        results = []
        for fused in (True, False):
            xt = mc.Tensor(x, requires_grad=True)
            before = bn.moving_mean.data.copy()
            y = bn_relu.run_bn_relu(bn, xt, training) if fused else bn(xt, training).relu()
            bn.moving_mean.data[:] = before  # both runs from the same moving statistics
            (y * mc.Tensor(gy)).sum().backward()
            results.append((y.data, xt.grad, bn.gamma.grad.copy(), bn.beta.grad.copy()))
            bn.gamma.grad = bn.beta.grad = None
        for a, b in zip(*results):
            np.testing.assert_array_equal(a, b)
        assert (results[0][0] == 0).any() and (results[0][0] > 0).any()  # the mask matters


def test_kernels_against_numpy():
    rng = np.random.default_rng(2)
    x2 = rng.normal(size=(50, 7)).astype(np.float32)
    gy2 = rng.normal(size=(50, 7)).astype(np.float32)
    scale = rng.uniform(0.5, 2, 7).astype(np.float32)
    shift = rng.normal(size=7).astype(np.float32)
    mean, rstd = x2.mean(0), (1 / x2.std(0)).astype(np.float32)
    on = x2 * scale + shift > 0
    y = np.empty_like(x2)
    bn_relu.scale_shift_relu(x2, scale, shift, y)
    np.testing.assert_array_equal(y, np.maximum(x2 * scale + shift, 0))
    gb, gg = NK.partial_sums_buffer(7), NK.partial_sums_buffer(7)
    bn_relu.grad_sums_relu(gy2, x2, scale, shift, mean, rstd, gb, gg)
    g = gy2 * on
    np.testing.assert_allclose(gb.sum(0), g.sum(0, dtype=np.float64), rtol=1e-6)
    np.testing.assert_allclose(gg.sum(0), (g * (x2 - mean) * rstd).sum(0, dtype=np.float64),
                               rtol=1e-5, atol=1e-6)
    k, gbm, ggm = scale * 0.5, gb.sum(0).astype(np.float32) / 50, gg.sum(0).astype(np.float32)
    gx = np.empty_like(x2)
    bn_relu.input_grad_relu(gy2, x2, scale, shift, mean, rstd, k, gbm, ggm / 50, gx)
    np.testing.assert_allclose(gx, k * (g - gbm - (x2 - mean) * rstd * ggm / 50), rtol=1e-5,
                               atol=1e-6)


def test_nan_stays_nan():
    x = np.array([[[[np.nan, 1.0]]], [[[2.0, -1.0]]]], np.float32)
    bn = L.BatchNormalization()
    y = bn_relu.run_bn_relu(bn, mc.Tensor(x), False)
    assert np.isnan(y.data[0, 0, 0, 0]) and y.data[1, 0, 0, 1] == 0


def test_pairs_only_where_nobody_else_reads_the_bn_output():
    inputs = mc.Input((6, 6, 4))
    a = L.BatchNormalization(name="a")(inputs)
    a_relu = L.ReLU(name="a_relu")(a)
    b = L.BatchNormalization(name="b")(a_relu)
    b_relu = L.Activation("relu", name="b_relu")(b)
    b_other = L.Activation("sigmoid")(b)  # b's output has a second reader
    c = L.BatchNormalization(name="c")(b_relu)
    c_leaky = L.LeakyReLU(name="c_leaky")(c)  # not a plain ReLU
    model = mc.Model(inputs, [L.Add()([b_other, c_leaky])])
    plan = model._plan
    names = {i: s.layer.name for i, s in enumerate(plan.steps)}
    assert {names[i]: names[j] for i, j in plan.bn_relus.items()} == {"a": "a_relu"}
    x = np.random.default_rng(4).normal(size=(3, 6, 6, 4)).astype(np.float32)
    fused = model.predict(x, verbose=0)
    from minicnn.ops import route

    route.FAST = False
    try:
        plain = model.predict(x, verbose=0)
    finally:
        route.FAST = True
    np.testing.assert_allclose(fused, plain, rtol=1e-6, atol=1e-6)


def test_float64_runs_the_two_layers():
    """Only float32 channels-last data fuse; float64 (the gradient checks' dtype) runs apart."""
    x = mc.Tensor(np.ones((2, 3, 3, 2)), dtype=np.float64)
    assert bn_relu.run_bn_relu(L.BatchNormalization(), x, True) is None
