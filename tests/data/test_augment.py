"""Batch augmentation: shapes, ranges, determinism, exact flips, identities, warp vs a twin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minicnn.data import (
    Augment,
    RandomBrightness,
    RandomContrast,
    RandomFlip,
    RandomRotation,
    RandomSaturation,
    RandomTranslation,
    RandomZoom,
    adjust_contrast,
    adjust_saturation,
    affine_matrices,
    affine_warp,
    augment,
    flip_horizontal,
)

STRONG = dict(
    flip="horizontal_and_vertical",
    brightness=0.3,
    contrast=0.5,
    saturation=0.5,
    zoom=(-0.3, 0.3),
    rotation=0.1,
    translation=0.1,
)


@pytest.fixture
def x():
    return np.random.default_rng(0).uniform(0, 255, (6, 10, 12, 3)).astype(np.float32)


def warp_twin(x, mats, fill_mode, fill_value=0.0):
    """Slow, obvious bilinear warp: loop over output pixels, fold indices, mix four taps."""
    n, h, w, c = x.shape
    out = np.zeros_like(x, dtype=np.float64)

    def fold(i, size):
        if 0 <= i < size:
            return i
        if fill_mode == "reflect":
            p = i % (2 * size)
            return p if p < size else 2 * size - 1 - p
        if fill_mode == "wrap":
            return i % size
        if fill_mode == "nearest":
            return min(max(i, 0), size - 1)
        return None

    for k in range(n):
        m = mats[k].astype(np.float64)
        for r in range(h):
            for q in range(w):
                sr, sc = m[0] @ (r, q, 1), m[1] @ (r, q, 1)
                r0, c0 = int(np.floor(sr)), int(np.floor(sc))
                acc = np.zeros(c)
                for dr, wr in ((0, 1 - (sr - r0)), (1, sr - r0)):
                    for dc, wc in ((0, 1 - (sc - c0)), (1, sc - c0)):
                        i, j = fold(r0 + dr, h), fold(c0 + dc, w)
                        v = fill_value if i is None or j is None else x[k, i, j]
                        acc = acc + wr * wc * np.asarray(v, dtype=np.float64)
                out[k, r, q] = acc
    return out


def test_pipeline_shapes_dtype_range_and_input_untouched(x):
    before = x.copy()
    y = Augment(**STRONG, seed=1)(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert y.min() >= 0 and y.max() <= 255
    np.testing.assert_array_equal(x, before)
    assert not np.allclose(y, x)
    y = Augment(rotation=0.25, fill_mode="constant", fill_value=-50.0, seed=1)(x)
    assert y.min() >= 0  # clipped back into value_range


def test_determinism_under_seed(x):
    a = Augment(**STRONG, seed=7)
    b = Augment(**STRONG, seed=7)
    for _ in range(2):
        np.testing.assert_array_equal(a(x), b(x))
    np.testing.assert_array_equal(
        augment(x, np.random.default_rng(3), **STRONG), augment(x, 3, **STRONG)
    )
    assert not np.array_equal(Augment(**STRONG, seed=8)(x), Augment(**STRONG, seed=7)(x))


def test_flip_exactness(x):
    np.testing.assert_array_equal(flip_horizontal(x), x[:, :, ::-1])
    np.testing.assert_array_equal(flip_horizontal(flip_horizontal(x)), x)
    batch = np.repeat(x[:1], 64, axis=0)
    y = RandomFlip("horizontal", seed=0)(batch)
    same = [np.array_equal(img, x[0]) for img in y]
    mirrored = [np.array_equal(img, x[0][:, ::-1]) for img in y]
    assert all(s or m for s, m in zip(same, mirrored, strict=True))
    assert 10 < sum(mirrored) < 54
    v = RandomFlip("vertical", seed=0)(batch)
    assert all(np.array_equal(i, x[0]) or np.array_equal(i, x[0][::-1]) for i in v)


@pytest.mark.parametrize(
    "transform",
    [
        Augment(),
        RandomBrightness(0.0),
        RandomContrast(0.0),
        RandomSaturation(0.0),
        RandomZoom(0.0),
        RandomZoom(0.0, width_factor=0.0),
        RandomRotation(0.0),
        RandomTranslation(0.0),
    ],
)
def test_zero_strength_is_identity(x, transform):
    np.testing.assert_array_equal(transform(x), x)


def test_identity_warp_is_exact(x):
    zero, one = np.zeros(6), np.ones(6)
    mats = affine_matrices((10, 12), zero, one, one, zero, zero)
    np.testing.assert_array_equal(affine_warp(x, mats), x)


def test_brightness_shifts_each_image_by_one_constant():
    x = np.full((8, 4, 4, 3), 128.0, np.float32)
    y = RandomBrightness(0.2, seed=0)(x)
    delta = y - x
    assert np.all(delta == delta[:, :1, :1, :1])  # constant per image
    assert np.all(np.abs(delta) <= 0.2 * 255 + 1e-3) and np.std(delta[:, 0, 0, 0]) > 1


def test_contrast_keeps_channel_means_and_saturation_zero_is_gray():
    rng = np.random.default_rng(1)
    x = rng.uniform(100, 150, (3, 5, 5, 3)).astype(np.float32)
    y = adjust_contrast(x.copy(), np.array([0.5, 1.0, 1.5]))
    np.testing.assert_allclose(y.mean((1, 2)), x.mean((1, 2)), rtol=1e-5)
    np.testing.assert_allclose(y[1], x[1], rtol=1e-6)
    g = adjust_saturation(x.copy(), np.zeros(3))
    np.testing.assert_allclose(g[..., 0], g[..., 1], atol=1e-4)
    np.testing.assert_allclose(g[..., 0], x @ np.array([0.299, 0.587, 0.114]), atol=1e-3)


def test_rotation_by_quarter_turn_is_rot90():
    x = np.random.default_rng(2).uniform(0, 255, (2, 7, 7, 3)).astype(np.float32)
    n = np.ones(2)
    mats = affine_matrices((7, 7), n * np.pi / 2, n, n, 0 * n, 0 * n)
    np.testing.assert_allclose(affine_warp(x, mats), np.rot90(x, 1, axes=(1, 2)), atol=1e-3)


def test_translation_by_one_pixel_with_constant_fill():
    x = np.random.default_rng(3).uniform(0, 255, (1, 5, 6, 3)).astype(np.float32)
    z = np.zeros(1)
    mats = affine_matrices((5, 6), z, z + 1, z + 1, z, z + 1 / 6)  # one column to the right
    y = affine_warp(x, mats, fill_mode="constant", fill_value=7.0)
    np.testing.assert_allclose(y[:, :, 1:], x[:, :, :-1], atol=1e-4)
    np.testing.assert_allclose(y[:, :, 0], 7.0)


@settings(max_examples=25, deadline=None)
@given(
    h=st.integers(1, 6),
    w=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    fill_mode=st.sampled_from(["reflect", "wrap", "nearest", "constant"]),
)
def test_warp_matches_numpy_twin(h, w, seed, fill_mode):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (2, h, w, 3)).astype(np.float32)
    mats = affine_matrices(
        (h, w),
        rng.uniform(-1, 1, 2),
        rng.uniform(0.5, 2, 2),
        rng.uniform(0.5, 2, 2),
        rng.uniform(-0.6, 0.6, 2),
        rng.uniform(-0.6, 0.6, 2),
    )
    got = affine_warp(x, mats, fill_mode=fill_mode, fill_value=3.0)
    np.testing.assert_allclose(got, warp_twin(x, mats, fill_mode, 3.0), rtol=1e-4, atol=1e-2)


def test_zoom_out_shrinks_and_zoom_in_enlarges():
    x = np.zeros((1, 21, 21, 3), np.float32)
    x[:, 8:13, 8:13] = 255  # a 5x5 square in the centre
    bigger = RandomZoom((-0.5, -0.5), fill_mode="constant", seed=0)(x)  # zoom 0.5: in
    smaller = RandomZoom((1.0, 1.0), fill_mode="constant", seed=0)(x)  # zoom 2: out
    assert (bigger > 128).sum() > (x > 128).sum() > (smaller > 128).sum()
    wide = RandomZoom((0, 0), width_factor=(1.0, 1.0), fill_mode="constant", seed=0)(x)
    assert (wide[0, 10] > 128).sum() < (wide[0, :, 10] > 128).sum()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Augment(flip="diagonal"), "Received: flip='diagonal'"),
        (lambda: Augment(brightness=2.0), "Received: brightness=2.0"),
        (lambda: Augment(contrast=-0.1), "Received: contrast=-0.1"),
        (lambda: Augment(zoom=(0.2, 0.1)), "Received: zoom=\\(0.2, 0.1\\)"),
        (lambda: Augment(zoom=(-1.0, 0.0)), "greater than -1"),
        (lambda: Augment(rotation="lots"), "Received: rotation='lots'"),
        (lambda: RandomRotation(0.1, fill_mode="mirror"), "Received: fill_mode='mirror'"),
        (lambda: Augment(interpolation="cubic"), "Received: interpolation='cubic'"),
    ],
)
def test_bad_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_rejects_non_batches():
    with pytest.raises(ValueError, match="x.shape=\\(4, 4, 3\\)"):
        Augment(flip="horizontal")(np.zeros((4, 4, 3)))


@pytest.mark.parametrize(
    "options",
    [
        STRONG,
        dict(flip="horizontal_and_vertical", brightness=0.2, contrast=0.3),
        dict(saturation=0.5, zoom=0.2, fill_mode="constant", fill_value=20.0),
        dict(rotation=0.2, fill_mode="wrap"),
        dict(flip="horizontal", translation=0.3, fill_mode="nearest"),
    ],
)
def test_fused_kernel_matches_numpy_primitives(x, options):
    aug = Augment(**options)
    params = aug.draw(len(x), np.random.default_rng(4))
    got = aug.apply(x, params)
    mats = Augment.matrices(params, *x.shape[:3])
    y = x.copy() if mats is None else affine_warp(x, mats, aug.fill_mode, fill_value=aug.fill_value)
    np.clip(y, 0, 255, out=y)
    want = aug._colour_numpy(y, params)
    np.testing.assert_allclose(got, want, atol=2e-2)


def test_nearest_interpolation_moves_whole_pixels(x):
    y = Augment(rotation=0.1, interpolation="nearest", seed=0)(x)
    assert np.isin(y, x).all()
