"""One helper reads minicnn's boolean environment variables; one check says a window fits."""

import numpy as np
import pytest

import minicnn as mc
from minicnn._env import env_flag


@pytest.mark.parametrize("value, expected", [
    ("1", True), ("true", True), ("Yes", True), ("ON", True),
    ("0", False), ("False", False), ("no", False), ("off", False),
    ("", "default"), ("auto", "default"),
])
def test_env_flag_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("MINICNN_TEST_FLAG", value)
    assert env_flag("MINICNN_TEST_FLAG", "default") == expected


def test_env_flag_refuses_a_typo(monkeypatch):
    monkeypatch.setenv("MINICNN_TEST_FLAG", "ture")
    with pytest.raises(ValueError, match="MINICNN_TEST_FLAG must be one of .* Received: "
                                         "MINICNN_TEST_FLAG='ture'"):
        env_flag("MINICNN_TEST_FLAG", True)


def test_layer_and_op_say_the_same_when_a_window_does_not_fit():
    x = np.ones((1, 2, 5, 3), np.float32)
    with pytest.raises(ValueError) as layer_error:
        mc.layers.Conv2D(4, 3, name="c1")(x)
    with pytest.raises(ValueError) as op_error:
        mc.ops.conv.conv2d(mc.Tensor(x), mc.Tensor(np.ones((3, 3, 3, 4), np.float32)),
                           who="Conv2D 'c1'")
    message = ("Conv2D 'c1': a 3-wide kernel with stride 1 and padding='valid' does not fit an "
               "input of size 2. Received: input_shape=")
    assert str(layer_error.value) == message + "(None, 2, 5, 3)"  # built for any batch size
    assert str(op_error.value) == message + "(1, 2, 5, 3)"
    with pytest.raises(ValueError, match=r"^max_pool2d: a pool of 3 with stride 3 .* size 2\."):
        mc.ops.conv.max_pool2d(mc.Tensor(x), (3, 3))
