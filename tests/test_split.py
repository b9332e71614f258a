"""The per-image split route of Conv2DFn against the one-GEMM route, and the BLAS switch."""

import numpy as np
import pytest

from minicnn import _blas
from minicnn.ops import split
from minicnn.ops.conv import Conv2DFn
from minicnn.ops.split import chunk_bounds, run_chunks


def _conv(x, w, b, needs, strides, padding, activation, gy, route):
    """Forward and backward of one Conv2DFn by the named route ("split" or "gemm")."""
    fn = Conv2DFn()
    fn.needs_input_grad = needs
    args = (x, w) if b is None else (x, w, b)
    original = fn._splittable
    fn._splittable = (lambda *a: original(*a)) if route == "split" else (lambda *a: False)
    y = fn.forward(*args, strides=strides, padding=padding, activation=activation)
    assert fn.split == (route == "split")
    grads = fn.backward(gy.reshape(y.shape))
    return y, grads


CASES = [
    # (N, H, W, C, KH, KW, F, strides, padding, activation, bias)
    (4, 17, 19, 3, 3, 3, 8, (1, 1), "valid", "relu", True),
    (3, 16, 16, 5, 3, 3, 6, (2, 2), "same", "relu", False),
    (5, 12, 13, 4, 5, 3, 7, (1, 2), "same", "linear", True),
    (2, 9, 9, 16, 3, 3, 4, (1, 1), "valid", "linear", False),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("needs", [(True, True, True), (False, True, True), (True, False, False)])
def test_split_route_equals_one_gemm(case, needs, monkeypatch):
    monkeypatch.setattr(split, "SPLIT_MIN_ELEMENTS", 1)
    monkeypatch.setattr(split, "CHUNK_BYTES", 1)  # one image per chunk: the most chunks
    N, H, W, C, KH, KW, F, strides, padding, activation, bias = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x = rng.standard_normal((N, H, W, C), dtype=np.float32)
    w = rng.standard_normal((KH, KW, C, F), dtype=np.float32)
    b = rng.standard_normal(F, dtype=np.float32) if bias else None
    needs = needs if bias else needs[:2]
    fn = Conv2DFn()
    fn.needs_input_grad = needs
    shape = fn.forward(*((x, w) if b is None else (x, w, b)), strides=strides, padding=padding,
                       activation=activation).shape
    gy = rng.standard_normal(shape, dtype=np.float32)
    y_split, g_split = _conv(x, w, b, needs, strides, padding, activation, gy, "split")
    y_gemm, g_gemm = _conv(x, w, b, needs, strides, padding, activation, gy, "gemm")
    np.testing.assert_allclose(y_split, y_gemm, rtol=1e-5, atol=1e-5)
    assert len(g_split) == len(g_gemm) == len(needs)
    for name, a, e, wanted in zip(("gx", "gw", "gb"), g_split, g_gemm, needs):
        if not wanted:
            assert a is None and e is None, name
            continue
        assert a.dtype == np.float32 and a.shape == e.shape, name
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4 * np.abs(e).max(), err_msg=name)


def test_large_float32_batch_takes_the_split_route_and_float64_does_not():
    x = np.ones((8, 64, 64, 16), np.float32)
    w = np.ones((3, 3, 16, 8), np.float32)
    fn = Conv2DFn()
    fn.needs_input_grad = (False, True)
    fn.forward(x, w)
    assert fn.split == (_blas.blas_threads() is not None)
    fn64 = Conv2DFn()
    fn64.needs_input_grad = (False, True)
    fn64.forward(x.astype(np.float64), w.astype(np.float64))
    assert fn64.split is False
    one = Conv2DFn()
    one.needs_input_grad = (False, True)
    one.forward(x[:1], w)
    assert one.split is False  # a single image: nothing to split over


def test_uncontrollable_blas_falls_back_to_one_gemm(monkeypatch):
    monkeypatch.setattr(split, "SPLIT_MIN_ELEMENTS", 1)
    monkeypatch.setattr(_blas, "_blas", lambda: None)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 8, 8, 2), dtype=np.float32)
    w = rng.standard_normal((3, 3, 2, 4), dtype=np.float32)
    fn = Conv2DFn()
    fn.needs_input_grad = (True, True)
    y = fn.forward(x, w, activation="relu")
    assert fn.split is False
    gx, gw = fn.backward(np.ones_like(y))
    assert gx.shape == x.shape and gw.shape == w.shape


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


@pytest.mark.parametrize("fn_name", ["MaxPool2DFn", "AvgPool2DFn"])
@pytest.mark.parametrize("pool,strides,padding", [((2, 2), (2, 2), "valid"),
                                                  ((3, 3), (2, 2), "same"),
                                                  ((2, 3), (1, 2), "same")])
def test_pooling_by_image_chunks_equals_whole_batch(fn_name, pool, strides, padding,
                                                    monkeypatch):
    from minicnn.ops import conv

    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 9, 11, 4), dtype=np.float32)
    x[:, ::2, ::3] = 1.0  # ties: the first maximum must win in both routes

    def run(splitting):
        monkeypatch.setattr(split, "SPLIT_MIN_ELEMENTS", 1 if splitting else 1 << 40)
        monkeypatch.setattr(split, "CHUNK_BYTES", 1)
        chunks = []
        original = split.run_chunks
        monkeypatch.setattr(split, "run_chunks",
                            lambda w, n, b: chunks.append(n) or original(w, n, b))
        fn = getattr(conv, fn_name)()
        fn.needs_input_grad = (True,)
        y = fn.forward(x, pool_size=pool, strides=strides, padding=padding)
        gx = fn.backward(y * 2 + 1)  # any gradient that differs per position
        assert bool(chunks) == splitting
        return y, gx

    y_split, gx_split = run(True)
    y_whole, gx_whole = run(False)
    np.testing.assert_array_equal(y_split, y_whole)
    np.testing.assert_array_equal(gx_split, gx_whole)


def test_training_and_batch_inference_hold_blas_at_one_thread_single_images_do_not():
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
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert seen == [1, 1, 1, before, 1, 1]
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


@pytest.mark.parametrize("route", ["split", "gemm"])
def test_planar_columns_give_the_same_convolution(route, monkeypatch):
    # few channels take im2col_planar (transposed columns); forcing the ordinary im2col must
    # give the same output and gradients, the input gradient included (a non-contiguous
    # column matrix cannot be reused for g @ w.T)
    from minicnn.ops import conv

    monkeypatch.setattr(split, "SPLIT_MIN_ELEMENTS", 1)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 11, 10, 3), dtype=np.float32)
    w = rng.standard_normal((3, 3, 3, 5), dtype=np.float32)
    b = rng.standard_normal(5, dtype=np.float32)
    gy = rng.standard_normal((3, 6, 5, 5), dtype=np.float32)
    args = (x, w, b, (True, True, True), (2, 2), "same", "relu", gy, route)
    y_planar, g_planar = _conv(*args)
    monkeypatch.setattr(conv, "PLANAR_MAX_CHANNELS", 0)
    y_rows, g_rows = _conv(*args)
    np.testing.assert_allclose(y_planar, y_rows, rtol=1e-6, atol=1e-6)
    for a, e in zip(g_planar, g_rows):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-5)
