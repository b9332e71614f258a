"""Threads, processes and the environment: nothing changed on import, OpenMP waits passively
without touching os.environ, forked children work, BLAS counts come back."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python(code, env=None, timeout=180):
    """Run ``code`` in a fresh interpreter from the repository root; its stdout and stderr.
    The fast path is on there unless ``env`` says otherwise (these tests are about it)."""
    full = {**os.environ, "MINICNN_FAST": "1", "MINICNN_WINOGRAD": "auto", "MINICNN_FUSE": "1",
            **(env or {})}
    for key in [k for k, v in (env or {}).items() if v is None]:
        full.pop(key)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=full,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def test_import_and_a_fast_step_change_no_environment_variable():
    out, _ = _python("""
        import os
        before = dict(os.environ)
        import numpy as np, minicnn as mc
        after_import = dict(os.environ)
        # a large single image takes the parallel kernel builds (numba's OpenMP threads) when
        # a gradient is recorded (at inference it runs on the chunk threads instead)
        x = mc.Tensor(np.ones((1, 160, 160, 16), np.float32))
        mc.ops.conv.conv2d(x, mc.Tensor(np.ones((3, 3, 16, 8), np.float32), requires_grad=True))
        model = mc.Sequential([mc.Input((8, 8, 3)), mc.layers.Conv2D(4, 3), mc.layers.Flatten(),
                               mc.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        model.train_on_batch(np.ones((4, 8, 8, 3)), np.ones((4, 1)))
        print(after_import == before, dict(os.environ) == before)
    """, env={"OMP_WAIT_POLICY": None})
    assert out.split() == ["True", "True"]


_DISPLAY = """
    import ctypes, numpy as np, minicnn as mc
    x = mc.Tensor(np.ones((1, 160, 160, 16), np.float32))
    w = mc.Tensor(np.ones((3, 3, 16, 8), np.float32), requires_grad=True)  # (not inference)
    mc.ops.conv.conv2d(x, w)  # parallel kernels
    gomp = [line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line]
    ctypes.CDLL(gomp[0]).omp_display_env(0)  # libgomp's settings, to stderr
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libgomp and /proc: Linux")
def test_openmp_waits_passively_without_the_environment_variable():
    _, err = _python(_DISPLAY, env={"OMP_WAIT_POLICY": None})
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in err, err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="libgomp and /proc: Linux")
def test_user_choice_of_wait_policy_is_kept():
    _, err = _python(_DISPLAY, env={"OMP_WAIT_POLICY": "ACTIVE"})
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in err, err


def test_a_child_forked_after_parallel_kernels_still_runs_large_images():
    # GNU OpenMP cannot run in a child forked after its threads started (numba kills it): the
    # child must take the serial builds and finish, with the same numbers
    out, err = _python("""
        import os, numpy as np, minicnn as mc
        x = mc.Tensor(np.random.default_rng(0).random((1, 160, 160, 16), np.float32))
        w = mc.Tensor(np.random.default_rng(1).random((3, 3, 16, 8), np.float32),
                      requires_grad=True)  # a gradient recorded: not the inference routes
        y = mc.ops.conv.conv2d(x, w).data  # the parent runs the parallel builds
        r, wfd = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                same = np.array_equal(mc.ops.conv.conv2d(x, w).data, y)
                os.write(wfd, b"same" if same else b"different")
            finally:
                os._exit(0)
        os.close(wfd)
        _, status = os.waitpid(pid, 0)
        print(os.read(r, 100).decode(), status)
    """, timeout=120)
    assert out.split() == ["same", "0"], err
    assert "forked after numba's OpenMP threads started" in err


def test_a_child_forked_while_blas_was_held_gets_its_thread_count_back():
    from threadpoolctl import threadpool_limits

    from minicnn.fast import blas

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas.blas_threads()
        r, w = os.pipe()
        with blas.single_threaded_blas():
            assert blas.blas_threads() == 1
            pid = os.fork()
            at_fork = blas.blas_threads()
        # the parent's hold ends in the child as a no-op; the child's own holds still work
        if pid == 0:
            try:
                after = blas.blas_threads()
                with blas.single_threaded_blas():
                    inner = blas.blas_threads()
                os.write(w, f"{at_fork} {after} {inner} {blas.blas_threads()}".encode())
            finally:
                os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        child = [int(n) for n in os.read(r, 100).split()]
        assert child == [before, before, 1, before] and blas.blas_threads() == before


def test_predict_runs_from_several_threads_at_once():
    """Four threads predict at once: each gets the serial answer, and their steps overlap (a
    barrier inside the model needs two of them inside at the same time)."""
    import threading

    import minicnn as mc
    from minicnn.fast import blas

    barrier = threading.Barrier(2, timeout=60)

    class Meet(mc.layers.Layer):
        meet = False

        def call(self, x, training=False):
            if Meet.meet:
                barrier.wait()  # BrokenBarrierError if predictions were serialised
            return x

    mc.set_seed(0)
    model = mc.Sequential([mc.Input((32, 32, 3)), mc.layers.Conv2D(16, 3, activation="relu"),
                           Meet(), mc.layers.MaxPooling2D(), mc.layers.Conv2D(16, 3),
                           mc.layers.Flatten(), mc.layers.Dense(2)])
    xs = [np.random.default_rng(i).random((16, 32, 32, 3), np.float32) for i in range(4)]
    expected = [model.predict(x, verbose=0) for x in xs]
    before = blas.blas_threads()
    Meet.meet = True
    got, errors = [None] * 4, []

    def run(i):
        try:
            got[i] = model.predict(xs[i], batch_size=16, verbose=0)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    assert blas.blas_threads() == before
