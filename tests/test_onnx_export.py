"""ONNX export: every exported graph passes ``onnx.checker`` (full check) and onnxruntime computes
what minicnn's ``predict`` does, to <= 1e-5 relative (max |a - b| / max |b|), at batch sizes 1
and 7: each layer configuration of the parity grid (tests/parity/test_layers_parity.py), the
cat-dog network at 64 and 128 px, and the shipped model. Plus the rules the converters must get
right (explicit asymmetric 'same' pads, padding out of averages and maxima, NHWC flatten order),
the errors, the atomic write and ``examples/catdog.py export``.

In CI (``CI=true``) a missing onnx/onnxruntime fails these tests instead of skipping them.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn.export import ExportError
from minicnn.layers.base import Layer
from minicnn.models import catdog_network
from tests.layer_grids import CONV_GRID, POOL_GRID, conv_case_id

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "examples" / "weights" / "catdog.npz"
IMAGES = REPO / "examples" / "data" / "catdog_small" / "test_set"
TOL = 1e-5


def _import_or_fail(name):
    try:
        return importlib.import_module(name)
    except ImportError as err:
        reason = f"{name} is not importable ({err}); install the test extra"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}. In CI the ONNX tests must run, so this is a failure.")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def onnx():
    return _import_or_fail("onnx")


@pytest.fixture(scope="module")
def ort():
    return _import_or_fail("onnxruntime")


def export_and_run(onnx, ort, model, x):
    """Export ``model``, check the graph fully, and return (proto, {batch: (onnxruntime,
    minicnn)}) for the first 1 and all 7 samples of ``x``."""
    from minicnn.export.onnx import to_onnx

    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.shape[0] == "batch" and list(inp.shape[1:]) == list(model.input_shape[1:])
    results = {}
    for n in (1, 7):
        got = session.run(None, {inp.name: x[:n]})[0]
        want = model.predict(x[:n], verbose=0)
        results[n] = (got, want)
    return proto, results


def assert_close(results, tol=TOL):
    for n, (got, want) in results.items():
        assert got.shape == want.shape, (n, got.shape, want.shape)
        err = np.abs(got - want).max() / np.abs(want).max()
        assert err <= tol, f"batch {n}: relative error {err:.3g} > {tol}"


def check(onnx, ort, model, x, tol=TOL):
    proto, results = export_and_run(onnx, ort, model, x)
    assert_close(results, tol)
    for node in proto.graph.node:  # TF's 'same' is never left to auto_pad's convention
        assert all(a.name != "auto_pad" for a in node.attribute), node
    return proto


def _randomize(model, rng):
    """Non-trivial weights, biases included (they start at zero)."""
    model.set_weights([rng.standard_normal(w.shape).astype(np.float32) * (0.5 if w.ndim > 1
                       else 0.1) for w in model.get_weights()])


def _one_layer(layer, sample_shape, rng):
    model = mc.Sequential([mc.Input(sample_shape), layer])
    _randomize(model, rng)
    return model


def _ops(proto):
    return [node.op_type for node in proto.graph.node]


# --------------------------------------- the parity grid (tests/layer_grids.py), in ONNX
@pytest.mark.parametrize("case", CONV_GRID, ids=conv_case_id)
def test_conv2d(onnx, ort, monkeypatch, case):
    from minicnn.fast import routes

    monkeypatch.setattr(routes, "WINOGRAD", bool(case.get("winograd")))
    rng = np.random.default_rng(0)
    cin, cout = case["channels"]
    layer = mc.Conv2D(cout, case["kernel_size"], strides=case["strides"], padding=case["padding"])
    model = _one_layer(layer, (*case["size"], cin), rng)
    x = rng.standard_normal((7, *case["size"], cin)).astype(np.float32)
    check(onnx, ort, model, x)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "linear"])
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv2d_activation_and_bias(onnx, ort, activation, use_bias):
    rng = np.random.default_rng(1)
    layer = mc.Conv2D(4, 3, padding="same", activation=activation, use_bias=use_bias)
    model = _one_layer(layer, (6, 7, 3), rng)
    proto = check(onnx, ort, model, rng.standard_normal((7, 6, 7, 3)).astype(np.float32))
    if activation == "softmax":  # over the channels, which are axis 1 inside the NCHW run
        (softmax,) = [n for n in proto.graph.node if n.op_type == "Softmax"]
        assert softmax.attribute[0].i == 1


@pytest.mark.parametrize("kind", ["MaxPooling2D", "AveragePooling2D"])
@pytest.mark.parametrize("pool,strides,padding,size", POOL_GRID)
def test_pooling(onnx, ort, kind, pool, strides, padding, size):
    rng = np.random.default_rng(2)
    channels = 1 if pool == 3 and strides == 1 else 3
    model = _one_layer(getattr(mc.layers, kind)(pool, strides=strides, padding=padding),
                       (*size, channels), rng)
    check(onnx, ort, model, rng.standard_normal((7, *size, channels)).astype(np.float32))


@pytest.mark.parametrize("units,features,activation", [
    (1, 5, "sigmoid"), (7, 12, "relu"), (3, 4, "softmax"), (4, 3, "tanh"), (6, 9, None),
])
def test_dense(onnx, ort, units, features, activation):
    rng = np.random.default_rng(4)
    model = _one_layer(mc.Dense(units, activation=activation), (features,), rng)
    proto = check(onnx, ort, model, rng.standard_normal((7, features)).astype(np.float32))
    assert "Gemm" in _ops(proto)


def test_dense_without_bias_and_on_images(onnx, ort):
    """Dense on (N, H, W, C) acts on the last axis: MatMul (+ Add), softmax over it."""
    rng = np.random.default_rng(5)
    check(onnx, ort, _one_layer(mc.Dense(4, use_bias=False), (8,), rng),
          rng.standard_normal((7, 8)).astype(np.float32))
    model = mc.Sequential([mc.Input((5, 6, 3)), mc.Conv2D(4, 3, padding="same"),
                           mc.Dense(2, activation="softmax")])
    _randomize(model, rng)
    proto = check(onnx, ort, model, rng.standard_normal((7, 5, 6, 3)).astype(np.float32))
    assert "MatMul" in _ops(proto) and "Add" in _ops(proto)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "softmax", "linear"])
def test_activation(onnx, ort, activation):
    rng = np.random.default_rng(6)
    model = mc.Sequential([mc.Input((4, 5, 6)), mc.Activation(activation)])
    x = (rng.standard_normal((7, 4, 5, 6)) * 6).astype(np.float32)  # reaches saturation
    check(onnx, ort, model, x)


def test_activation_inside_nchw_run_keeps_channels(onnx, ort):
    """An Activation between conv and pool runs on the NCHW tensor: softmax on axis 1 there."""
    rng = np.random.default_rng(7)
    model = mc.Sequential([mc.Input((6, 6, 3)), mc.Conv2D(5, 3), mc.Activation("softmax"),
                           mc.MaxPooling2D(2), mc.Flatten(), mc.Dense(3)])
    _randomize(model, rng)
    proto = check(onnx, ort, model, rng.standard_normal((7, 6, 6, 3)).astype(np.float32))
    assert _ops(proto).count("Transpose") == 2


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_dropout_is_left_out_and_rescaling_kept(onnx, ort, rate):
    rng = np.random.default_rng(8)
    model = mc.Sequential([mc.Input((6, 5, 3)), mc.Rescaling(2.0, offset=-1.0),
                           mc.Conv2D(4, 3, padding="same", activation="relu"),
                           mc.Dropout(rate), mc.Flatten(), mc.Dropout(rate), mc.Dense(2)])
    _randomize(model, rng)
    x = rng.uniform(0, 1, (7, 6, 5, 3)).astype(np.float32)
    proto = check(onnx, ort, model, x)
    assert _ops(proto) == ["Mul", "Add", "Transpose", "Conv", "Relu", "Transpose", "Flatten",
                           "Gemm"]


# ------------------------------------------------------------------------------ the rules
def test_flatten_is_in_nhwc_order(onnx, ort):
    """The Dense kernel after Flatten is used as is, so Flatten must see (h, w, c) order."""
    model = mc.Sequential([mc.Input((3, 4, 5)), mc.MaxPooling2D(1), mc.Flatten()])
    x = np.arange(7 * 60, dtype=np.float32).reshape(7, 3, 4, 5)
    _, results = export_and_run(onnx, ort, model, x)
    for got, want in results.values():
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(results[7][0], x.reshape(7, -1))


@pytest.mark.parametrize("kind,size,expected_pads", [
    ("conv", (7, 8), [0, 1, 1, 2]),  # kernel (2, 4), stride 1: the odd pixel bottom/right
    ("max", (7, 9), [0, 0, 1, 1]),   # pool 2 stride 2 at odd sizes: padding only after
    ("avg", (7, 9), [0, 0, 1, 1]),
])
def test_same_padding_is_explicit_and_asymmetric(onnx, ort, kind, size, expected_pads):
    layer = {"conv": lambda: mc.Conv2D(2, (2, 4), padding="same"),
             "max": lambda: mc.MaxPooling2D(2, padding="same"),
             "avg": lambda: mc.AveragePooling2D(2, padding="same")}[kind]()
    rng = np.random.default_rng(9)
    model = _one_layer(layer, (*size, 2), rng)
    proto = check(onnx, ort, model, rng.standard_normal((7, *size, 2)).astype(np.float32))
    (node,) = [n for n in proto.graph.node if n.op_type in ("Conv", "MaxPool", "AveragePool")]
    attrs = {a.name: a for a in node.attribute}
    assert list(attrs["pads"].ints) == expected_pads
    if kind == "avg":
        assert attrs["count_include_pad"].i == 0


def test_padding_never_counts_in_average_or_maximum(onnx, ort):
    """Averages of ones stay 1 at the padded edge; maxima of negatives never become 0."""
    ones = np.ones((7, 5, 5, 2), np.float32)
    model = _one_layer(mc.AveragePooling2D(2, padding="same"), (5, 5, 2), None)
    _, results = export_and_run(onnx, ort, model, ones)
    np.testing.assert_allclose(results[7][0], 1.0, rtol=1e-6)
    negative = -1 - np.random.default_rng(10).uniform(0, 1, (7, 5, 5, 2)).astype(np.float32)
    model = _one_layer(mc.MaxPooling2D(3, strides=2, padding="same"), (5, 5, 2), None)
    _, results = export_and_run(onnx, ort, model, negative)
    assert (results[7][0] < -1).all()
    assert_close(results)


# ------------------------------------------------------------------- the cat-dog networks
@pytest.mark.parametrize("size", [64, 128])
def test_catdog_network(onnx, ort, size):
    model = catdog_network((size, size, 3))
    x = np.random.default_rng(11).uniform(0, 1, (7, size, size, 3)).astype(np.float32)
    proto = check(onnx, ort, model, x)
    assert "Dropout" not in _ops(proto) and _ops(proto).count("Transpose") == 2


def _shipped_images():
    from minicnn.data import load_image

    paths = (sorted((IMAGES / "cats").glob("*.jpg"))[:4]
             + sorted((IMAGES / "dogs").glob("*.jpg"))[:3])
    return np.stack([load_image(p, (128, 128)) for p in paths]).astype(np.float32)


def test_shipped_model_on_real_images(onnx, ort):
    """Real photos, the logits (the last Dense with its sigmoid taken off) and the probabilities.

    The first photo is a cat at p = 1.4e-4. minicnn's sigmoid, 0.5 * (tanh(x / 2) + 1), and
    onnxruntime's are accurate to float32 steps of 2**-24 absolute, not relative, near 0: a
    one-ulp change of that logit moves p by 2e-4 relative in both. So a lone near-0 probability is
    compared absolutely; the logits, and the batch of 7 (max |p| near 1), relatively.
    """
    model = mc.load_model(SHIPPED)
    x = _shipped_images()
    proto, results = export_and_run(onnx, ort, model, x)
    assert_close({7: results[7]})
    got, want = results[1]
    assert np.abs(got - want).max() <= 2**-23, (got, want)
    assert proto.graph.input[0].name == "input_layer" and _ops(proto)[0] == "Mul"
    model.layers[-1].activation = mc.activations.linear
    proto, results = export_and_run(onnx, ort, model, x)
    assert _ops(proto)[-1] == "Gemm"
    assert_close(results)


# ------------------------------------------------------------------------ the file itself
def test_export_writes_a_named_versioned_file(onnx, ort, tmp_path):
    model = mc.Sequential([mc.Input((4, 4, 1)), mc.Conv2D(2, 3)], name="tiny")
    path = tmp_path / "tiny.onnx"
    model.export(path, format="onnx")
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    from minicnn.export.onnx import OPSET

    assert OPSET >= 17 and proto.opset_import[0].version == OPSET
    assert proto.producer_name == "minicnn" and proto.producer_version == mc.__version__
    assert proto.graph.name == "tiny"
    assert [i.name for i in proto.graph.input] == ["input_layer"]
    assert [o.name for o in proto.graph.output] == ["conv2d"]  # after the Transpose back
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 2, 2, 2]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(12).standard_normal((3, 4, 4, 1)).astype(np.float32)
    assert_close({3: (session.run(None, {"input_layer": x})[0], model.predict(x, verbose=0))})


def test_identity_model_gets_an_identity_node(onnx, ort):
    model = mc.Sequential([mc.Input((3,)), mc.Dropout(0.5)])
    x = np.arange(21, dtype=np.float32).reshape(7, 3)
    proto, results = export_and_run(onnx, ort, model, x)
    assert _ops(proto) == ["Identity"]
    np.testing.assert_array_equal(results[7][0], x)


def test_failed_export_leaves_the_previous_file(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous")

    class Scale(Layer):
        def call(self, x, training=False):
            return x * 2.0

    model = mc.Sequential([mc.Input((3,)), Scale(name="doubler")])
    with pytest.raises(ExportError):
        model.export(path)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


# ------------------------------------------------------------------ preprocessing layers
@pytest.mark.parametrize("layer, size", [
    (lambda: mc.layers.Resizing(5, 7), (9, 12)),  # downscale, both axes
    (lambda: mc.layers.Resizing(13, 6), (9, 4)),  # up one axis, down the other
    (lambda: mc.layers.Resizing(6, 6, interpolation="nearest"), (9, 13)),
    (lambda: mc.layers.Resizing(4, 4, crop_to_aspect_ratio=True), (9, 13)),
    (lambda: mc.layers.CenterCrop(5, 6), (9, 9)),
], ids=["resize-down", "resize-mixed", "resize-nearest", "resize-aspect-crop", "center-crop"])
def test_resizing_and_cropping(onnx, ort, layer, size):
    """Resize with TensorFlow's half-pixel sampling (the layers compute tf.image.resize's
    numbers), crops as a Slice; the batch axis stays dynamic."""
    rng = np.random.default_rng(5)
    model = mc.Sequential([mc.Input((*size, 3)), layer(), mc.Conv2D(2, 1)])
    _randomize(model, rng)
    check(onnx, ort, model, (rng.random((7, *size, 3), dtype=np.float32) * 255))


def test_random_crop_is_left_out(onnx, ort):
    rng = np.random.default_rng(6)
    model = mc.Sequential([mc.Input((8, 8, 3)), mc.layers.RandomCrop(4, 4),
                           mc.Conv2D(2, 3)])
    _randomize(model, rng)
    proto = check(onnx, ort, model, rng.random((7, 8, 8, 3), dtype=np.float32))
    assert "Slice" not in _ops(proto)


def test_center_crop_larger_than_the_input_is_refused(onnx):
    from minicnn.export.onnx import to_onnx

    model = mc.Sequential([mc.Input((4, 4, 3)), mc.layers.CenterCrop(6, 6, name="grow")])
    with pytest.raises(ExportError, match=r"CenterCrop 'grow'.*smaller than the crop"):
        to_onnx(model)


# ---------------------------------------------------------------------------------- errors
def test_every_layer_class_has_a_converter():
    """A layer added to minicnn.layers must come with its converter (abstract bases aside)."""
    from minicnn.export.registry import find_converter

    classes = {getattr(mc.layers, name) for name in mc.layers.__all__}
    layers = [c for c in classes if isinstance(c, type) and issubclass(c, Layer)
              and c not in (Layer, mc.layers.InputLayer) and c.__name__ != "Merge"]
    assert len(layers) >= 8  # the core layers, at least
    assert [c.__name__ for c in layers if find_converter(c) is None] == []


def test_unsupported_layer_is_named(onnx):
    class Scale(Layer):
        def call(self, x, training=False):
            return x * 2.0

    model = mc.Sequential([mc.Input((3,)), mc.Dense(2), Scale(name="doubler")])
    with pytest.raises(ExportError, match=r"layer 'doubler' of class Scale.*Conv2D"):
        from minicnn.export.onnx import to_onnx

        to_onnx(model)


def test_unsupported_activation_is_named(onnx):
    model = mc.Sequential([mc.Input((3,)), mc.Dense(2, activation=lambda t: t * 2.0,
                                                    name="custom")])
    with pytest.raises(ExportError, match=r"Dense 'custom'.*activation"):
        model.export("/nonexistent-folder/x.onnx")


def test_unsupported_format_is_named(tmp_path):
    model = mc.Sequential([mc.Input((3,)), mc.Dense(2)])
    with pytest.raises(ValueError, match=r"Supported formats: \['onnx'\]. "
                                         r"Received: format='tf_saved_model'"):
        model.export(tmp_path / "m", format="tf_saved_model")
    assert not list(tmp_path.iterdir())


def test_missing_onnx_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install minicnn\[onnx\]"):
        mc.Sequential([mc.Input((3,)), mc.Dense(2)]).export(tmp_path / "m.onnx")


def test_unbuilt_model_is_refused():
    with pytest.raises(ValueError, match="not built"):
        mc.Sequential([mc.Dense(2)]).export("/tmp/never-written.onnx")


# ------------------------------------------------------------------------------------ CLI
def _catdog(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, str(REPO / "examples" / "catdog.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def test_cli_export(onnx, ort, tmp_path):
    out = tmp_path / "catdog.onnx"
    result = _catdog("export", "--model", SHIPPED, out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"Wrote {out}: ONNX, float32 input 'input_layer' of shape "
                             "(batch, 128, 128, 3)\n")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = _shipped_images()[:2]
    assert_close({2: (session.run(None, {"input_layer": x})[0],
                      mc.load_model(SHIPPED).predict(x, verbose=0))})
    bad = _catdog("export", tmp_path / "no-such-folder" / "m.onnx")
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("error: Cannot write") and bad.stderr.count("\n") == 1
    missing = _catdog("export", "--model", tmp_path / "nope.npz", out)
    assert missing.returncode == 2 and "no such file" in missing.stderr


# --------------------------------------------- layers and models from other branches (15, 16)
# These converters are registered by class name. Where this checkout has the layer (or option, or
# functional Model), the case is exported and run as above; where it does not yet, the case checks
# what can be checked: a converter is registered for the class, and Conv2D refuses the option.
def _has(name):
    return hasattr(mc.layers, name)


def _conv2d_takes(option, value):
    try:
        mc.Conv2D(6, 3, **{option: value})
    except ValueError:
        return False
    return True


BLOCK_CASES = [
    ("BatchNormalization", {}, (6, 7, 3)),
    ("BatchNormalization", dict(center=False, scale=False, epsilon=1e-5), (6, 7, 3)),
    ("BatchNormalization", dict(axis=1), (4, 5, 3)),         # not the channels: Mul + Add
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, strides=2, padding="same"),
     (7, 9, 3)),
    ("DepthwiseConv2D", dict(kernel_size=(2, 3), dilation_rate=2, padding="same",
                             activation="relu"), (8, 9, 2)),
    ("SeparableConv2D", dict(filters=5, kernel_size=3, depth_multiplier=2, padding="same",
                             activation="tanh"), (7, 8, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, strides=2, use_bias=False), (9, 8, 3)),
    ("GlobalAveragePooling2D", {}, (5, 6, 3)),
    ("GlobalMaxPooling2D", dict(keepdims=True), (5, 6, 3)),
    ("ZeroPadding2D", dict(padding=((1, 2), (0, 3))), (4, 5, 2)),
    ("Reshape", dict(target_shape=(-1, 2)), (4, 5, 2)),
    ("ReLU", dict(max_value=6.0), (4, 5, 3)),
    ("ReLU", dict(negative_slope=0.1, max_value=2.0), (4, 5, 3)),
    ("ReLU", dict(threshold=0.5, negative_slope=0.2, max_value=3.0), (4, 5, 3)),
    ("ReLU", dict(threshold=0.5), (4, 5, 3)),
    ("LeakyReLU", {}, (4, 5, 3)),
    ("Conv2D", dict(filters=4, kernel_size=3, dilation_rate=2, padding="same"), (9, 8, 3)),
    ("Conv2D", dict(filters=6, kernel_size=3, groups=3, strides=2, padding="same"), (7, 7, 6)),
]


def _block_available(name, kwargs):
    if name == "Conv2D":
        option = "groups" if "groups" in kwargs else "dilation_rate"
        return _conv2d_takes(option, kwargs[option])
    return _has(name)


def _block_weights(model, rng):
    """Random weights; a BatchNormalization's moving variance positive."""
    weights = []
    for layer in model.layers:
        for name, w in zip(layer.weight_names(), layer.get_weights()):
            scale = 0.5 if w.ndim > 1 else 0.3
            value = rng.standard_normal(w.shape) * scale
            if name == "moving_variance":
                value = rng.uniform(0.5, 2.0, w.shape)
            weights.append(value.astype(np.float32))
    model.set_weights(weights)


@pytest.mark.parametrize("name,kwargs,shape", BLOCK_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(BLOCK_CASES)])
def test_block_layers(onnx, ort, name, kwargs, shape):
    from minicnn.export.registry import REGISTRY

    if not _block_available(name, kwargs):
        assert name in REGISTRY or getattr(mc.layers, name, None) in REGISTRY
        if name == "Conv2D":
            (option,) = {"groups", "dilation_rate"} & set(kwargs)
            with pytest.raises(ValueError, match=option):
                mc.Conv2D(**kwargs)
        return
    rng = np.random.default_rng(13)
    # a 1x1 convolution first, so the layer also reads an NCHW tensor inside the graph
    model = mc.Sequential([mc.Input(shape), mc.Conv2D(shape[-1], 1),
                           getattr(mc.layers, name)(**kwargs)])
    _block_weights(model, rng)
    x = (rng.standard_normal((7, *shape)) * 2).astype(np.float32)
    check(onnx, ort, model, x)
    if name == "BatchNormalization" and "axis" not in kwargs:  # and on (N, C) features
        dense = mc.Sequential([mc.Input((5,)), mc.Dense(4), getattr(mc.layers, name)(**kwargs)])
        _block_weights(dense, rng)
        check(onnx, ort, dense, rng.standard_normal((7, 5)).astype(np.float32))


def test_depthwise_weight_order(onnx, ort):
    """Output channel c * M + m comes from input channel c with kernel[..., c, m] (TF's order)."""
    if not _has("DepthwiseConv2D"):
        from minicnn.export.registry import REGISTRY

        assert "DepthwiseConv2D" in REGISTRY
        return
    model = mc.Sequential([mc.Input((3, 3, 2)),
                           mc.layers.DepthwiseConv2D(3, depth_multiplier=3, use_bias=False)])
    kernel = np.zeros((3, 3, 2, 3), np.float32)
    for c in range(2):
        for m in range(3):
            kernel[1, 1, c, m] = 10 * c + m + 1  # the centre tap only: y = x[c] * (10c + m + 1)
    model.set_weights([kernel])
    x = np.ones((7, 3, 3, 2), np.float32)
    _, results = export_and_run(onnx, ort, model, x)
    np.testing.assert_array_equal(results[7][0][0, 0, 0], [1, 2, 3, 11, 12, 13])
    assert_close(results)


FUNCTIONAL_CASES = ["residual", "inception", "two_inputs", "broadcast", "shared", "two_outputs"]


def _functional_model(case):
    """Small functional models: merges of NCHW branches, several inputs and outputs."""
    Input, L = mc.Input, mc.layers
    if case == "residual":  # conv branch + identity, Add, then pooling and a dense head
        x = Input((8, 8, 4), name="image")
        y = L.Conv2D(4, 3, padding="same", activation="relu")(x)
        y = L.Conv2D(4, 3, padding="same")(y)
        y = L.Activation("relu")(L.Add()([x, y]))
        y = L.Dense(3, activation="softmax")(L.Flatten()(L.MaxPooling2D(2)(y)))
        return mc.Model(x, y)
    if case == "inception":  # channels concatenated: axis -1 in NHWC is axis 1 inside
        x = Input((7, 9, 3))
        a = L.Conv2D(2, 1)(x)
        b = L.Conv2D(3, 3, padding="same")(x)
        c = L.AveragePooling2D(3, strides=1, padding="same")(x)
        y = L.Concatenate()([a, b, c])
        z = L.Concatenate(axis=1)([y, L.Conv2D(8, 1)(x)])  # along the height too
        smooth = L.AveragePooling2D(3, strides=1, padding="same")(z)
        return mc.Model(x, L.Subtract()([z, smooth]))
    if case == "two_inputs":
        image, meta = Input((6, 6, 2), name="image"), Input((3,), name="meta")
        f = L.Flatten()(L.Conv2D(2, 3, activation="relu")(image))
        y = L.Concatenate()([f, L.Dense(4, activation="tanh")(meta)])
        return mc.Model([image, meta], L.Dense(1, activation="sigmoid")(y))
    if case == "broadcast":  # Keras inserts the missing axes after the batch axis
        image, gate = Input((5, 6, 4)), Input((4,))
        y = L.Multiply()([L.Conv2D(4, 3, padding="same")(image), gate])
        return mc.Model([image, gate], L.Maximum()([y, L.Average()([y, image])]))
    if case == "shared":  # one layer called on two tensors
        x = Input((6, 6, 3))
        conv = L.Conv2D(3, 3, padding="same", activation="tanh")
        y = conv(conv(x))
        return mc.Model(x, L.Minimum()([y, x]))
    x = Input((6, 7, 3))  # two_outputs: a feature map and a vector
    y = L.Conv2D(4, 3, activation="relu")(x)
    return mc.Model(x, [y, L.Dense(2)(L.Flatten()(y))])


def _inputs_for(model, rng):
    return [rng.standard_normal((7, *t.shape[1:])).astype(np.float32) for t in model.inputs]


@pytest.mark.parametrize("case", FUNCTIONAL_CASES)
def test_functional_models(onnx, ort, case):
    from minicnn.export.onnx import to_onnx
    from minicnn.export.registry import REGISTRY

    if not hasattr(mc, "Model"):
        assert {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                "Concatenate"} <= set(REGISTRY)
        return
    rng = np.random.default_rng(14)
    model = _functional_model(case)
    _randomize(model, rng)
    xs = _inputs_for(model, rng)
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == [t.history[0].name for t in model.inputs]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for n in (1, 7):
        feeds = {i.name: x[:n] for i, x in zip(session.get_inputs(), xs)}
        got = session.run(None, feeds)
        want = model.predict([x[:n] for x in xs] if len(xs) > 1 else xs[0][:n], verbose=0)
        want = want if isinstance(want, list) else [want]
        assert len(got) == len(want) == len(model.outputs)
        for pair in zip(got, want):
            assert_close({n: pair})
