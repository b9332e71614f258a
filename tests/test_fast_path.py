"""The plain path alone (MINICNN_FAST=0), fast against plain on the cat-dog network, numpy's own
BLAS found beside a second one, and the allocator setting doing what its docstring says."""

import os
import sys

import numpy as np
import pytest

from tests.paths import use_path
from tests.test_threads import _python


def test_plain_path_trains_and_predicts_without_importing_the_fast_path():
    out, err = _python("""
        import sys, numpy as np, minicnn as mc
        from minicnn.models import catdog_network
        rng = np.random.default_rng(0)
        mc.set_seed(0)
        model = mc.Sequential([
            mc.Input((24, 24, 3)), mc.layers.Conv2D(8, 3, activation="relu"),
            mc.layers.MaxPooling2D(), mc.layers.Conv2D(8, 3, strides=2, padding="same"),
            mc.layers.AveragePooling2D(), mc.layers.Flatten(), mc.layers.Dropout(0.2),
            mc.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        x, y = rng.random((16, 24, 24, 3), np.float32), rng.integers(0, 2, 16)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, validation_split=0.25)
        model.evaluate(x, y, verbose=0)
        model.predict(x[:1], verbose=0)
        cd = catdog_network((64, 64, 3))  # the cat-dog network: one step, loss finite
        cd.compile(optimizer="adam", loss="binary_crossentropy")
        before = cd.get_weights()[0].copy()
        loss = cd.train_on_batch(rng.random((4, 64, 64, 3), np.float32), np.ones((4, 1)))
        moved = not np.array_equal(before, cd.get_weights()[0])
        fast = sorted(m for m in sys.modules if m.startswith("minicnn.fast"))
        print(np.isfinite(loss), moved, fast)
    """, env={"MINICNN_FAST": "0"})
    assert out.split() == ["True", "True", "[]"], out + err


def _catdog_step(path, monkeypatch, x, y):
    """(predictions, weights after one SGD step) of the 64 px cat-dog network on ``path``."""
    import minicnn as mc
    from minicnn.models import catdog_network

    use_path(path, monkeypatch)
    mc.set_seed(0)
    model = catdog_network((64, 64, 3), dropout=0.0)
    model.compile(optimizer=mc.optimizers.SGD(1.0), loss="binary_crossentropy")
    pred = model.predict(x, batch_size=8, verbose=0)
    model.train_on_batch(x, y)
    return pred, model.get_weights()


def test_fast_and_plain_paths_agree_on_the_catdog_network(monkeypatch):
    """Predictions within 1e-5 relative, one training step's weights within 1e-4.

    Forward values are continuous in the inputs (a max-pool near-tie picks either of two
    nearly equal values), so they are compared element by element. The gradients are not: a
    near-tie decided the other way by float32 rounding (Winograd against im2col) sends one
    window's gradient to a neighbouring position. So the weights are compared per tensor by
    norm, ||w_fast - w_plain|| <= 1e-4 ||w_plain||, after one SGD step at lr 1, which moves
    the kernels by 0.2-1% of their norm (checked below, so the comparison is not vacuous) and
    the biases (from 0) by their whole gradient: a wrong gradient or a route's missing bias
    or ReLU fails it, one rerouted window among ~400,000 does not. Measured here: kernels
    agree to ~2e-8, biases to ~3e-6, predictions to ~1e-7.
    """
    rng = np.random.default_rng(5)
    x = rng.random((8, 64, 64, 3), np.float32)
    y = rng.integers(0, 2, (8, 1)).astype(np.float32)
    pred_f, w_f = _catdog_step("fast", monkeypatch, x, y)
    pred_p, w_p = _catdog_step("plain", monkeypatch, x, y)
    np.testing.assert_allclose(pred_f, pred_p, rtol=1e-5, atol=0)
    import minicnn as mc
    from minicnn.models import catdog_network

    mc.set_seed(0)
    w0 = catdog_network((64, 64, 3), dropout=0.0).get_weights()
    for i, (a, e, start) in enumerate(zip(w_f, w_p, w0)):
        err = np.linalg.norm(a - e) / np.linalg.norm(e)
        assert err <= 1e-4, f"weight {i}: {err:.2e}"
        if start.ndim > 1:  # a kernel: the step moved it well beyond the tolerance
            assert np.linalg.norm(e - start) > 5e-4 * np.linalg.norm(e), i


_SECOND_BLAS = """
    import ctypes, glob, os, shutil, sys, tempfile
    import numpy
    # a second OpenBLAS loaded before minicnn, as importing scipy or scikit-learn does
    libs = glob.glob(os.path.join(os.path.dirname(numpy.__file__) + ".libs", "*openblas*"))
    if libs:
        copy = os.path.join(tempfile.mkdtemp(), "libscipy_openblas-decoy.so")
        shutil.copy(libs[0], copy)
        ctypes.CDLL(copy)
    try:
        import scipy.linalg  # noqa: F401  (the real thing, where installed)
    except ImportError:
        pass
    import warnings
    warnings.simplefilter("error")  # no "cannot run" warning may come
    from threadpoolctl import threadpool_info
    import minicnn as mc
    from minicnn.fast import blas, routes
    n_blas = len([i for i in threadpool_info() if i["user_api"] == "blas"])
    mine = blas._blas()
    x, w = numpy.ones((8, 64, 64, 16), numpy.float32), numpy.ones((3, 3, 16, 8), numpy.float32)
    route = routes.choose("conv2d", dict(x=x, w=w, b=None, strides=(1, 1), padding="valid"))[1]
    with blas.single_threaded_blas():
        inside = blas.blas_threads()
    print(n_blas, len(mine), os.path.realpath(mine[0].filepath).startswith(
          os.path.realpath(os.path.dirname(numpy.__file__) + ".libs")), route, inside)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="numpy.libs: Linux wheels")
def test_numpy_blas_is_held_when_a_second_blas_was_loaded_first():
    out, err = _python(_SECOND_BLAS)
    n_blas, mine, is_numpys, route, inside = out.split()
    if not os.path.isdir(os.path.dirname(np.__file__) + ".libs"):
        pytest.fail("this test expects numpy from a wheel (numpy.libs), as CI installs it")
    assert int(n_blas) >= 2 and (mine, is_numpys) == ("1", "True"), out + err
    assert route == "chunks-winograd" and inside == "1", out + err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_allocator_setting_keeps_freed_large_buffers_in_the_process():
    code = """
        import resource, numpy as np
        from minicnn.fast import memory
        print(memory.tune_allocator())
        a = np.ones(16 << 20, np.float32); del a  # 64 MB, freed
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        a = np.ones(16 << 20, np.float32)  # again: fresh pages, or the freed block reused
        print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    """
    tuned = _python(code)[0].split()
    untuned = _python(code, env={"MINICNN_MALLOC_TUNING": "0"})[0].split()
    assert tuned[0] == "True" and untuned[0] == "False"
    # untuned: a fresh mmap, faulted in again (16384 4 KiB pages, fewer with huge pages);
    # tuned: the freed block reused, its pages already there
    assert int(tuned[1]) * 10 < int(untuned[1]), (tuned, untuned)


def test_import_does_not_tune_the_allocator_the_first_step_does():
    out, _ = _python("""
        import numpy as np, minicnn as mc
        from minicnn.fast import memory
        at_import = memory._state
        model = mc.Sequential([mc.Input((2,)), mc.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.train_on_batch(np.ones((4, 2)), np.ones((4, 1)))
        print(at_import, memory._state)
    """)
    assert out.split() == ["None", "True"]


def test_architecture_doc_lists_every_route():
    """docs/architecture.md's route table names every row of ``minicnn.fast.routes.ROUTES``
    (the table is the reader's map of the fast path; a route added without it is a defect)."""
    from pathlib import Path

    from minicnn.fast.routes import ROUTES

    doc = (Path(__file__).resolve().parents[1] / "docs" / "architecture.md").read_text()
    rows = {(cells[1].strip(), cells[2].strip()) for cells in
            (line.split("|") for line in doc.splitlines() if line.startswith("| "))
            if len(cells) > 3}
    listed = {(op.strip(), name) for ops, name in rows for op in ops.split(",")}
    missing = [(r.op, r.name) for r in ROUTES if (r.op, r.name) not in listed]
    assert missing == []
