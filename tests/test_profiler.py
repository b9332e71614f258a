import os
import subprocess
import sys

import numpy as np

import minicnn as mc
from minicnn import profiler


def test_profiler_collects_per_op_times_when_enabled():
    profiler.reset()
    profiler.enable(True)
    try:
        conv = mc.Conv2D(2, 3)
        x = mc.Tensor(np.ones((1, 6, 6, 1), np.float32))
        conv(x).sum().backward()
        text = profiler.report()
    finally:
        profiler.enable(False)
        profiler.reset()
    assert "Conv2DFn.forward" in text and "Conv2DFn.backward" in text
    assert "ms/call" in text


def test_profiler_off_collects_nothing():
    profiler.reset()
    profiler.enable(False)
    mc.Tensor([1.0], requires_grad=True).sum().backward()
    assert profiler.report() == ""


def test_env_var_prints_table_at_exit(tmp_path):
    code = (
        "import numpy as np, minicnn as mc\n"
        "x = mc.Tensor(np.ones((2, 3), np.float32), requires_grad=True)\n"
        "(x * x).sum().backward()\n"
    )
    env = {**os.environ, "MINICNN_PROFILE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert "minicnn profile" in out.stderr and "Mul.forward" in out.stderr
