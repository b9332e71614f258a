import numpy as np
import pytest

import minicnn as mc
from minicnn import optimizers


def run(opt, steps=4, seed=0):
    """Apply ``steps`` updates with fixed pseudo-random gradients; return weights and grads."""
    rng = np.random.default_rng(seed)
    w0 = rng.normal(size=(3, 2)).astype(np.float32)
    p = mc.Parameter(w0.copy(), name="w")
    grads = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(steps)]
    for g in grads:
        p.grad = g.copy()
        opt.apply([p])
    return w0, grads, p.data


def test_sgd_plain_momentum_nesterov():
    for momentum, nesterov in [(0.0, False), (0.9, False), (0.9, True)]:
        w0, grads, got = run(optimizers.SGD(learning_rate=0.1, momentum=momentum,
                                            nesterov=nesterov))
        w, m = w0.astype(np.float64), np.zeros_like(w0, np.float64)
        for g in grads:
            if momentum:
                m = momentum * m - 0.1 * g
                w = w + (momentum * m - 0.1 * g if nesterov else m)
            else:
                w = w - 0.1 * g
        np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
        assert got.dtype == np.float32


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_keras_formula(amsgrad):
    opt = optimizers.Adam(learning_rate=0.01, amsgrad=amsgrad)
    w0, grads, got = run(opt)
    b1, b2, eps = 0.9, 0.999, 1e-7
    w, m, v = w0.astype(np.float64), 0.0, 0.0
    vhat = 0.0
    for t, g in enumerate(grads, start=1):
        alpha = 0.01 * np.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        vhat = np.maximum(vhat, v)
        w = w - m * alpha / (np.sqrt(vhat if amsgrad else v) + eps)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    assert opt.iterations == 4


@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.5, False), (0.0, True),
                                               (0.5, True)])
def test_rmsprop_keras_formula(momentum, centered):
    w0, grads, got = run(optimizers.RMSprop(learning_rate=0.01, momentum=momentum,
                                            centered=centered))
    rho, eps = 0.9, 1e-7
    w, v, a, mom = w0.astype(np.float64), 0.0, 0.0, 0.0
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        if centered:
            a = rho * a + (1 - rho) * g
            inc = 0.01 * g / np.sqrt(v - a * a + eps)
        else:
            inc = 0.01 * g / np.sqrt(v + eps)
        if momentum:
            mom = momentum * mom + inc
            w = w - mom
        else:
            w = w - inc
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_defaults_and_names():
    assert optimizers.get("sgd").get_config() == {
        "name": "sgd", "learning_rate": 0.01, "momentum": 0.0, "nesterov": False,
        "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None}
    adam = optimizers.get("adam").get_config()
    assert (adam["learning_rate"], adam["beta_1"], adam["beta_2"], adam["epsilon"]) == \
        (0.001, 0.9, 0.999, 1e-7)
    rms = optimizers.get("RMSprop").get_config()
    assert (rms["learning_rate"], rms["rho"], rms["momentum"], rms["epsilon"], rms["centered"]) \
        == (0.001, 0.9, 0.0, 1e-7, False)
    with pytest.raises(ValueError, match="Received: optimizer='foo'"):
        optimizers.get("foo")
    with pytest.raises(ValueError, match="learning_rate=-1"):
        optimizers.SGD(learning_rate=-1)


def test_updates_in_place_and_state_round_trip():
    opt = optimizers.Adam(learning_rate=0.01)
    p = mc.Parameter(np.ones((2, 2), np.float32), name="w")
    buffer = p.data
    p.grad = np.full((2, 2), 0.5, np.float32)
    opt.apply([p])
    assert p.data is buffer  # updated in place

    clone = optimizers.Adam.from_config(opt.get_config())
    q = mc.Parameter(p.data.copy(), name="w")
    clone.set_state(opt.get_state(), [q])
    assert clone.iterations == 1
    for param, o in ((p, opt), (q, clone)):
        param.grad = np.full((2, 2), -0.25, np.float32)
        o.apply([param])
    np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ValueError, match="shape"):
        clone.set_state(opt.get_state(), [mc.Parameter(np.ones(3, np.float32), name="x")])


def test_params_without_grad_are_skipped():
    opt = optimizers.SGD(learning_rate=1.0)
    a = mc.Parameter(np.ones(2, np.float32), name="a")
    b = mc.Parameter(np.ones(2, np.float32), name="b")
    opt.build([a, b])
    a.grad = np.ones(2, np.float32)
    opt.apply([a, b])
    np.testing.assert_array_equal(a.data, 0.0)
    np.testing.assert_array_equal(b.data, 1.0)
