"""One image at inference on the fast path: its convolutions in row bands over the cores
(``rows-*`` routes, ``fused-rows``), the Winograd kernel transform kept while the weights stay
the same, and the shipped model's single-image prediction against the plain path."""

import threading
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn.tensor import no_grad
from tests.paths import use_path

MODEL = Path(__file__).resolve().parents[1] / "examples" / "weights" / "catdog.npz"


@pytest.fixture
def rows_everywhere(monkeypatch):
    """The fast path at its defaults, with every single-image convolution split in bands."""
    from minicnn.fast import routes

    use_path("defaults", monkeypatch)
    monkeypatch.setattr(routes, "ROWS_MIN_MACS", 0)
    return routes


def _plain(monkeypatch, fn):
    from minicnn.ops import route

    with monkeypatch.context() as m:
        m.setattr(route, "FAST", False)
        return fn()


# (H, W, C, F, kernel, strides, padding, bias, activation, expected route)
CASES = [
    (20, 17, 16, 8, 3, 1, "valid", True, "relu", "rows-winograd"),
    (21, 18, 16, 8, 3, 1, "same", False, "linear", "rows-winograd"),
    (19, 16, 3, 8, 3, 1, "same", True, "relu", "rows-planar"),
    (23, 15, 5, 6, 3, 2, "same", True, "relu", "rows-im2col"),
    (22, 20, 8, 4, 5, 2, "valid", True, "linear", "rows-im2col"),
    (9, 9, 16, 4, 3, 1, "valid", True, "relu", "rows-im2col"),  # too few tiles for Winograd
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[-1] + f"-{c[6]}-s{c[5]}-k{c[4]}")
def test_single_image_conv_routes_match_the_plain_op(rows_everywhere, monkeypatch, case):
    H, W, C, F, k, s, padding, bias, act, expected = case
    rng = np.random.default_rng(1)
    x = mc.Tensor(rng.standard_normal((1, H, W, C)).astype(np.float32))
    w = mc.Tensor(rng.standard_normal((k, k, C, F)).astype(np.float32), requires_grad=True)
    b = mc.Tensor(rng.standard_normal(F).astype(np.float32), requires_grad=True) if bias \
        else None
    facts = dict(x=x, w=w, b=b, strides=(s, s), padding=padding, activation=act)
    with no_grad():
        assert rows_everywhere.route_for("conv2d", facts).name == expected
        got = mc.ops.conv.conv2d(x, w, b, (s, s), padding, act).data
        want = _plain(monkeypatch, lambda: mc.ops.conv.conv2d(x, w, b, (s, s), padding,
                                                              act).data)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_small_single_image_convolutions_take_winograd_in_one_band(monkeypatch):
    from minicnn.fast import routes

    use_path("defaults", monkeypatch)
    rng = np.random.default_rng(6)
    x = mc.Tensor(rng.standard_normal((1, 7, 9, 32)).astype(np.float32))
    w = mc.Tensor(rng.standard_normal((3, 3, 32, 16)).astype(np.float32), requires_grad=True)
    b = mc.Tensor(rng.standard_normal(16).astype(np.float32), requires_grad=True)
    facts = dict(x=x, w=w, b=b, strides=(1, 1), padding="same", activation="relu")
    with no_grad():
        assert routes.route_for("conv2d", facts).name == "one-winograd"
        got = mc.ops.conv.conv2d(x, w, b, padding="same", activation="relu").data
        want = _plain(monkeypatch, lambda: mc.ops.conv.conv2d(x, w, b, padding="same",
                                                              activation="relu").data)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    monkeypatch.setattr(routes, "WINOGRAD", False)
    with no_grad():
        assert routes.route_for("conv2d", facts).name == "im2col"


@pytest.mark.parametrize("padding,H", [("valid", 23), ("same", 18), ("valid", 9)])
def test_single_image_fused_rows_match_conv_then_pool(rows_everywhere, monkeypatch, padding,
                                                      H):
    from minicnn.fast.fused import conv2d_relu_max_pool

    rng = np.random.default_rng(2)
    x = mc.Tensor(rng.standard_normal((1, H, H + 3, 16)).astype(np.float32))
    w = mc.Tensor(rng.standard_normal((3, 3, 16, 8)).astype(np.float32), requires_grad=True)
    b = mc.Tensor(rng.standard_normal(8).astype(np.float32), requires_grad=True)
    facts = dict(x=x, w=w, b=b, strides=(1, 1), padding=padding, activation="relu",
                 pool_size=(2, 2))
    with no_grad():
        assert rows_everywhere.route_for("conv2d+max_pool2d", facts).name == "fused-rows"
        got = conv2d_relu_max_pool(x, w, b, padding=padding).data
        want = _plain(monkeypatch, lambda: mc.ops.conv.max_pool2d(
            mc.ops.conv.conv2d(x, w, b, padding=padding, activation="relu")).data)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_rows_routes_only_where_no_gradient_is_recorded(rows_everywhere):
    x = mc.Tensor(np.ones((1, 12, 12, 16), np.float32))
    w = mc.Tensor(np.ones((3, 3, 16, 4), np.float32), requires_grad=True)
    facts = dict(x=x, w=w, b=None, strides=(1, 1), padding="valid", activation="relu")
    assert not rows_everywhere.route_for("conv2d", facts).name.startswith("rows")
    with no_grad():
        assert rows_everywhere.route_for("conv2d", facts).name.startswith("rows")
    frozen = mc.Tensor(np.ones((3, 3, 16, 4), np.float32))  # nothing asks for a gradient
    assert rows_everywhere.route_for("conv2d", dict(facts, w=frozen)).name.startswith("rows")
    # a batch of one trained with gradients still trains (and matches the plain path below)
    y = mc.ops.conv.conv2d(mc.Tensor(x.data, requires_grad=True), w, activation="relu")
    y.sum().backward()
    assert w.grad is not None and np.isfinite(w.grad).all()


def test_shipped_model_single_image_matches_the_plain_path(monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, (3, 128, 128, 3)).astype(np.float32)
    model = mc.load_model(MODEL)
    use_path("defaults", monkeypatch)
    from minicnn import profiler

    was = profiler.enabled()
    profiler.enable(True)
    before = dict(profiler._routes)
    try:
        got = [model.predict_on_batch(x[i:i + 1]) for i in range(3)]
    finally:
        profiler.enable(was)
    taken = {k for k, v in profiler._routes.items() if v > before.get(k, 0)}
    assert ("conv2d+max_pool2d", "fused-rows") in taken, taken
    assert ("conv2d", "rows-winograd") in taken, taken
    assert ("conv2d", "one-winograd") in taken, taken
    want = _plain(monkeypatch, lambda: model.predict_on_batch(x))
    np.testing.assert_allclose(np.concatenate(got), want, rtol=1e-5, atol=0)


def _small_model():
    mc.set_seed(0)
    model = mc.Sequential([mc.Input((20, 20, 16)),
                           mc.layers.Conv2D(16, 3, activation="relu"),
                           mc.layers.MaxPooling2D(),
                           mc.layers.Conv2D(8, 3, padding="same", activation="relu"),
                           mc.layers.Flatten(), mc.layers.Dense(2)])
    model.compile(optimizer=mc.optimizers.SGD(0.5), loss="mse")
    return model


def _check_against_plain(model, x, monkeypatch):
    got = model.predict_on_batch(x)
    want = _plain(monkeypatch, lambda: model.predict_on_batch(x))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    return got


def test_cached_kernel_transform_follows_weight_changes(rows_everywhere, monkeypatch,
                                                        tmp_path):
    """set_weights, an optimizer step (in place) and load_weights each change what a single
    image predicts, on the cached Winograd route as on the plain path."""
    from minicnn.fast import winograd

    rng = np.random.default_rng(4)
    model = _small_model()
    x = rng.standard_normal((1, 20, 20, 16)).astype(np.float32)
    first = _check_against_plain(model, x, monkeypatch)
    kernels = [id(w.data) for w in model.weights if w.data.ndim == 4]
    assert any(k in winograd._U_cache for k in kernels)  # the transform was kept

    saved = tmp_path / "w.weights.npz"
    model.save_weights(saved)
    weights = model.get_weights()
    model.set_weights([w * 1.5 for w in weights])
    after_set = _check_against_plain(model, x, monkeypatch)
    assert not np.allclose(after_set, first)

    before_step = model.get_weights()[0].copy()
    model.train_on_batch(rng.standard_normal((2, 20, 20, 16)).astype(np.float32),
                         rng.standard_normal((2, 2)).astype(np.float32))
    assert not np.array_equal(model.get_weights()[0], before_step)
    after_step = _check_against_plain(model, x, monkeypatch)
    assert not np.allclose(after_step, after_set)

    for w in model.weights:  # in place, as some user code does
        w.data[...] = 0.25 * w.data
    _check_against_plain(model, x, monkeypatch)

    model.load_weights(saved)
    np.testing.assert_allclose(_check_against_plain(model, x, monkeypatch), first, rtol=1e-6)


def test_cached_transform_is_dropped_with_its_array():
    from minicnn.fast import winograd

    w = np.random.default_rng(5).standard_normal((3, 3, 4, 4)).astype(np.float32)
    U = winograd.cached_transform(w)
    np.testing.assert_array_equal(U, winograd.transform_kernel(w))
    key = id(w)
    assert key in winograd._U_cache
    del w
    assert key not in winograd._U_cache


def test_single_image_predictions_from_several_threads(rows_everywhere, monkeypatch):
    """Threads predicting single images at once (bands of each on the shared pool, the
    transform cache shared) each get the serial answer, while another thread changes nothing
    and the weights stay put."""
    model = _small_model()
    xs = [np.random.default_rng(10 + i).standard_normal((1, 20, 20, 16)).astype(np.float32)
          for i in range(6)]
    expected = [model.predict_on_batch(x) for x in xs]
    got: dict[int, list] = {}
    errors = []

    def run(i):
        try:
            got[i] = [model.predict_on_batch(xs[(i + j) % 6]) for j in range(12)]
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for i, outs in got.items():
        for j, out in enumerate(outs):
            np.testing.assert_array_equal(out, expected[(i + j) % 6])
    assert len(got) == 4


@pytest.mark.parametrize("bias,act", [(True, "relu"), (False, "linear")])
def test_single_image_pointwise_rows_match_the_plain_op(rows_everywhere, monkeypatch, bias, act):
    from minicnn.ops.depthwise import pointwise_conv

    rng = np.random.default_rng(2)
    x = mc.Tensor(rng.standard_normal((1, 13, 11, 24)).astype(np.float32))
    w = mc.Tensor(rng.standard_normal((1, 1, 24, 16)).astype(np.float32), requires_grad=True)
    b = mc.Tensor(rng.standard_normal(16).astype(np.float32), requires_grad=True) if bias \
        else None
    facts = dict(x=x, w=w, b=b, strides=(1, 1), padding="valid")
    with no_grad():
        assert rows_everywhere.route_for("pointwise_conv", facts).name == "rows"
        got = pointwise_conv(x, w, b, act).data
        want = _plain(monkeypatch, lambda: pointwise_conv(x, w, b, act).data)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # recorded for a gradient: never the inference-only route
    route = rows_everywhere.route_for("pointwise_conv", facts)  # None: the plain op (small)
    assert route is None or route.name != "rows"


def _separable_inputs(seed, x_shape, multiplier, filters, bias):
    """x, and a SeparableConv2D's depthwise kernel, pointwise kernel and bias (or None) that
    record gradients: random float32, 3x3 window."""
    rng = np.random.default_rng(seed)
    C = x_shape[-1]
    x = mc.Tensor(rng.standard_normal(x_shape).astype(np.float32))
    dw = mc.Tensor(rng.standard_normal((3, 3, C, multiplier)).astype(np.float32),
                   requires_grad=True)
    pw = mc.Tensor(rng.standard_normal((1, 1, C * multiplier, filters)).astype(np.float32),
                   requires_grad=True)
    b = mc.Tensor(rng.standard_normal(filters).astype(np.float32), requires_grad=True) \
        if bias else None
    return x, dw, pw, b


@pytest.mark.parametrize("strides,padding,multiplier,bias,act", [
    ((1, 1), "same", 1, True, "relu"), ((2, 2), "valid", 2, False, "linear")])
def test_batch_separable_conv_chunks_match_the_two_ops(monkeypatch, strides, padding,
                                                       multiplier, bias, act):
    """separable_conv/chunks (a batch at inference): each chunk's depthwise output feeds its
    pointwise matmul in cache; the same numbers as depthwise_conv2d then pointwise_conv."""
    from minicnn.fast import routes
    from minicnn.ops.depthwise import depthwise_conv2d, pointwise_conv, separable_conv2d

    use_path("defaults", monkeypatch)
    monkeypatch.setattr(routes, "SPLIT_MIN_ELEMENTS", 0)
    x, dw, pw, b = _separable_inputs(3, (5, 15, 14, 6), multiplier, 8, bias)
    facts = dict(x=x, w=dw, b=b, strides=strides, padding=padding)
    with no_grad():
        assert routes.route_for("separable_conv", facts).name == "chunks"
        got = separable_conv2d(x, dw, pw, b, strides, padding, activation=act).data
        want = _plain(monkeypatch, lambda: pointwise_conv(
            depthwise_conv2d(x, dw, None, strides, padding), pw, b, act).data)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    # with a gradient recorded the two ops run (their backward needs the depthwise output)
    assert routes.route_for("separable_conv", facts) is None
    y = separable_conv2d(x, dw, pw, b, strides, padding, activation=act)
    y.sum().backward()
    assert dw.grad is not None and pw.grad is not None


@pytest.mark.parametrize("strides,padding,dilation,multiplier,bias,act,relu_input", [
    ((1, 1), "same", (1, 1), 1, True, "relu", False),
    ((1, 1), "same", (1, 1), 1, False, "linear", True),
    ((2, 2), "valid", (1, 1), 2, True, "relu", False),
    ((2, 2), "same", (1, 1), 1, True, "linear", True),
    ((1, 1), "same", (2, 2), 1, True, "relu", False),
    ((1, 1), "valid", (2, 2), 3, False, "relu", True)])
@pytest.mark.parametrize("route_name", ["rows", "one"])
def test_single_image_separable_routes_match_the_two_ops(monkeypatch, route_name, strides,
                                                         padding, dilation, multiplier, bias,
                                                         act, relu_input):
    """separable_conv/rows (one image in row bands, each band's depthwise over just the input
    rows it reads) and /one (the image as one chunk): the numbers of the two plain ops, at
    every geometry where a band's slice and shifted padding could go wrong."""
    from minicnn.fast import routes
    from minicnn.ops.depthwise import depthwise_conv2d, pointwise_conv, separable_conv2d

    use_path("defaults", monkeypatch)
    monkeypatch.setattr(routes, "ROWS_SEPARABLE_MIN_PIXELS", 0 if route_name == "rows" else 10**9)
    x, dw, pw, b = _separable_inputs(4, (1, 17, 13, 5), multiplier, 7, bias)
    facts = dict(x=x, w=dw, b=b, pw=pw, strides=strides, padding=padding)
    with no_grad():
        assert routes.route_for("separable_conv", facts).name == route_name
        got = separable_conv2d(x, dw, pw, b, strides, padding, dilation, activation=act,
                               relu_input=relu_input).data
        x_in = x.relu() if relu_input else x
        want = _plain(monkeypatch, lambda: pointwise_conv(
            depthwise_conv2d(x_in, dw, None, strides, padding, dilation), pw, b, act).data)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6 * np.abs(want).max())
    # a gradient recorded for any of the kernels, the pointwise one alone included: the two ops
    assert routes.route_for("separable_conv", facts) is None
    dw.requires_grad = False
    assert routes.route_for("separable_conv", facts) is None
    # a float64 pointwise kernel: the two ops, which compute in float64 (no float32 matmul)
    pw64 = mc.Tensor(pw.data.astype(np.float64))
    with no_grad():
        assert routes.route_for("separable_conv", dict(facts, pw=pw64)) is None
        y64 = separable_conv2d(x, dw, pw64, b, strides, padding, dilation, activation=act,
                               relu_input=relu_input).data
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y64, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_single_image_separable_rows_cover_every_output_row(monkeypatch):
    """More bands than output rows, and one row a band: no row is left unwritten."""
    from minicnn.fast import chunks, routes
    from minicnn.ops.depthwise import separable_conv2d

    use_path("defaults", monkeypatch)
    monkeypatch.setattr(routes, "ROWS_SEPARABLE_MIN_PIXELS", 0)
    for n_rows in (1, 2, 3):
        x = mc.Tensor(np.ones((1, n_rows, 4, 2), np.float32))
        dw = mc.Tensor(np.ones((3, 3, 2, 1), np.float32))
        pw = mc.Tensor(np.ones((1, 1, 2, 1), np.float32))
        with no_grad(), chunks.batch_step(1):
            y = separable_conv2d(x, dw, pw, padding="same").data
        # each output sums the 3x3 taps inside the image, over 2 channels
        inside_h = np.array([min(r + 2, n_rows) - max(r - 1, 0) for r in range(n_rows)])
        inside_w = np.array([min(c + 2, 4) - max(c - 1, 0) for c in range(4)])
        np.testing.assert_array_equal(y[0, :, :, 0], 2.0 * np.outer(inside_h, inside_w))


@pytest.mark.parametrize("rows", [False, True])
def test_fused_conv_max_pool_at_inference_skips_the_argmax(rows_everywhere, monkeypatch, rows):
    """Conv2D(relu) + MaxPooling2D fused (chunks for a batch, bands for one image): with no
    gradient to come the pooling kernel writes the maxima only, the same values as the
    training call's, which keeps the argmax for backward."""
    from minicnn.fast import fused
    from minicnn.kernels import jit as K

    monkeypatch.setattr(rows_everywhere, "SPLIT_MIN_ELEMENTS", 0)
    calls = []  # whether each call of the pooling kernel asked for the argmax
    kernel = K.max_pool_forward

    def spy(*args):
        calls.append(args[8] is not None)
        kernel(*args)

    monkeypatch.setattr(K, "max_pool_forward", spy)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1 if rows else 4, 12, 10, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    cls = fused.RowsConv2DReluMaxPoolFn if rows else fused.Conv2DReluMaxPoolFn
    options = dict(strides=(1, 1), padding="same", pool_size=(2, 2), method="im2col")
    with no_grad():
        inferred = cls.apply(mc.Tensor(x), mc.Tensor(w), mc.Tensor(b), **options).data
    assert calls and not any(calls), "the argmax was written at inference"
    if rows:  # inference only: compare with the batch route's training call on the image
        cls = fused.Conv2DReluMaxPoolFn
    calls.clear()
    trained = cls.apply(mc.Tensor(x), mc.Tensor(w, requires_grad=True), mc.Tensor(b),
                        **options)
    assert calls and all(calls) and trained._ctx.argmax.shape == inferred.shape
    if rows:  # bands run smaller GEMMs than the whole image: BLAS may sum in another order
        np.testing.assert_allclose(inferred, trained.data, rtol=1e-6, atol=1e-6)
    else:  # the same GEMMs on the same chunks: the same bits
        np.testing.assert_array_equal(inferred, trained.data)
    trained.sum().backward()  # the kept argmax serves backward


@pytest.mark.parametrize("chunked", [False, True])
def test_max_pool_at_inference_writes_the_same_maxima_without_the_argmax(monkeypatch, chunked):
    """No gradient to come: the fast max pool runs its kernel without the argmax, and the
    maxima are the training call's to the bit (NaN included); with a gradient recorded it
    keeps the argmax for backward."""
    from minicnn.fast import conv as fast_conv
    from minicnn.kernels import jit as K

    use_path("defaults", monkeypatch)
    calls = []  # whether each call of the kernel asked for the argmax
    kernel = K.max_pool_forward

    def spy(*args):
        calls.append(args[8] is not None)
        kernel(*args)

    spy.size_arg = kernel.size_arg
    monkeypatch.setattr(K, "max_pool_forward", spy)
    cls = fast_conv.ChunkedMaxPool2DFn if chunked else fast_conv.MaxPool2DFastFn
    x = np.random.default_rng(3).standard_normal((6, 9, 8, 5)).astype(np.float32)
    x[1, 3, 4, 2] = np.nan  # the first position of a window: its maximum stays NaN
    options = dict(pool_size=(3, 3), strides=(2, 2), padding="same")
    with no_grad():
        inferred = cls.apply(mc.Tensor(x), **options).data
    assert calls and not any(calls), "the argmax was written at inference"
    calls.clear()
    trained = cls.apply(mc.Tensor(x, requires_grad=True), **options)
    assert calls and all(calls) and trained._ctx.argmax.shape == inferred.shape
    np.testing.assert_array_equal(inferred, trained.data)
    assert np.isnan(inferred).any()
