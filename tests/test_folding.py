"""BatchNormalization (and a ReLU after it) folded into the convolution before it at inference
(minicnn.fast.folding, GraphPlan.folds): the unfolded layers' numbers, refolded when the weights
change, and never where the unfolded values are needed (training, gradients, other readers)."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.fast import folding, routes
from minicnn.ops import route
from tests.paths import record_calls, use_path

L = mc.layers


@pytest.fixture(autouse=True)
def fast_path(monkeypatch):
    """These tests are about the fast path: on, every switch at its default, whatever the
    environment says."""
    use_path("defaults", monkeypatch)


@pytest.fixture
def calls(monkeypatch):
    """How many chains ran folded (run_folded returned a value)."""
    return record_calls(monkeypatch, folding, "run_folded")


def _random_statistics(model, rng):
    """Moving statistics and gamma/beta far from their initial 0/1, so a wrong fold shows."""
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            C = layer.moving_mean.shape[0]
            if layer.gamma is not None:
                layer.gamma.data[:] = rng.uniform(0.5, 1.5, C)
            if layer.beta is not None:
                layer.beta.data[:] = rng.normal(0, 0.3, C)
            layer.moving_mean.data[:] = rng.normal(0, 0.3, C)
            layer.moving_variance.data[:] = rng.uniform(0.3, 2.0, C)


def _unfolded(model, x, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(routes, "FOLD", False)
        return model.predict(x, verbose=0)


CONVS = [
    ("conv", lambda: L.Conv2D(8, 3, padding="same")),
    ("conv-no-bias-strided", lambda: L.Conv2D(6, 3, strides=2, use_bias=False)),
    ("conv-1x1", lambda: L.Conv2D(8, 1, use_bias=False)),
    ("conv-dilated", lambda: L.Conv2D(5, 3, dilation_rate=2)),
    ("separable", lambda: L.SeparableConv2D(8, 3, padding="same", use_bias=False)),
    ("separable-bias-m2", lambda: L.SeparableConv2D(7, 3, depth_multiplier=2)),
    ("depthwise-m2", lambda: L.DepthwiseConv2D(3, depth_multiplier=2)),
    ("depthwise-no-bias", lambda: L.DepthwiseConv2D(3, padding="same", use_bias=False)),
]
AFTER = [
    ("none", lambda: []),
    ("activation-relu", lambda: [L.Activation("relu")]),
    ("relu-layer", lambda: [L.ReLU()]),
]


@pytest.mark.parametrize("after_name,after", AFTER, ids=[a[0] for a in AFTER])
@pytest.mark.parametrize("conv_name,make_conv", CONVS, ids=[c[0] for c in CONVS])
def test_folded_chain_matches_the_layers(conv_name, make_conv, after_name, after, calls,
                                         monkeypatch):
    rng = np.random.default_rng(len(conv_name) * 7 + len(after_name))
    model = mc.Sequential([mc.Input((11, 12, 4)), make_conv(), L.BatchNormalization(),
                           *after(), L.Flatten()])
    _random_statistics(model, rng)
    x = rng.normal(size=(3, 11, 12, 4)).astype(np.float32)
    folded = model.predict(x, verbose=0)
    assert calls == [True]  # the chain ran folded...
    unfolded = _unfolded(model, x, monkeypatch)
    assert calls == [True, False]  # ...and not when folding is off (asked, refused)
    scale = np.abs(unfolded).max()
    np.testing.assert_allclose(folded, unfolded, rtol=0, atol=2e-6 * scale)
    if after_name != "none":
        assert folded.min() >= 0  # the ReLU ran in the convolution's output pass


def test_center_and_scale_off(calls, monkeypatch):
    rng = np.random.default_rng(3)
    model = mc.Sequential([mc.Input((8, 8, 3)), L.Conv2D(4, 3),
                           L.BatchNormalization(center=False, scale=False), L.Flatten()])
    _random_statistics(model, rng)
    x = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), _unfolded(model, x, monkeypatch),
                               rtol=1e-5, atol=1e-6)
    assert calls == [True, False]


def test_refolds_when_weights_change(calls, monkeypatch):
    """Training between predictions (here: statistics and kernel edited in place) must not
    leave the folded weights of the old ones in use."""
    rng = np.random.default_rng(4)
    conv, bn = L.Conv2D(4, 3, use_bias=False), L.BatchNormalization()
    model = mc.Sequential([mc.Input((8, 8, 3)), conv, bn, L.Flatten()])
    _random_statistics(model, rng)
    x = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    before = model.predict(x, verbose=0)
    bn.moving_mean.data += 0.5
    after_mean = model.predict(x, verbose=0)
    np.testing.assert_allclose(after_mean, _unfolded(model, x, monkeypatch), atol=1e-5)
    conv.kernel.data *= 2
    after_kernel = model.predict(x, verbose=0)
    np.testing.assert_allclose(after_kernel, _unfolded(model, x, monkeypatch), atol=1e-5)
    assert not np.allclose(before, after_mean) and not np.allclose(after_mean, after_kernel)
    assert calls == [True, True, False, True, False]


def test_not_folded_in_training_or_with_gradients(calls):
    rng = np.random.default_rng(5)
    model = mc.Sequential([mc.Input((8, 8, 3)), L.Conv2D(4, 3), L.BatchNormalization(),
                           L.ReLU(), L.Flatten(), L.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = rng.normal(size=(4, 8, 8, 3)).astype(np.float32)
    model.train_on_batch(x, np.zeros((4, 1), np.float32))  # batch statistics, gradients
    y = model(mc.Tensor(x), training=False)  # inference mode, but recorded for a gradient
    y.sum().backward()
    assert model.layers[0].kernel.grad is not None
    assert calls == []
    model.predict(x, verbose=0)
    assert calls == [True]


def test_not_folded_where_the_unfolded_value_is_read():
    """A convolution's output read by another layer: not folded. A BN's output that is a model
    output or has a second reader: conv + BN fold (its value is the chain's result), the ReLU
    after it does not join."""
    inputs = mc.Input((8, 8, 3))
    a = L.Conv2D(4, 3, name="a")(inputs)
    a_bn = L.BatchNormalization(name="a_bn")(a)
    a_side = L.Activation("relu")(a)  # a's output has a second reader
    b = L.Conv2D(4, 1, name="b")(a_bn)
    b_bn = L.BatchNormalization(name="b_bn")(b)  # a model output (and c's input) below
    c = L.Conv2D(4, 1, name="c")(b_bn)
    c_bn = L.BatchNormalization(name="c_bn")(c)
    c_relu = L.ReLU()(c_bn)
    c_other = L.Activation("relu")(c_bn)  # c_bn has two readers: conv + BN fold, no ReLU
    model = mc.Model(inputs, [a_side, b_bn, L.Add()([c_relu, c_other])])
    plan = model._plan
    names = {i: s.layer.name for i, s in enumerate(plan.steps)}
    folds = {names[i]: [names[j] for j in chain] for i, chain in plan.folds.items()}
    assert folds == {"b": ["b_bn"], "c": ["c_bn"]}
    rng = np.random.default_rng(6)
    _random_statistics(model, rng)
    x = rng.normal(size=(2, 8, 8, 3)).astype(np.float32)
    folded = model.predict(x, verbose=0)
    route.FAST = False
    try:
        plain = model.predict(x, verbose=0)
    finally:
        route.FAST = True
    for f, p in zip(folded, plain):
        np.testing.assert_allclose(f, p, rtol=1e-5, atol=1e-5)


def test_not_foldable():
    assert not folding.foldable(L.Conv2D(4, 3, activation="relu"), L.BatchNormalization())
    assert not folding.foldable(L.Conv2D(4, 3), L.BatchNormalization(axis=1))
    assert not folding.foldable(L.Dense(4), L.BatchNormalization())
    assert not folding.is_plain_relu(L.ReLU(negative_slope=0.1))
    assert not folding.is_plain_relu(L.ReLU(threshold=0.5))
    assert not folding.is_plain_relu(L.Activation("sigmoid"))


def test_residual_network_folds_every_chain(calls, monkeypatch):
    """The residual cat-dog network: every conv -> BN chain folds (8 at 64 px), predictions
    as the unfolded layers'."""
    from minicnn.models import catdog_residual_network

    mc.set_seed(0)
    model = catdog_residual_network((64, 64, 3))
    rng = np.random.default_rng(7)
    _random_statistics(model, rng)
    x = rng.uniform(0, 255, (3, 64, 64, 3)).astype(np.float32)
    folded = model.predict(x, verbose=0)
    n_bn = sum(isinstance(layer, L.BatchNormalization) for layer in model.layers)
    assert calls == [True] * n_bn
    np.testing.assert_allclose(folded, _unfolded(model, x, monkeypatch), rtol=1e-5, atol=1e-6)
    assert calls == [True] * n_bn + [False] * n_bn


def test_not_folded_when_an_enclosing_call_is_training(calls):
    """training=None inside a layer call that runs with training=True (a custom layer calling
    a model without passing the flag): BN inherits training, so nothing folds."""
    from minicnn.layers.base import call_in_context

    rng = np.random.default_rng(8)
    model = mc.Sequential([mc.Input((8, 8, 3)), L.Conv2D(4, 3), L.BatchNormalization(),
                           L.Flatten()])
    _random_statistics(model, rng)
    x = mc.Tensor(rng.normal(size=(4, 8, 8, 3)).astype(np.float32))
    with mc.no_grad():
        inherited = call_in_context(True, model, x)
        explicit = model(x, training=True)
    assert calls == []
    np.testing.assert_allclose(inherited.data, explicit.data, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n", [1, 4])
def test_relu_before_a_folded_separable_chain_runs_inside_it(monkeypatch, n):
    """ReLU -> SeparableConv2D -> BN: the ReLU's only reader is the chain, whose depthwise
    kernel reads through it (four images: the chunked route; one image: ReLU then the two
    ops). Not taken for a clipped ReLU, nor for a ReLU with a second reader; the numbers are
    the layers' (NaN where they give NaN)."""
    seen = []
    run_folded = folding.run_folded
    monkeypatch.setattr(folding, "run_folded", lambda *a: seen.append(a[4]) or run_folded(*a))
    inputs = mc.Input((9, 9, 6))
    a = L.Conv2D(6, 1, name="a")(inputs)
    r = L.ReLU(name="r")(a)  # taken: its only reader is the chain of s
    s = L.BatchNormalization(name="s_bn")(
        L.SeparableConv2D(6, 3, padding="same", use_bias=False, name="s")(r))
    clipped = L.ReLU(6.0, name="clipped")(s)  # not a plain ReLU
    t = L.BatchNormalization(name="t_bn")(L.SeparableConv2D(6, 3, name="t")(clipped))
    shared = L.Activation("relu", name="shared")(a)  # two readers: the chain and the Add
    u = L.BatchNormalization(name="u_bn")(
        L.SeparableConv2D(6, 3, padding="same", name="u")(shared))
    model = mc.Model(inputs, [L.Add()([s, a]), t, L.Add()([u, shared])])
    plan = model._plan
    names = {i: step.layer.name for i, step in enumerate(plan.steps)}
    assert {names[i]: names[j] for i, j in plan.relu_inputs.items()} == {"r": "s"}
    rng = np.random.default_rng(9)
    _random_statistics(model, rng)
    x = rng.normal(size=(n, 9, 9, 6)).astype(np.float32)
    x[0, 4, 4, 2] = np.nan
    fused = model.predict(x, verbose=0)
    assert sorted(seen) == [False, False, True]
    unfolded = _unfolded(model, x, monkeypatch)
    for f, p in zip(fused, unfolded):
        assert np.isnan(p).any()
        np.testing.assert_allclose(f, p, rtol=1e-5, atol=1e-5)


def test_residual_network_runs_its_block_relus_inside_the_separable_chains():
    from minicnn.models import catdog_residual_network

    model = catdog_residual_network((32, 32, 3))
    steps = model._plan.steps
    pairs = [(type(steps[i].layer).__name__, type(steps[j].layer).__name__)
             for i, j in model._plan.relu_inputs.items()]
    assert pairs == [("Activation", "SeparableConv2D")] * 3  # one ReLU opening each block


@pytest.mark.parametrize("n", [1, 5])
def test_max_pool_then_add_runs_as_one_pass(monkeypatch, n):
    """MaxPooling2D read only by a two-input Add: the pool writes max + the other addend at
    inference (pool first or second in the Add). Not for a pool with a second reader, a
    three-input Add, a pool that runs inside its Conv2D(relu) (conv + pool fusion), or a pool
    whose input a later step reads (deferred to the Add, the input would be gone); the
    numbers are the layers' on the same path to the bit, NaN included; training runs the
    layers."""
    from minicnn.fast import pool_add

    seen = []
    real = pool_add.run_pool_add
    monkeypatch.setattr(pool_add, "run_pool_add",
                        lambda *a: seen.append(a[0].name) or real(*a))
    inputs = mc.Input((8, 8, 4))
    a = L.Conv2D(4, 3, padding="same", name="a")(inputs)
    short = L.Conv2D(4, 1, strides=2, name="short")(inputs)
    p1 = L.MaxPooling2D(3, 2, "same", name="p1")(a)
    s1 = L.Add(name="s1")([p1, short])  # taken (a is read later, after s1: still there)
    p2 = L.MaxPooling2D(2, name="p2")(L.Conv2D(4, 1, name="a2")(inputs))
    s2 = L.Add(name="s2")([short, p2])  # taken, the pool second
    p3 = L.MaxPooling2D(2, name="p3")(a)
    s3 = L.Add(name="s3")([p3, short, s1])  # three inputs: not taken
    p4 = L.MaxPooling2D(2, name="p4")(a)
    s4 = L.Add(name="s4")([p4, short])
    side = L.Flatten()(p4)  # p4 has a second reader: not taken
    c = L.Conv2D(4, 3, padding="same", activation="relu", name="c")(inputs)
    p5 = L.MaxPooling2D(2, name="p5")(c)  # runs inside c (conv + pool fusion)
    s5 = L.Add(name="s5")([p5, short])
    d = L.Conv2D(4, 3, padding="same", name="d")(inputs)
    p6 = L.MaxPooling2D(2, name="p6")(d)  # d is read again after p6: p6 cannot wait for s6
    s6 = L.Add(name="s6")([p6, L.Conv2D(4, 2, strides=2, name="later")(d)])
    model = mc.Model(inputs, [s1, s2, s3, s4, side, s5, s6])
    plan = model._plan
    names = {i: step.layer.name for i, step in enumerate(plan.steps)}
    assert {names[i]: names[j] for i, j in plan.pool_adds.items()} == {"p1": "s1", "p2": "s2"}
    rng = np.random.default_rng(10)
    x = rng.normal(size=(n, 8, 8, 4)).astype(np.float32)
    x[0, 0, 0, :] = np.nan
    fused = model.predict(x, verbose=0)
    assert sorted(seen) == ["p1", "p2"]
    apart = _unfolded(model, x, monkeypatch)  # the same fast convolutions, then the layers
    route.FAST = False
    try:
        plain = model.predict(x, verbose=0)
    finally:
        route.FAST = True
    for f, a, p in zip(fused, apart, plain):
        np.testing.assert_array_equal(f, a)
        np.testing.assert_allclose(f, p, rtol=1e-5, atol=1e-5)
    assert np.isnan(fused[0]).any()
    seen.clear()
    model(mc.Tensor(x), training=True)
    assert seen == []
