"""``minicnn.utils`` against ``keras.utils``: to_categorical, load_img / img_to_array /
array_to_img pixel for pixel, set_random_seed, and the folder loader's defaults and split."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image

import minicnn as mc


@pytest.mark.parametrize("labels,num_classes", [
    ([0, 2, 1, 2], None), ([[1], [0], [3]], None), ([1, 0], 4), (np.array([[0, 1], [2, 1]]), 3),
])
def test_to_categorical_matches_keras(keras, labels, num_classes):
    mine = mc.utils.to_categorical(labels, num_classes)
    theirs = np.asarray(keras.utils.to_categorical(labels, num_classes))
    assert mine.shape == theirs.shape and mine.dtype == theirs.dtype
    np.testing.assert_array_equal(mine, theirs)


@pytest.fixture
def image_path(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "img.png"
    Image.fromarray(rng.integers(0, 256, (37, 53, 4), dtype=np.uint8), "RGBA").save(path)
    return path


@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
@pytest.mark.parametrize("target_size,interpolation,keep", [
    (None, "nearest", False), ((20, 30), "nearest", False), ((20, 30), "bilinear", False),
    ((24, 24), "bicubic", True), ((50, 20), "lanczos", True), ((37, 53), "box", False),
])
def test_load_img_and_arrays_match_keras(keras, image_path, color_mode, target_size,
                                         interpolation, keep):
    kwargs = dict(color_mode=color_mode, target_size=target_size, interpolation=interpolation,
                  keep_aspect_ratio=keep)
    mine, theirs = mc.utils.load_img(image_path, **kwargs), keras.utils.load_img(image_path,
                                                                                 **kwargs)
    assert (mine.mode, mine.size) == (theirs.mode, theirs.size)
    a, b = mc.utils.img_to_array(mine), keras.utils.img_to_array(theirs)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)
    for scale in (True, False):
        back_m = mc.utils.array_to_img(a * 0.5 + 3, scale=scale)
        back_k = keras.utils.array_to_img(b * 0.5 + 3, scale=scale)
        assert back_m.mode == back_k.mode
        np.testing.assert_array_equal(np.asarray(back_m), np.asarray(back_k))


def test_load_img_rejects_unknown_color_mode_like_keras(keras, image_path):
    for lib in (keras, mc):
        with pytest.raises(ValueError, match="color_mode must be"):
            lib.utils.load_img(image_path, color_mode="cmyk")


def test_set_random_seed_seeds_python_numpy_and_minicnn():
    draws = []
    for _ in range(2):
        mc.utils.set_random_seed(123)
        draws.append((random.random(), np.random.random(),
                      mc.layers.Dense(3)(np.ones((1, 2), np.float32)).numpy().tolist()))
    assert draws[0] == draws[1]
    mc.utils.set_random_seed(124)
    assert random.random() != draws[0][0]


def test_image_dataset_from_directory_defaults_and_both_subsets(keras, tmp_path):
    rng = np.random.default_rng(0)
    for name, n in (("cats", 6), ("dogs", 4)):
        (tmp_path / name).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)).save(
                tmp_path / name / f"{i}.png")
    kwargs = dict(validation_split=0.3, subset="both", seed=5, batch_size=4,
                  label_mode="binary", verbose=False)
    train_m, val_m = mc.utils.image_dataset_from_directory(tmp_path, cache=False, **kwargs)
    train_k, val_k = keras.utils.image_dataset_from_directory(tmp_path, **kwargs)
    assert train_m.file_paths == train_k.file_paths
    assert val_m.file_paths == val_k.file_paths
    assert train_m.class_names == train_k.class_names
    x_m, y_m = next(iter(train_m))
    x_k, y_k = next(iter(train_k))
    assert x_m.shape[1:] == tuple(x_k.shape[1:]) == (256, 256, 3)  # Keras's default size
    assert y_m.shape[1:] == tuple(y_k.shape[1:])
    with pytest.raises(ValueError, match="crop_to_aspect_ratio"):
        mc.utils.image_dataset_from_directory(tmp_path, crop_to_aspect_ratio=True)
