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


def test_profile_reports_which_route_each_op_took():
    code = (
        "import numpy as np, minicnn as mc\n"
        "mc.set_seed(0)\n"
        "model = mc.Sequential([mc.Input((64, 64, 3)),\n"
        "    mc.layers.Conv2D(16, 3, activation='relu'),\n"
        "    mc.layers.MaxPooling2D(), mc.layers.Conv2D(16, 3, activation='relu'),\n"
        "    mc.layers.AveragePooling2D(), mc.layers.Flatten(), mc.layers.Dense(1)])\n"
        "model.predict(np.ones((8, 64, 64, 3), np.float32), batch_size=8, verbose=0)\n"
        "model.predict(np.ones((1, 64, 64, 3), np.float32), verbose=0)\n"
    )
    routes = {}
    for fast in ("1", "0"):
        env = {**os.environ, "MINICNN_PROFILE": "1", "MINICNN_FAST": fast,
               "MINICNN_WINOGRAD": "auto", "MINICNN_FUSE": "1"}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                             text=True, timeout=120, check=True)
        table = out.stderr.split("route")[-1]
        routes[fast] = {tuple(line.split()[:2]) for line in table.splitlines()[1:] if line}
    # the batch of 8: the first pair fused, the second conv in chunks by Winograd, the
    # average pool too small to split; the single image: planar, then Winograd in one band
    # (too small to split over the cores), whole pools
    assert routes["1"] == {("conv2d+max_pool2d", "fused-chunks"), ("conv2d", "chunks-winograd"),
                           ("avg_pool2d", "whole"), ("conv2d", "planar"),
                           ("conv2d", "one-winograd"), ("max_pool2d", "whole")}
    assert routes["0"] == {("conv2d", "plain"), ("max_pool2d", "plain"), ("avg_pool2d", "plain")}
