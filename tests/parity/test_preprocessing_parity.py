"""Preprocessing layers against live Keras where the result is deterministic: Resizing and
CenterCrop always, the random layers with a one-point factor range (a fixed rotation, zoom,
shift or brightness), and what each does at inference."""

from __future__ import annotations

import numpy as np
import pytest
from parity_tools import rel_err

import minicnn as mc

TOL = 1e-5


def _images(shape=(2, 13, 17, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)


@pytest.mark.parametrize("size", [(7, 9), (20, 30), (13, 17), (26, 5)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("crop", [False, True])
def test_resizing_matches_keras(keras, record, size, interpolation, crop):
    x = _images()
    kwargs = dict(interpolation=interpolation, crop_to_aspect_ratio=crop)
    mine = mc.layers.Resizing(*size, **kwargs)(x).numpy()
    theirs = np.asarray(keras.layers.Resizing(*size, **kwargs)(x))
    assert record("preprocessing.resizing", rel_err(mine, theirs)) <= TOL


@pytest.mark.parametrize("size", [(5, 5), (13, 17), (12, 8), (20, 10), (4, 30)])
def test_center_crop_matches_keras(keras, record, size):
    x = _images()
    mine = mc.layers.CenterCrop(*size)(x).numpy()
    theirs = np.asarray(keras.layers.CenterCrop(*size)(x))
    assert record("preprocessing.center_crop", rel_err(mine, theirs)) <= TOL


FIXED = {
    "rotation_quarter": ("RandomRotation", ((0.25, 0.25),), {}),
    "rotation_small_reflect": ("RandomRotation", ((0.03, 0.03),), {}),
    "rotation_constant": ("RandomRotation", ((-0.1, -0.1),),
                          dict(fill_mode="constant", fill_value=7.0)),
    "rotation_nearest": ("RandomRotation", ((0.07, 0.07),),
                         dict(fill_mode="nearest", interpolation="nearest")),
    # (fill_mode="wrap" differs from TensorFlow's near the edges: docs/from-keras.md)
    "zoom_out": ("RandomZoom", ((0.2, 0.2),), {}),
    "zoom_in_constant": ("RandomZoom", ((-0.3, -0.3),), dict(fill_mode="constant")),
    "zoom_anisotropic": ("RandomZoom", ((0.1, 0.1), (-0.2, -0.2)), {}),
    "translation": ("RandomTranslation", ((0.2, 0.2), (-0.1, -0.1)), {}),
    "translation_nearest": ("RandomTranslation", ((-0.15, -0.15), (0.3, 0.3)),
                            dict(fill_mode="nearest")),
    "brightness": ("RandomBrightness", ((0.1, 0.1),), {}),
    "brightness_clipped": ("RandomBrightness", ((-0.5, -0.5),), dict(value_range=(0, 255))),
}


@pytest.mark.parametrize("name", FIXED)
def test_fixed_random_transforms_match_keras(keras, record, name):
    """A one-point factor range leaves nothing to chance: the same output as Keras's layer."""
    cls, args, kwargs = FIXED[name]
    x = _images((2, 16, 16, 3)) if "rotation" in name else _images()
    mine = getattr(mc.layers, cls)(*args, **kwargs)(x, training=True).numpy()
    theirs = np.asarray(getattr(keras.layers, cls)(*args, **kwargs)(x, training=True))
    assert record(f"preprocessing.{name}", rel_err(mine, theirs)) <= TOL
    assert rel_err(mine, x) > 1e-3  # it did transform


@pytest.mark.parametrize("layer", [
    ("RandomFlip", ("horizontal",)), ("RandomRotation", (0.2,)), ("RandomZoom", (0.2,)),
    ("RandomTranslation", (0.1, 0.1)), ("RandomContrast", (0.5,)), ("RandomBrightness", (0.2,)),
    ("RandomCrop", (5, 6)),
])
def test_random_layers_are_identity_at_inference_like_keras(keras, layer):
    cls, args = layer
    x = _images()
    mine = getattr(mc.layers, cls)(*args)(x, training=False).numpy()
    theirs = np.asarray(getattr(keras.layers, cls)(*args)(x, training=False))
    np.testing.assert_array_equal(mine, x)
    np.testing.assert_array_equal(theirs, x)


@pytest.mark.parametrize("cls,args", [("RandomFlip", ()), ("RandomBrightness", ((0.2, 0.2),))])
def test_random_layers_called_alone_augment_like_keras(keras, cls, args):
    """Keras's call() defaults to training=True: a layer called on its own transforms."""
    x = _images()
    assert rel_err(np.asarray(getattr(keras.layers, cls)(*args, seed=0)(x)), x) > 1e-3
    assert rel_err(getattr(mc.layers, cls)(*args, seed=0)(x).numpy(), x) > 1e-3


def test_random_crop_smaller_input_is_resized_like_keras(keras, record):
    """Training on an input not larger than the target: the aspect crop and resize, as Keras."""
    x = _images((2, 8, 12, 3))
    mine = mc.layers.RandomCrop(10, 10)(x, training=True).numpy()
    theirs = np.asarray(keras.layers.RandomCrop(10, 10)(x, training=True))
    assert record("preprocessing.random_crop_resize", rel_err(mine, theirs)) <= TOL


@pytest.mark.parametrize("cls,args", [("RandomFlip", ()), ("RandomRotation", (0.1,)),
                                      ("RandomZoom", (0.1,)), ("RandomContrast", (0.2,)),
                                      ("RandomCrop", (4, 4)), ("Resizing", (4, 4)),
                                      ("CenterCrop", (4, 4))])
def test_preprocessing_output_shapes_match_keras(keras, cls, args):
    kmodel = keras.Sequential([keras.Input((9, 11, 3)), getattr(keras.layers, cls)(*args)])
    model = mc.Sequential([mc.Input((9, 11, 3)), getattr(mc.layers, cls)(*args)])
    assert model.output_shape == tuple(kmodel.output_shape)
    assert model.count_params() == kmodel.count_params() == 0
