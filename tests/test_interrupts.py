"""Interrupts and files (issue 13, items 3 and 4): Ctrl-C never leaves a half-updated model or
a lost run, and no save leaves a temporary behind for good."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc
from minicnn import io as mio
from minicnn.callbacks import Callback

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "examples" / "data" / "catdog_small" / "training_set"


def make_model():
    mc.set_seed(7)
    model = mc.Sequential([mc.Input((4,)), mc.Dense(5, activation="relu"),
                           mc.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def data():
    rng = np.random.default_rng(3)
    return rng.normal(size=(40, 4)).astype(np.float32), (rng.random(40) > 0.5).astype(np.float32)


def after_steps(steps):
    """The reference: a model trained for exactly ``steps`` batches of 8, no shuffling."""
    model = make_model()
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    return model


def assert_same(a, b):
    for u, v in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(u, v)
    assert a.optimizer.iterations == b.optimizer.iterations


class InterruptAt(Callback):
    def __init__(self, batch, hook):
        super().__init__()
        self.batch, self.hook = batch, hook

    def on_train_batch_begin(self, batch, logs=None):
        if self.hook == "begin" and batch == self.batch:
            raise KeyboardInterrupt

    def on_train_batch_end(self, batch, logs=None):
        if self.hook == "end" and batch == self.batch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("batch, hook, steps_done", [(3, "begin", 3), (1, "end", 2)])
def test_keyboard_interrupt_in_fit_leaves_the_last_completed_step(batch, hook, steps_done):
    model = make_model()
    x, y = data()
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                  callbacks=[InterruptAt(batch, hook)])
    assert_same(model, after_steps(steps_done))


def test_sigint_during_the_optimizer_update_applies_it_whole(monkeypatch):
    """Ctrl-C lands after the first weight's update: every weight still gets its update."""
    model = make_model()
    x, y = data()
    opt = model.optimizer
    real_update = type(opt).update
    calls = []

    def update(self, i, param, grad):
        real_update(self, i, param, grad)
        calls.append(i)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # Python runs the handler at the next bytecode

    monkeypatch.setattr(type(opt), "update", update)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert calls == [0, 1, 2, 3]  # the step completed, then the interrupt, before the next
    monkeypatch.undo()
    assert_same(model, after_steps(1))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ------------------------------------------------------------------------- catdog.py Ctrl-C


def tiny_folder(root: Path) -> Path:
    for cls in ("cats", "dogs"):
        (root / cls).mkdir(parents=True)
        for src in sorted((SMALL / cls).glob("*.jpg"))[:8]:
            shutil.copy(src, root / cls / src.name)
    return root


def test_ctrl_c_in_catdog_train_keeps_the_completed_epochs(tmp_path):
    data_dir, out = tiny_folder(tmp_path / "data"), tmp_path / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "examples" / "catdog.py"), "train", "--data", str(data_dir),
         "--validation-split", "0.25", "--epochs", "500", "--image-size", "32", "--batch-size",
         "4", "--out", str(out), "--verbose", "2", "--checkpoint-every-epoch"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    deadline = time.monotonic() + 240
    try:
        for line in proc.stdout:  # "Epoch 3/500" is printed once epoch 2 has fully ended
            if line.startswith("Epoch 3/") or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("Caching")]
    assert len(lines) == 1, err
    model_path = out / "model.npz"
    assert lines[0] == (
        f"interrupted in epoch 3 of 500; the model after epoch 2 is in {model_path}; resume "
        f"with: python {REPO / 'examples' / 'catdog.py'} train --data {data_dir} "
        f"--validation-split 0.25 "
        f"--epochs 500 --image-size 32 --batch-size 4 --verbose 2 --checkpoint-every-epoch "
        f"--resume {model_path} --initial-epoch 2 --out {out}-resumed")
    record = json.loads((out / "history.json").read_text())
    assert record["epochs"] == [0, 1] and len(record["history"]["val_loss"]) == 2
    assert record["interrupted_in_epoch"] == 3
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    # the saved model is the one the epoch-2 checkpoint holds, optimizer state included
    saved, epoch2 = mc.load_model(model_path), mc.load_model(out / "last.npz")
    assert_same(saved, epoch2)


# ----------------------------------------------------------------------------- temporaries


def test_the_next_save_removes_temporaries_a_killed_save_left(tmp_path):
    path = tmp_path / "model.npz"
    killed = (
        "import os, signal, sys, numpy as np\n"
        "from minicnn import io\n"
        "def write_then_die(f, arrays):\n"
        "    f.write(b'PK' + bytes(100_000))\n"
        "    f.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "io._write_npz = write_then_die\n"
        "io.save_arrays(sys.argv[1], {'w': np.ones(3)})\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]))
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", killed, str(path)], env=env, timeout=120)
        assert proc.returncode == -signal.SIGKILL
    # each killed save left its temporary; the second save removed the first one's
    stale = os.listdir(tmp_path)
    assert len(stale) == 1 and stale[0].startswith(".model.npz.") and stale[0].endswith(".tmp")
    assert os.path.getsize(tmp_path / stale[0]) > 100_000
    # an earlier version's temporary, and another file's, which must survive
    (tmp_path / "model.npz.abcd_123.tmp").write_bytes(b"old")
    (tmp_path / ".model.npz.backup.npz.0123abcd.tmp").write_bytes(b"other")
    mc.Sequential([mc.Input((2,)), mc.Dense(1)]).save(path)
    assert sorted(os.listdir(tmp_path)) == [".model.npz.backup.npz.0123abcd.tmp", "model.npz"]


def test_a_completed_save_leaves_only_the_file_with_the_umask_mode(tmp_path):
    mio.save_arrays(tmp_path / "a.npz", {"x": np.zeros(2)})
    mio.save_arrays(tmp_path / "a.npz", {"x": np.ones(2)})
    assert os.listdir(tmp_path) == ["a.npz"]
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.npz").stat().st_mode & 0o777 == 0o666 & ~umask
