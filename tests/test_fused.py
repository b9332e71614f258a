"""Conv2D(relu) + MaxPooling2D fused (minicnn.fast.fused, minicnn.models.fusion) against the two
operations run one after the other: the same numbers, forward and every gradient."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.fast import chunks as split
from minicnn.fast import routes
from minicnn.fast.fused import Conv2DReluMaxPoolFn, conv2d_relu_max_pool
from minicnn.models import fusion
from minicnn.ops.conv import conv2d, max_pool2d
from tests.paths import use_path


@pytest.fixture(autouse=True)
def fast_path(monkeypatch):
    """These tests are about the fast path's routes: on, with its switches at their defaults,
    even in a run with MINICNN_FAST=0 or MINICNN_WINOGRAD / MINICNN_FUSE set."""
    use_path("defaults", monkeypatch)

CASES = [
    # (N, H, W, C, K, F, strides, padding, pool, bias, input_grad)
    (4, 17, 19, 3, 3, 8, (1, 1), "valid", (2, 2), True, False),  # odd output: last row dropped
    (3, 16, 16, 5, 3, 6, (2, 2), "same", (2, 2), False, True),
    (5, 20, 13, 16, 5, 7, (1, 1), "same", (3, 3), True, True),
    (2, 12, 12, 4, 3, 4, (1, 1), "valid", (2, 3), True, True),
    (3, 15, 14, 16, 3, 8, (1, 1), "same", (2, 2), False, True),  # chunks take Winograd
]


def _run(x, w, b, case, gy, fused):
    N, H, W, C, K, F, strides, padding, pool, bias, input_grad = case
    xt = mc.Tensor(x, requires_grad=input_grad)
    wt = mc.Tensor(w, requires_grad=True)
    bt = mc.Tensor(b, requires_grad=True) if bias else None
    if fused:
        y = conv2d_relu_max_pool(xt, wt, bt, strides, padding, pool)
        assert isinstance(y._ctx, Conv2DReluMaxPoolFn)
    else:
        y = max_pool2d(conv2d(xt, wt, bt, strides, padding, "relu"), pool)
    y.backward(gy if gy is not None else np.ones(y.shape, np.float32))
    return y.data, xt.grad, wt.grad, None if bt is None else bt.grad


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("controllable_blas", [True, False])
def test_fused_equals_conv_then_pool(case, controllable_blas, monkeypatch):
    monkeypatch.setattr(routes, "SPLIT_MIN_ELEMENTS", 1)
    monkeypatch.setattr(split, "CHUNK_BYTES", 1)  # one image per chunk: the most chunks
    if not controllable_blas:  # the batch then runs as one chunk on the calling thread
        monkeypatch.setattr(split, "run_chunks", lambda *a, **k: None)
    N, H, W, C, K, F, strides, padding, pool, bias, input_grad = case
    rng = np.random.default_rng(CASES.index(case))
    x = rng.standard_normal((N, H, W, C), dtype=np.float32)
    w = (rng.standard_normal((K, K, C, F)) / np.sqrt(K * K * C)).astype(np.float32)
    b = rng.standard_normal(F, dtype=np.float32) - 1  # many windows stay below 0
    apart = _run(x, w, b, case, None, fused=False)
    gy = rng.standard_normal(apart[0].shape, dtype=np.float32)
    apart = _run(x, w, b, case, gy, fused=False)
    together = _run(x, w, b, case, gy, fused=True)
    assert (apart[0] > 0).mean() > 0.3 and (apart[0] == 0).any()  # both sides of the ReLU
    for name, a, e in zip(("y", "gx", "gw", "gb"), together, apart):
        if e is None:
            assert a is None, name
            continue
        assert a.dtype == np.float32 and a.shape == e.shape, name
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-5 * np.abs(e).max(), err_msg=name)


@pytest.mark.parametrize("n, dtype, fused", [
    (8, np.float32, True), (1, np.float32, False), (8, np.float64, False),
])
def test_only_batches_the_convolution_splits_are_fused(n, dtype, fused):
    x = mc.Tensor(np.ones((n, 64, 64, 3)), dtype=dtype)
    w = mc.Tensor(np.full((3, 3, 3, 4), 0.1), dtype=dtype, requires_grad=True)
    y = conv2d_relu_max_pool(x, w)
    assert y.shape == (n, 31, 31, 4) and y.dtype == dtype
    assert isinstance(y._ctx, Conv2DReluMaxPoolFn) is fused
    np.testing.assert_allclose(y.data, 2.7, rtol=1e-6)


def test_errors_name_the_layer():
    x = mc.Tensor(np.ones((4, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="Conv2D 'c'.*input with 3 channels"):
        conv2d_relu_max_pool(x, mc.Tensor(np.ones((3, 3, 4, 2), np.float32)), who="Conv2D 'c'")
    with pytest.raises(ValueError, match="Conv2D 'c'.*does not fit"):
        conv2d_relu_max_pool(x, mc.Tensor(np.ones((9, 9, 3, 2), np.float32)), who="Conv2D 'c'")


@pytest.mark.parametrize("conv_kwargs, pool_kwargs, expected", [
    ({"activation": "relu"}, {}, True),
    ({"activation": "relu"}, {"pool_size": 3}, True),
    ({}, {}, False),  # linear
    ({"activation": "sigmoid"}, {}, False),
    ({"activation": "relu"}, {"strides": 1}, False),  # overlapping windows
    ({"activation": "relu"}, {"padding": "same"}, False),
])
def test_which_layer_pairs_fuse(conv_kwargs, pool_kwargs, expected):
    conv = mc.layers.Conv2D(4, 3, **conv_kwargs)
    assert fusion.fusable(conv, mc.layers.MaxPooling2D(**pool_kwargs)) is expected
    assert not fusion.fusable(conv, mc.layers.AveragePooling2D())


def test_a_model_trains_the_same_fused_and_apart(monkeypatch):
    """Two identical models, one step of fit each: the same loss and the same weights after."""
    monkeypatch.setattr(routes, "SPLIT_MIN_ELEMENTS", 1)
    rng = np.random.default_rng(3)
    x = rng.random((6, 24, 24, 3), dtype=np.float32)
    y = rng.integers(0, 2, 6).astype(np.float32)
    results = []
    for fuse in (True, False):
        monkeypatch.setattr(routes, "FUSE", fuse)
        mc.set_seed(0)
        model = mc.Sequential([
            mc.Input((24, 24, 3)),
            mc.layers.Conv2D(8, 3, activation="relu"), mc.layers.MaxPooling2D(),
            mc.layers.Conv2D(8, 3, activation="relu"), mc.layers.MaxPooling2D(),
            mc.layers.Flatten(), mc.layers.Dense(1, activation="sigmoid"),
        ])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        before = model.get_weights()
        out = model.predict(x, verbose=0)
        loss = model.train_on_batch(x, y)
        results.append((out, loss, model.get_weights()))
        assert not np.allclose(before[0], results[-1][2][0])  # the step moved the kernel
    (out_f, loss_f, w_f), (out_a, loss_a, w_a) = results
    np.testing.assert_allclose(out_f, out_a, rtol=1e-6)
    assert loss_f == pytest.approx(loss_a, rel=1e-6)
    for a, e in zip(w_f, w_a):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-7)
