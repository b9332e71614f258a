"""Preprocessing layers: shapes, identity at inference, seeded determinism, value ranges, flip
and crop exactness, use inside fit, and saving (live-Keras comparisons: tests/parity)."""

from __future__ import annotations

import numpy as np
import pytest

import minicnn as mc
from minicnn import layers

RANDOM = [
    (layers.RandomFlip, ("horizontal_and_vertical",)),
    (layers.RandomRotation, (0.2,)),
    (layers.RandomZoom, (0.3, 0.2)),
    (layers.RandomTranslation, (0.2, 0.1)),
    (layers.RandomContrast, (0.5,)),
    (layers.RandomBrightness, (0.3,)),
    (layers.RandomCrop, (6, 7)),
]


def _x(shape=(6, 10, 12, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)


@pytest.mark.parametrize("cls,args", RANDOM)
def test_identity_at_inference_and_changes_in_training(cls, args):
    x = _x()
    layer = cls(*args, seed=1)
    assert np.array_equal(layer(x, training=False).numpy(), x)
    out = layer(x, training=True).numpy()
    assert out.dtype == np.float32
    assert out.shape == ((6, 6, 7, 3) if cls is layers.RandomCrop else x.shape)
    if out.shape == x.shape:
        assert not np.array_equal(out, x)


@pytest.mark.parametrize("cls,args", RANDOM)
def test_seed_makes_a_layer_reproducible_and_draws_differ_per_call(cls, args):
    x = _x()
    a, b = cls(*args, seed=3), cls(*args, seed=3)
    first = a(x, training=True).numpy()
    np.testing.assert_array_equal(first, b(x, training=True).numpy())
    assert not np.array_equal(first, a(x, training=True).numpy())  # a new draw each call


@pytest.mark.parametrize("cls,args", RANDOM)
def test_unseeded_layers_follow_minicnn_set_seed(cls, args):
    x = _x()
    outs = []
    for _ in range(2):
        mc.set_seed(11)
        outs.append(cls(*args)(x, training=True).numpy())
    np.testing.assert_array_equal(outs[0], outs[1])


def test_a_layer_called_on_its_own_augments_as_keras():
    """Keras's preprocessing call() defaults to training=True: `layer(x)` augments (as in a
    dataset map); a model passes training explicitly (False in predict)."""
    x = _x()
    assert not np.array_equal(layers.RandomFlip(seed=0)(x).numpy(), x)
    model = mc.Sequential([mc.Input(x.shape[1:]), layers.RandomFlip(seed=0)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


def test_flips_are_exact_mirrors_and_both_happen():
    x = _x((64, 3, 4, 1))
    out = layers.RandomFlip("horizontal", seed=0)(x, training=True).numpy()
    flipped = np.array([np.array_equal(o, xi[:, ::-1]) for o, xi in zip(out, x)])
    same = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert (flipped | same).all() and 16 < flipped.sum() < 48
    out = layers.RandomFlip("vertical", seed=0)(x, training=True).numpy()
    assert all(np.array_equal(o, xi[::-1]) or np.array_equal(o, xi) for o, xi in zip(out, x))
    out = layers.RandomFlip(seed=0)(x, training=True).numpy()  # horizontal_and_vertical
    kinds = {next(k for k, f in enumerate((lambda a: a, lambda a: a[:, ::-1],
                                            lambda a: a[::-1], lambda a: a[::-1, ::-1]))
                  if np.array_equal(o, f(xi))) for o, xi in zip(out, x)}
    assert kinds == {0, 1, 2, 3}


def test_random_crop_windows_are_exact_sub_images():
    x = _x((20, 9, 8, 2))
    out = layers.RandomCrop(4, 3, seed=0)(x, training=True).numpy()
    offsets = set()
    for o, xi in zip(out, x):
        hits = [(t, s) for t in range(6) for s in range(6)
                if np.array_equal(o, xi[t:t + 4, s:s + 3])]
        assert hits
        offsets.add(hits[0])
    assert len(offsets) > 5


def test_center_crop_and_resizing_are_deterministic_at_training_and_inference():
    x = _x()
    for layer in (layers.CenterCrop(4, 6), layers.Resizing(5, 5)):
        np.testing.assert_array_equal(layer(x).numpy(), layer(x, training=True).numpy())
    np.testing.assert_array_equal(layers.CenterCrop(4, 6)(x).numpy(), x[:, 3:7, 3:9])


@pytest.mark.parametrize("value_range", [(0, 255), (0, 1), (-1, 1)])
def test_brightness_and_contrast_stay_in_value_range(value_range):
    lo, hi = value_range
    x = np.random.default_rng(0).uniform(lo, hi, (8, 5, 5, 3)).astype(np.float32)
    for layer in (layers.RandomBrightness(0.8, value_range=value_range, seed=0),
                  layers.RandomContrast(0.9, value_range=value_range, seed=0)):
        out = layer(x, training=True).numpy()
        assert out.min() >= lo and out.max() <= hi


def test_geometric_layers_do_not_clip_standardised_inputs():
    x = np.random.default_rng(0).normal(0, 1, (4, 8, 8, 3)).astype(np.float32)
    out = layers.RandomRotation(0.1, seed=0)(x, training=True).numpy()
    assert out.min() < 0  # reflect fill keeps values in the input's own range, negatives too


@pytest.mark.parametrize("bad", [
    lambda: layers.RandomFlip("diagonal"),
    lambda: layers.RandomRotation(0.1, fill_mode="mirror"),
    lambda: layers.RandomZoom(0.1, interpolation="cubic"),
    lambda: layers.RandomTranslation(1.5, 0.1),
    lambda: layers.Resizing(4, 4, interpolation="lanczos3"),
    lambda: layers.Resizing(4, 4, pad_to_aspect_ratio=True),
    lambda: layers.CenterCrop(0, 3),
    lambda: layers.RandomCrop(3, 3, data_format="channels_first"),
])
def test_bad_arguments_raise_naming_them(bad):
    with pytest.raises(ValueError):
        bad()


def test_augmentation_inside_a_model_trains_and_predicts_unchanged(tmp_path):
    mc.set_seed(0)
    model = mc.Sequential([
        mc.Input((8, 8, 3)),
        layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.1),
        layers.RandomContrast(0.2), layers.Rescaling(1 / 255), layers.Flatten(),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x = _x((16, 8, 8, 3))
    y = (x.mean(axis=(1, 2, 3)) > 127).astype(np.float32)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 2
    p1 = model.predict(x, verbose=0)
    np.testing.assert_array_equal(p1, model.predict(x, verbose=0))  # no randomness
    path = tmp_path / "aug.npz"
    model.save(path)
    restored = mc.load_model(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), p1)
    assert [type(layer).__name__ for layer in restored.layers][:4] == \
        ["RandomFlip", "RandomRotation", "RandomZoom", "RandomContrast"]
