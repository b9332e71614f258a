"""Functional models: symbolic Input, graph building, shared layers, nested models, merges,
the shared graph runner (with Conv2D + MaxPooling2D fusion), summary, saving and errors.
(Against live Keras: tests/parity/test_functional_parity.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from gradcheck import check_gradients

import minicnn as mc
from minicnn.layers.node import SymbolicTensor
from minicnn.models.graph import GraphPlan
from minicnn.ops.merge import maximum, minimum
from tests.paths import use_path

L = mc.layers


@pytest.fixture(autouse=True)
def _fresh_names():
    mc.clear_session()
    mc.set_seed(0)


def _residual(name="residual"):
    inp = mc.Input((8, 8, 3), name="img")
    a = L.Conv2D(4, 3, padding="same", name="conv_a")(inp)
    b = L.Conv2D(4, 1, name="conv_b")(inp)
    s = L.add([a, b], name="sum")
    c = L.concatenate([s, a], name="cat")
    out = L.Dense(2, name="head")(L.Flatten(name="flat")(c))
    return mc.Model(inp, out, name=name)


def _data(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _by_hand(model, x):
    """The residual model's output computed layer by layer, without the graph runner."""
    g = model.get_layer
    a = g("conv_a")(x)
    s = L.Add()([a, g("conv_b")(x)])
    c = mc.concatenate([s, a], axis=-1)
    return g("head")(g("flat")(c)).data


# ---------------------------------------------------------------- symbolic graph
def test_input_is_a_symbolic_tensor_and_still_starts_a_sequential():
    inp = mc.Input((28, 28, 1), batch_size=4)
    assert isinstance(inp, SymbolicTensor) and isinstance(inp, L.InputLayer)
    assert inp.shape == (4, 28, 28, 1) and inp.history == (inp, 0, 0)
    x = L.Conv2D(2, 3)(inp)
    assert isinstance(x, SymbolicTensor) and x.shape == (4, 26, 26, 2)
    assert x.history[0].name == "conv2d" and x.history[1:] == (0, 0)
    seq = mc.Sequential([mc.Input((28, 28, 1)), L.Flatten()])
    assert seq.output_shape == (None, 784) and isinstance(seq, mc.Model)


def test_model_layers_shapes_and_prediction_follow_the_graph():
    model = _residual()
    assert [lay.name for lay in model.layers] == ["img", "conv_a", "conv_b", "sum", "cat",
                                                 "flat", "head"]
    assert model.input_shape == (None, 8, 8, 3) and model.output_shape == (None, 2)
    assert model.count_params() == 112 + 16 + 1026
    x = _data(3, 8, 8, 3)
    np.testing.assert_allclose(model.predict(x, verbose=0), _by_hand(model, x), rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x), _by_hand(model, x), rtol=1e-6)
    assert model.get_layer("sum") is model.layers[3]


def test_layers_are_ordered_like_keras_by_depth_then_walk():
    # Keras 3 (checked on 3.15): inputs first, then by decreasing depth (longest path to an
    # output), ties in the order of a depth-first walk from the outputs
    inp = mc.Input((4,), name="x")
    long = L.Dense(4, name="long2")(L.Dense(4, name="long1")(inp))
    short = L.Dense(4, name="short")(inp)
    out = L.add([short, long], name="join")
    model = mc.Model(inp, out)
    assert [lay.name for lay in model.layers] == ["x", "long1", "short", "long2", "join"]
    assert [w.shape for w in model.get_weights()] == [(4, 4), (4,)] * 3
    assert model.get_weights()[0] is not model.layers[1].kernel.data  # copies
    np.testing.assert_array_equal(model.get_weights()[2], model.get_layer("short").kernel.data)


def test_shared_layer_shares_weights_and_counts_once():
    dense = L.Dense(3, name="shared")
    a, b = mc.Input((5,), name="a"), mc.Input((5,), name="b")
    model = mc.Model([a, b], L.add([dense(a), dense(b)]))
    assert len(dense.inbound_nodes) == 2 and model.count_params() == 18
    assert len(model.trainable_weights) == 2
    xa, xb = _data(2, 5), _data(2, 5, seed=1)
    k, bias = dense.kernel.data, dense.bias.data
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), xa @ k + xb @ k + 2 * bias,
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="was built for inputs of shape"):
        dense(mc.Input((6,)))


def test_multi_input_and_output_models_predict_in_their_structure():
    a, b = mc.Input((3,), name="a"), mc.Input((2,), name="b")
    joined = L.concatenate([a, b])
    out1, out2 = L.Dense(1, name="o1")(joined), L.Dense(2, name="o2")(joined)
    model = mc.Model({"a": a, "b": b}, {"first": out1, "second": out2})
    xa, xb = _data(5, 3), _data(5, 2, seed=1)
    got = model.predict({"a": xa, "b": xb}, batch_size=2, verbose=0)
    assert sorted(got) == ["first", "second"]
    assert got["first"].shape == (5, 1) and got["second"].shape == (5, 2)
    full = np.concatenate([xa, xb], axis=1)
    np.testing.assert_allclose(got["second"], model.get_layer("o2")(full).data, rtol=1e-5,
                               atol=1e-6)
    eager = model({"a": xa, "b": xb})
    np.testing.assert_allclose(eager["first"].data, got["first"], rtol=1e-5, atol=1e-6)
    listed = mc.Model([a, b], [out1, out2])
    assert isinstance(listed.predict([xa, xb], verbose=0), list)
    assert isinstance(listed.predict_on_batch([xa, xb]), list)


def test_several_inputs_and_outputs_train_on_the_summed_loss():
    a, b = mc.Input((3,), name="a"), mc.Input((2,), name="b")
    joined = L.concatenate([a, b])
    out1, out2 = L.Dense(1, name="o1")(joined), L.Dense(2, name="o2")(joined)
    model = mc.Model([a, b], [out1, out2])
    xa, xb = _data(6, 3), _data(6, 2, seed=1)
    y1, y2 = _data(6, 1, seed=2), _data(6, 2, seed=3)
    model.compile(optimizer="sgd", loss=["mse", mc.losses.MeanSquaredError(reduction="sum")])
    with mc.no_grad():
        p1, p2 = model([xa, xb])
    expect = np.mean((p1.data - y1) ** 2) + np.sum(np.mean((p2.data - y2) ** 2, axis=-1))
    np.testing.assert_allclose(model.test_on_batch([xa, xb], [y1, y2]), expect, rtol=1e-5)
    model.compile(optimizer="sgd", loss={"o1": "mse", "o2": "mse"})
    history = model.fit([xa, xb], [y1, y2], epochs=4, batch_size=3, verbose=0,
                        validation_data=([xa, xb], [y1, y2]))
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert len(history.history["val_loss"]) == 4
    assert np.isfinite(model.evaluate([xa, xb], [y1, y2], verbose=0))
    model.fit([xa, xb], [y1, y2], epochs=1, validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="metrics for several outputs"):
        model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    with pytest.raises(ValueError, match="has 2 outputs. Received: a list of 3"):
        model.compile(optimizer="sgd", loss=["mse"] * 3)
    with pytest.raises(ValueError, match="list of 2 arrays"):
        model.fit([xa, xb], y1, verbose=0)
    single = mc.Model([a, b], out1)  # several inputs, one output: metrics are fine
    single.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
    logs = single.fit([xa, xb], y1, epochs=2, verbose=0)
    assert sorted(logs.history) == ["accuracy", "loss"]


def test_nested_sequential_is_a_layer_symbolically_and_eagerly():
    augment = mc.Sequential([L.Rescaling(0.5, name="half")], name="augment")
    head = mc.Sequential([L.Dense(2, name="inner_dense")], name="head")
    inp = mc.Input((4,), name="x")
    model = mc.Model(inp, head(augment(inp)))
    assert [lay.name for lay in model.layers] == ["x", "augment", "head"]
    assert model.count_params() == 10 and len(model.get_weights()) == 2
    x = _data(3, 4)
    inner = head.get_layer("inner_dense")
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               (0.5 * x) @ inner.kernel.data + inner.bias.data, rtol=1e-6)
    # training the outer model trains the nested one's weights
    model.compile(optimizer="sgd", loss="mse")
    before = inner.kernel.data.copy()
    model.train_on_batch(x, np.ones((3, 2)))
    assert not np.array_equal(before, inner.kernel.data)
    # a functional model called eagerly, and nested in a Sequential
    outer = mc.Sequential([mc.Input((4,)), model, L.Dense(1)])
    assert outer.output_shape == (None, 1) and outer(x).shape == (3, 1)


def test_a_model_called_on_new_inputs_reuses_its_layers():
    inner = _residual("inner")
    inp = mc.Input((8, 8, 3))
    out = L.add([inner(inp), inner(inp)])
    model = mc.Model(inp, out)
    assert model.count_params() == inner.count_params()
    x = _data(2, 8, 8, 3)
    np.testing.assert_allclose(model.predict(x, verbose=0), 2 * inner.predict(x, verbose=0),
                               rtol=1e-5)


def test_fit_evaluate_and_train_on_batch_work_on_a_graph():
    model = _residual()
    model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])
    x, y = _data(8, 8, 8, 3), _data(8, 2, seed=1)
    history = model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert isinstance(model.train_on_batch(x, y), list)
    assert isinstance(model.test_on_batch(x, y, return_dict=True), dict)


# ------------------------------------------------------------------------ fusion
def test_conv_pool_pairs_fuse_only_when_the_pool_is_the_only_consumer(monkeypatch):
    use_path("defaults", monkeypatch)  # fusion is the fast path's, on even under MINICNN_FAST=0
    inp = mc.Input((8, 8, 3))
    c1 = L.Conv2D(4, 3, activation="relu", padding="same", name="c1")(inp)
    p1 = L.MaxPooling2D(2, name="p1")(c1)  # fusable: p1 is c1's only consumer
    c2 = L.Conv2D(4, 3, activation="relu", padding="same", name="c2")(p1)
    p2 = L.MaxPooling2D(2, name="p2")(c2)
    side = L.Flatten()(c2)  # c2 also feeds this: no fusion for c2/p2
    out = L.concatenate([L.Flatten()(p2), side])
    model = mc.Model(inp, out)
    fused = {model._plan.steps[i].layer.name: model._plan.steps[j].layer.name
             for i, j in model._plan.fused.items()}
    assert fused == {"c1": "p1"}
    x = _data(2, 8, 8, 3)
    y1 = model.get_layer("p1")(model.get_layer("c1")(x))
    c2v = model.get_layer("c2")(y1)
    expect = np.concatenate([model.get_layer("p2")(c2v).data.reshape(2, -1),
                             c2v.data.reshape(2, -1)], axis=1)
    np.testing.assert_allclose(model.predict(x, verbose=0), expect, rtol=1e-5, atol=1e-6)
    # a conv whose output is a model output is never fused away
    two = mc.Model(inp, [c1, p1])
    assert two._plan.fused == {}


def test_sequential_runs_on_the_same_plan_with_fusion(monkeypatch):
    use_path("defaults", monkeypatch)
    model = mc.Sequential([mc.Input((8, 8, 3)), L.Conv2D(4, 3, activation="relu"),
                           L.MaxPooling2D(2), L.Flatten()])
    plan = model._chain_plan()
    assert isinstance(plan, GraphPlan) and plan.fused == {0: 1}


# ------------------------------------------------------------------------ merges
def test_merge_layers_compute_keras_values_and_shapes():
    a, b = _data(2, 3, 4), _data(2, 3, 4, seed=1)
    np.testing.assert_allclose(L.add([a, b]).data, a + b)
    np.testing.assert_allclose(L.subtract([a, b]).data, a - b)
    np.testing.assert_allclose(L.multiply([a, b]).data, a * b)
    np.testing.assert_allclose(L.average([a, b, b]).data, (a + b + b) / 3, rtol=1e-6)
    np.testing.assert_allclose(L.maximum([a, b]).data, np.maximum(a, b))
    np.testing.assert_allclose(L.minimum([a, b]).data, np.minimum(a, b))
    np.testing.assert_allclose(L.concatenate([a, b], axis=1).data, np.concatenate([a, b], 1))
    # lower rank: size-1 axes inserted after the batch axis (Keras's expand_dims(x, 1))
    v = _data(2, 4, seed=2)
    np.testing.assert_allclose(L.add([a, v]).data, a + v[:, None, :])
    sym = L.add([mc.Input((3, 4)), mc.Input((1, 4))])
    assert sym.shape == (None, 3, 4)
    assert L.concatenate([mc.Input((3, 4)), mc.Input((3, 2))]).shape == (None, 3, 6)
    assert L.Concatenate.from_config(L.Concatenate(axis=1).get_config()).axis == 1


@pytest.mark.parametrize("bad,match", [
    (lambda: L.add([mc.Input((3,)), mc.Input((4,))]), "incompatible shapes"),
    (lambda: L.subtract([mc.Input((3,))] * 3), "exactly 2"),
    (lambda: L.Add()(mc.Input((3,))), "list of tensors"),
    (lambda: L.concatenate([mc.Input((3, 4)), mc.Input((2, 4))]), "matching shapes"),
    (lambda: L.concatenate([mc.Input((3,)), mc.Input((3,))], axis=0), "batch axis"),
    (lambda: L.add([np.zeros((2, 3)), np.zeros((3, 3))]), "different batch sizes"),
])
def test_merge_layers_reject_bad_inputs(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


@pytest.mark.parametrize("fn", [maximum, minimum])
def test_maximum_minimum_gradients(fn):
    rng = np.random.default_rng(0)
    a = rng.permutation(24).reshape(2, 3, 4) * 0.1  # no ties within eps
    b = rng.permutation(24).reshape(2, 3, 4) * 0.1 + 0.05
    check_gradients(fn, a, b)
    check_gradients(fn, a, b[:1, :, :1])  # broadcasting


def test_maximum_tie_sends_the_gradient_to_the_first_input_like_tensorflow():
    a = mc.Tensor([1.0, 2.0], requires_grad=True)
    b = mc.Tensor([1.0, 3.0], requires_grad=True)
    maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 1.0])


# ------------------------------------------------------------------- summary/save
def test_summary_matches_keras_with_connected_to_column():
    lines = []
    _residual().summary(line_length=76, print_fn=lines.append)
    # printed by Keras 3.15 for the same graph (tests/parity also compares it live)
    assert lines[:20] == [
        'Model: "residual"',
        "┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓",
        "┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩",
        "│ img (InputLayer)    │ (None, 8, 8, 3)   │          0 │ -                 │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ conv_a (Conv2D)     │ (None, 8, 8, 4)   │        112 │ img[0][0]         │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ conv_b (Conv2D)     │ (None, 8, 8, 4)   │         16 │ img[0][0]         │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ sum (Add)           │ (None, 8, 8, 4)   │          0 │ conv_a[0][0],     │",
        "│                     │                   │            │ conv_b[0][0]      │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ cat (Concatenate)   │ (None, 8, 8, 8)   │          0 │ sum[0][0],        │",
        "│                     │                   │            │ conv_a[0][0]      │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ flat (Flatten)      │ (None, 512)       │          0 │ cat[0][0]         │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ head (Dense)        │ (None, 2)         │      1,026 │ flat[0][0]        │",
        "└─────────────────────┴───────────────────┴────────────┴───────────────────┘",
    ]
    assert lines[20] == " Total params: 1,154 (4.51 KB)"


def test_a_chain_shaped_graph_prints_the_three_column_table():
    inp = mc.Input((3,), name="x")
    lines = []
    mc.Model(inp, L.Dense(2)(inp), name="chain").summary(line_length=60, print_fn=lines.append)
    assert "Connected to" not in lines[2] and lines[4].startswith("│ x (InputLayer)")


def test_save_and_load_model_round_trip(tmp_path):
    model = _residual()
    model.compile(optimizer="adam", loss="mse")
    x, y = _data(4, 8, 8, 3), _data(4, 2, seed=1)
    model.train_on_batch(x, y)
    path = tmp_path / "residual.npz"
    model.save(path)
    restored = mc.load_model(path)
    assert type(restored) is mc.Model
    assert restored.get_config() == model.get_config()
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    # optimizer state came back: the next step is the same on both
    np.testing.assert_allclose(restored.train_on_batch(x, y), model.train_on_batch(x, y),
                               rtol=1e-6)
    for u, v in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)
    weights = tmp_path / "residual.weights.npz"
    model.save_weights(weights)
    fresh = _residual("fresh")
    fresh.load_weights(weights)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_config_round_trip_keeps_shared_layers_nested_models_and_structure(tmp_path):
    dense = L.Dense(2, name="shared")
    inner = mc.Sequential([L.Dense(3, name="inner_dense")], name="inner")
    a, b = mc.Input((4,), name="a"), mc.Input((4,), name="b")
    out = inner(L.concatenate([dense(a), dense(b)], name="cat"))
    model = mc.Model([a, b], [out, L.maximum([dense(a), dense(b)], name="mx")], name="multi")
    model.compile(optimizer="sgd", loss=["mse", mc.losses.MeanSquaredError(reduction="sum")])
    path = tmp_path / "multi.npz"
    model.save(path)
    restored = mc.load_model(path)
    assert restored.get_config() == model.get_config()
    assert restored.compile_config() == model.compile_config()
    assert len(restored.get_layer("shared").inbound_nodes) == 4
    xs = [_data(3, 4), _data(3, 4, seed=1)]
    for u, v in zip(restored.predict(xs, verbose=0), model.predict(xs, verbose=0)):
        np.testing.assert_array_equal(u, v)
    ys = [_data(3, 3, seed=2), _data(3, 2, seed=3)]
    assert restored.test_on_batch(xs, ys) == model.test_on_batch(xs, ys)


def test_set_weights_checks_count_and_shapes():
    model = _residual()
    weights = model.get_weights()
    model.set_weights([w + 1 for w in weights])
    np.testing.assert_array_equal(model.get_layer("conv_a").bias.data, weights[1] + 1)
    with pytest.raises(ValueError, match="6 weight arrays. Received: 5"):
        model.set_weights(weights[:5])
    with pytest.raises(ValueError, match="shape"):
        model.set_weights([np.zeros(1)] + weights[1:])


# ------------------------------------------------------------------------- errors
def test_disconnected_graph_is_an_error():
    a, b = mc.Input((3,), name="a"), mc.Input((3,), name="b")
    out = L.add([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        mc.Model(a, out)


def test_non_symbolic_inputs_or_outputs_are_errors():
    inp = mc.Input((3,))
    with pytest.raises(ValueError, match="outputs must be symbolic tensors"):
        mc.Model(inp, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="inputs must be symbolic tensors"):
        mc.Model(mc.Tensor(np.zeros((1, 3))), L.Dense(1)(inp))
    with pytest.raises(TypeError, match="both are required"):
        mc.Model()
    with pytest.raises(ValueError, match="a mix of symbolic tensors"):
        L.add([inp, np.zeros((1, 3))])


def test_wrong_input_count_or_shape_is_an_error():
    a, b = mc.Input((3,)), mc.Input((3,))
    model = mc.Model([a, b], L.add([a, b]))
    with pytest.raises(ValueError, match="expects 2 input"):
        model(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="expects 2 input"):
        model.predict([np.zeros((1, 3))], verbose=0)
    single = mc.Model(a, L.Dense(2)(a))
    with pytest.raises(ValueError, match=r"expects shape \(None, 3\)"):
        single(np.zeros((1, 4)))


def test_duplicate_layer_names_are_an_error():
    inp = mc.Input((3,))
    x = L.Dense(3, name="same")(inp)
    with pytest.raises(ValueError, match='"same" is used 2 times'):
        mc.Model(inp, L.Dense(3, name="same")(x))


def test_freezing_a_model_freezes_its_layers_like_keras():
    base = mc.Sequential([mc.Input((4,)), L.Dense(3, name="base_dense")], name="base")
    inp = mc.Input((4,))
    model = mc.Model(inp, L.Dense(1, name="top")(base(inp)))
    base.trainable = False
    assert not base.get_layer("base_dense").trainable
    assert [w.name for w in model.trainable_weights] == ["top/kernel", "top/bias"]
    assert len(model.non_trainable_weights) == 2
    model.compile(optimizer="sgd", loss="mse")
    frozen = base.get_weights()
    model.train_on_batch(_data(4, 4), np.ones((4, 1)))
    assert all(np.array_equal(u, v) for u, v in zip(frozen, base.get_weights()))
    base.trainable = True
    assert base.get_layer("base_dense").trainable and len(model.trainable_weights) == 4
    # a layer frozen on its own stays frozen through a config round trip
    model.get_layer("top").trainable = False
    again = mc.Model.from_config(model.get_config())
    assert not again.get_layer("top").trainable and again.trainable


def test_a_single_output_given_as_a_list_trains_like_keras():
    inp = mc.Input((3,))
    model = mc.Model(inp, [L.Dense(1)(inp)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = _data(4, 3), _data(4, 1, seed=1)
    assert np.isfinite(model.train_on_batch(x, [y]))
    assert isinstance(model.predict(x, verbose=0), list)
    history = model.fit(x, y, epochs=2, verbose=0)  # a bare array is its only label
    assert len(history.history["loss"]) == 2
