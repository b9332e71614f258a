"""Every fast convolution route against the plain Conv2DFn, the route choice, and the BLAS hold
around chunked batches."""

import warnings

import numpy as np
import pytest

from minicnn.fast import blas as _blas
from minicnn.fast import chunks as split
from minicnn.fast import conv as fast_conv
from minicnn.fast import routes
from minicnn.fast.chunks import chunk_bounds, run_chunks
from minicnn.ops.conv import Conv2DFn
from tests.paths import use_path


@pytest.fixture(autouse=True)
def fast_path(monkeypatch):
    """These tests are about the fast path's routes: on, with its switches at their defaults,
    even in a run with MINICNN_FAST=0 or MINICNN_WINOGRAD / MINICNN_FUSE set."""
    use_path("defaults", monkeypatch)


def _conv(cls, x, w, b, needs, strides, padding, activation, gy):
    """Forward and backward of one convolution Function class."""
    fn = cls()
    fn.needs_input_grad = needs
    args = (x, w) if b is None else (x, w, b)
    y = fn.forward(*args, strides=strides, padding=padding, activation=activation)
    grads = fn.backward(gy.reshape(y.shape))
    return y, grads


CASES = [
    # (N, H, W, C, KH, KW, F, strides, padding, activation, bias)
    (4, 17, 19, 3, 3, 3, 8, (1, 1), "valid", "relu", True),
    (3, 16, 16, 5, 3, 3, 6, (2, 2), "same", "relu", False),
    (5, 12, 13, 4, 5, 3, 7, (1, 2), "same", "linear", True),
    (2, 9, 9, 16, 3, 3, 4, (1, 1), "valid", "linear", False),
    (3, 10, 9, 16, 3, 3, 5, (1, 1), "same", "relu", True),
    (3, 6, 7, 8, 1, 1, 5, (1, 1), "valid", "relu", True),
]


def _routes_for(case):
    N, H, W, C, KH, KW, F, strides, padding, activation, bias = case
    names = ["Im2colConv2DFn", "PlanarConv2DFn", "ChunkedIm2colConv2DFn",
             "ChunkedPlanarConv2DFn"]
    if KH == KW == 3 and strides == (1, 1):
        names += ["WinogradConv2DFn", "ChunkedWinogradConv2DFn"]
    if KH == KW == 1 and strides == (1, 1) and padding == "valid":
        names += ["MatmulConv2DFn"]
    return names


@pytest.mark.parametrize("case,fn_name", [(c, n) for c in CASES for n in _routes_for(c)])
@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, False)])
def test_each_fast_route_equals_the_plain_convolution(case, fn_name, needs, monkeypatch):
    monkeypatch.setattr(split, "CHUNK_BYTES", 1)  # one image per chunk: the most chunks
    N, H, W, C, KH, KW, F, strides, padding, activation, bias = case
    rng = np.random.default_rng(sum(map(hash, map(str, case))) % 2**32)
    x = rng.standard_normal((N, H, W, C), dtype=np.float32)
    w = rng.standard_normal((KH, KW, C, F), dtype=np.float32)
    b = rng.standard_normal(F, dtype=np.float32) if bias else None
    needs = needs if bias else needs[:2]
    y_plain = Conv2DFn().forward(x, w, b, strides=strides, padding=padding)
    gy = rng.standard_normal(y_plain.shape, dtype=np.float32)
    y_fast, g_fast = _conv(getattr(fast_conv, fn_name), x, w, b, needs, strides, padding,
                           activation, gy)
    y_ref, g_ref = _conv(Conv2DFn, x, w, b, needs, strides, padding, activation, gy)
    np.testing.assert_allclose(y_fast, y_ref, rtol=1e-5, atol=1e-5 * np.abs(y_ref).max())
    assert len(g_fast) == len(g_ref) == len(needs)
    for name, a, e, wanted in zip(("gx", "gw", "gb"), g_fast, g_ref, needs):
        if not wanted:
            assert a is None and e is None, name
            continue
        assert a.dtype == np.float32 and a.shape == e.shape, name
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * np.abs(e).max(), err_msg=name)


def _route(N, H, C, dtype=np.float32, K=3, S=1, inference=False):
    # a kernel that asks for its gradient: the routes of a training step (inference=True: of
    # a prediction, which single images route differently)
    from minicnn.tensor import Tensor

    w = Tensor(np.ones((K, K, C, 8), dtype), requires_grad=not inference)
    return routes.choose("conv2d", dict(
        x=np.ones((N, H, H, C), dtype), w=w, b=None,
        strides=(S, S), padding="valid", activation="relu"))[1]


def test_the_route_table_picks_by_size_dtype_and_shape():
    assert _route(8, 64, 16) == "chunks-winograd"
    assert _route(8, 64, 3) == "chunks-planar"
    assert _route(8, 64, 16, S=2) == "chunks-im2col"
    assert _route(8, 64, 16, dtype=np.float64) == "im2col"  # gradient checks stay exact
    assert _route(1, 64, 16) == "im2col"  # a single image: nothing to split over
    assert _route(1, 64, 3) == "planar"
    assert _route(1, 64, 16, inference=True) == "one-winograd"  # too small to split
    assert _route(1, 128, 32, inference=True) == "rows-winograd"
    assert _route(1, 256, 32, S=2, inference=True) == "rows-im2col"
    assert _route(1, 64, 32, S=2, inference=True) == "im2col"  # small, no Winograd
    assert _route(8, 64, 16, K=1) == "1x1-matmul"
    assert _route(64, 6, 32) == "chunks-im2col"  # 2x2 tiles per image: too few for Winograd
    assert _route(2, 8, 16) == "im2col"  # too small to split
    rows = [r for r in routes.ROUTES]
    assert all(r.why for r in rows) and len({(r.op, r.name) for r in rows}) == len(rows)


def test_winograd_switch(monkeypatch):
    monkeypatch.setattr(routes, "WINOGRAD", False)
    assert _route(8, 64, 16) == "chunks-im2col"
    monkeypatch.setattr(routes, "WINOGRAD", True)
    assert _route(1, 64, 16) == "winograd"


def test_uncontrollable_blas_warns_once_and_runs_whole_batches(monkeypatch):
    monkeypatch.setattr(_blas, "_controllers", [])
    monkeypatch.setattr(_blas, "_why_not", "threadpoolctl is not installed")
    monkeypatch.setattr(_blas, "_warned", set())
    with pytest.warns(RuntimeWarning, match="chunked routes cannot run .threadpoolctl"):
        assert _route(8, 64, 16) == "im2col"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _route(8, 64, 16) == "im2col"  # once only


def test_blas_thread_count_is_restored_after_a_split_batch():
    before = _blas.blas_threads()
    if before is None:
        pytest.fail("numpy's BLAS should be controllable through threadpoolctl on CI")
    seen = run_chunks(lambda a, b: _blas.blas_threads(), 4, 8 << 20)
    assert seen and set(seen) == {1}
    assert _blas.blas_threads() == before


def test_chunk_errors_reach_the_caller():
    def work(a, b):
        raise RuntimeError(f"chunk {a}:{b} failed")

    with pytest.raises(RuntimeError, match="chunk 0:1 failed"):
        run_chunks(work, 4, 8 << 20)
    assert _blas.blas_threads() is not None


@pytest.mark.parametrize("n,item,workers", [(1, 10, 2), (32, 4 << 20, 2), (32, 1000, 2),
                                             (7, 3 << 20, 3), (32, 800_000, 1)])
def test_chunk_bounds_cover_the_batch_once_in_order(n, item, workers):
    bounds = chunk_bounds(n, item, workers)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a < b for a, b in bounds)
    assert all(b == a2 for (_, b), (a2, _) in zip(bounds, bounds[1:]))
    assert len(bounds) >= min(n, 2 * workers)


@pytest.mark.parametrize("fn_name", ["MaxPool2DFastFn", "AvgPool2DFastFn"])
@pytest.mark.parametrize("pool,strides,padding", [((2, 2), (2, 2), "valid"),
                                                  ((3, 3), (2, 2), "same"),
                                                  ((2, 3), (1, 2), "same")])
def test_pooling_by_image_chunks_equals_whole_batch(fn_name, pool, strides, padding,
                                                    monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 9, 11, 4), dtype=np.float32)
    x[:, ::2, ::3] = 1.0  # ties: the first maximum must win in both routes

    def run(splitting):
        monkeypatch.setattr(split, "CHUNK_BYTES", 1)
        chunks = []
        original = split.run_chunks
        monkeypatch.setattr(split, "run_chunks",
                            lambda w, n, b: chunks.append(n) or original(w, n, b))
        name = "Chunked" + fn_name.replace("Fast", "") if splitting else fn_name
        fn = getattr(fast_conv, name)()
        fn.needs_input_grad = (True,)
        y = fn.forward(x, pool_size=pool, strides=strides, padding=padding)
        gx = fn.backward(y * 2 + 1)  # any gradient that differs per position
        assert bool(chunks) == splitting
        return y, gx

    y_split, gx_split = run(True)
    y_whole, gx_whole = run(False)
    np.testing.assert_array_equal(y_split, y_whole)
    np.testing.assert_array_equal(gx_split, gx_whole)
    from minicnn.ops import conv as plain

    fn = getattr(plain, fn_name.replace("Fast", ""))()
    fn.needs_input_grad = (True,)
    np.testing.assert_array_equal(fn.forward(x, pool_size=pool, strides=strides,
                                             padding=padding), y_whole)
    np.testing.assert_array_equal(fn.backward(y_whole * 2 + 1), gx_whole)


def test_batches_and_single_image_inference_hold_blas_at_one_thread_one_image_training_not():
    """A single image at inference holds BLAS too (its convolutions run in row bands on the
    chunk threads, or single-threaded); a single-image training step keeps BLAS's threads."""
    import minicnn as mc

    seen = []

    class Probe(mc.layers.Layer):
        def call(self, x, training=False):
            seen.append(_blas.blas_threads())
            return x

    before = _blas.blas_threads()
    if before is None:
        pytest.fail("numpy's BLAS should be controllable through threadpoolctl on CI")
    model = mc.Sequential([mc.Input((4,)), Probe(), mc.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x, y = np.ones((8, 4), np.float32), np.ones((8, 1), np.float32)
    model.train_on_batch(x, y)
    model.test_on_batch(x, y)
    model.predict_on_batch(x)
    model.predict_on_batch(x[:1])
    model.train_on_batch(x[:1], y[:1])
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert seen == [1, 1, 1, 1, before, 1, 1]
    assert _blas.blas_threads() == before


def test_a_forked_child_can_still_run_split_batches():
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.fail("this test expects a POSIX machine (CI is Linux)")
    run_chunks(lambda a, b: None, 4, 8 << 20)  # the parent's pool now has threads
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        result = pool.apply_async(_split_in_child).get(timeout=120)
    assert result == [0, 1, 2, 3]


def _split_in_child():
    out = run_chunks(lambda a, b: list(range(a, b)), 4, 8 << 20)
    return None if out is None else sum(out, [])
