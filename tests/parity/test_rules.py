"""Small rules that had to be matched exactly: initialiser fans and 'same'-padding geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

import minicnn as mc
from minicnn import initializers
from minicnn.kernels.geometry import output_size_and_padding

SHAPES = [(3, 3, 3, 32), (3, 3, 128, 256), (5, 5, 16, 8), (1, 1, 64, 64), (1024, 256), (4096,)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_keras(shape):
    """Rule: for an HWIO kernel fan_in = KH*KW*Cin and fan_out = KH*KW*Cout."""
    from keras.src.initializers.random_initializers import compute_fans

    assert initializers.compute_fans(shape) == compute_fans(shape)


@pytest.mark.parametrize("name,keras_name", [("glorot_uniform", "GlorotUniform"),
                                             ("he_uniform", "HeUniform")])
@pytest.mark.parametrize("shape", SHAPES[:3] + SHAPES[4:5])
def test_uniform_limits_match_keras(keras, name, keras_name, shape):
    """Both libraries draw U(-l, l) with the same l: their samples reach the same maximum."""
    fan_in, fan_out = initializers.compute_fans(shape)
    limit = math.sqrt(6 / (fan_in + fan_out)) if name.startswith("glorot") else math.sqrt(
        6 / fan_in)
    mc.set_seed(0)
    mine = np.abs(initializers.get(name)(shape)).max()
    theirs = np.abs(np.asarray(getattr(keras.initializers, keras_name)(seed=0)(shape))).max()
    for value in (mine, theirs):
        assert 0.99 * limit < value <= limit * (1 + 1e-6)


@pytest.mark.parametrize("size", range(1, 14))
@pytest.mark.parametrize("window,stride", [(1, 1), (2, 1), (3, 1), (2, 2), (3, 2), (4, 3),
                                           (5, 2)])
def test_same_padding_split(tf, size, window, stride):
    """Rule: 'same' pads (out-1)*stride + window - size in total, the smaller half first (top/
    left), so the odd pixel goes bottom/right. Checked against TF with a one-hot input."""
    out, before = output_size_and_padding(size, window, stride, "same")
    x = np.zeros((1, size, 1, 1), np.float32)
    x[0, 0, 0, 0] = 1.0  # the first real pixel: where does it land in each window?
    kernel = np.arange(1, window + 1, dtype=np.float32).reshape(window, 1, 1, 1)
    y = tf.nn.conv2d(x, kernel, (stride, 1), "SAME").numpy()[0, :, 0, 0]
    assert y.shape == (out,)
    # the first window starts `before` rows above row 0, so row 0 meets kernel tap `before`
    assert y[0] == (before + 1 if before < window else 0)
