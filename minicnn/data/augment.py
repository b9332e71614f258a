"""Random image augmentation applied per batch, vectorised over the batch.

Every transform takes a float batch ``x`` of shape ``(N, H, W, C)`` with values in
`value_range` (default 0..255), draws one parameter per image from a `numpy.random.Generator`
and returns a new float32 batch (the input is not modified), clipped back to `value_range`.

Names and arguments follow the Keras preprocessing layers: `RandomFlip`, `RandomBrightness`,
`RandomContrast`, `RandomZoom`, `RandomRotation`, `RandomTranslation`; plus `RandomSaturation`
(see its note) and `Augment`, one pipeline that draws all of them and does the geometric ones
in a single resampling pass (a numba kernel). A strength of 0 is exactly the identity.

Use it on a dataset with ``ds.map(lambda x, y: (aug(x), y))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np

FILL_MODES = {"reflect": 0, "wrap": 1, "nearest": 2, "constant": 3}
WARP_INTERPOLATIONS = {"nearest": 0, "bilinear": 1}
# ITU-R BT.601 luma, as PIL's convert("L") and tf.image.rgb_to_grayscale
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

Factor = float | Sequence[float]


# -- parameter parsing (Keras conventions) -------------------------------------------------------


def _range(factor: Factor, name: str, bound: float | None = None) -> tuple[float, float]:
    """Keras's reading of a factor: ``f -> (-f, f)``, ``(a, b) -> (a, b)``."""
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        lo, hi = -abs(float(factor)), abs(float(factor))
    elif isinstance(factor, (tuple, list)) and len(factor) == 2:
        lo, hi = float(factor[0]), float(factor[1])
    else:
        raise ValueError(
            f"`{name}` must be a float or a tuple of 2 floats. Received: {name}={factor!r}"
        )
    if lo > hi:
        raise ValueError(
            f"`{name}` lower bound exceeds its upper bound. Received: {name}={factor!r}"
        )
    if bound is not None and (lo < -bound or hi > bound):
        raise ValueError(f"`{name}` must lie in [-{bound}, {bound}]. Received: {name}={factor!r}")
    return lo, hi


def _choice(value: str, options: dict[str, int], name: str) -> int:
    if value not in options:
        raise ValueError(f"`{name}` must be one of {tuple(options)}. Received: {name}={value!r}")
    return options[value]


def _as_batch(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"Expected a batch of shape (N, H, W, C). Received: x.shape={x.shape}")
    return np.array(x, dtype=np.float32, copy=True)


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# -- deterministic vectorised primitives ----------------------------------------------------------


def flip_horizontal(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mirror left-right the images where `mask` is True (all if None). Shape: ``(N, H, W, C)``.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import flip_horizontal
        >>> flip_horizontal(np.array([[[[1.0], [2.0]]]]))[0, 0, :, 0]   # (1, 1, 2, 1)
        array([2., 1.])
    """
    if mask is None:
        return x[:, :, ::-1].copy()
    out = x.copy()
    out[mask] = x[mask][:, :, ::-1]
    return out


def flip_vertical(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Mirror top-bottom the images where `mask` is True (all if None).

    Shape: ``(N, H, W, C)``.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import flip_vertical
        >>> flip_vertical(np.array([[[[1.0]], [[2.0]]]]))[0, :, 0, 0]   # (1, 2, 1, 1)
        array([2., 1.])
    """
    if mask is None:
        return x[:, ::-1].copy()
    out = x.copy()
    out[mask] = x[mask][:, ::-1]
    return out


def adjust_brightness(
    x: np.ndarray, delta: np.ndarray, value_range: tuple[float, float] = (0, 255)
) -> np.ndarray:
    """Add ``delta[n]`` to every value of image n, in place, then clip. ``delta``: ``(N,)``.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import adjust_brightness
        >>> x = np.array([[[[0.0], [10.0]]]], np.float32)        # one 1x2 grey image
        >>> adjust_brightness(x, np.array([250.0]))[0, 0, :, 0]       # clipped at 255
        array([250., 255.], dtype=float32)
    """
    x += np.asarray(delta, dtype=np.float32)[:, None, None, None]
    return np.clip(x, value_range[0], value_range[1], out=x)


def adjust_contrast(
    x: np.ndarray, factor: np.ndarray, value_range: tuple[float, float] = (0, 255)
) -> np.ndarray:
    """``(x - mean) * factor + mean`` per image and channel (Keras's formula), in place, clipped.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import adjust_contrast
        >>> x = np.array([[[[0.0], [10.0]]]], np.float32)        # one 1x2 grey image
        >>> adjust_contrast(x, np.array([2.0]))[0, 0, :, 0]           # mean 5, spread doubled
        array([ 0., 15.], dtype=float32)
    """
    mean = x.mean(axis=(1, 2), keepdims=True, dtype=np.float32)  # (N, 1, 1, C)
    f = np.asarray(factor, dtype=np.float32)[:, None, None, None]
    x -= mean
    x *= f
    x += mean
    return np.clip(x, value_range[0], value_range[1], out=x)


def adjust_saturation(
    x: np.ndarray, factor: np.ndarray, value_range: tuple[float, float] = (0, 255)
) -> np.ndarray:
    """``gray + (x - gray) * factor`` per pixel (0 = grayscale, 1 = unchanged), in place.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import adjust_saturation
        >>> red = np.array([[[[200.0, 0.0, 0.0]]]], np.float32)      # one red pixel
        >>> adjust_saturation(red, np.array([0.0])).round(1)[0, 0, 0]  # factor 0: its luma grey
        array([59.8, 59.8, 59.8], dtype=float32)
    """
    gray = (x @ _LUMA)[..., None]  # (N, H, W, 3) -> (N, H, W, 1)
    f = np.asarray(factor, dtype=np.float32)[:, None, None, None]
    x -= gray
    x *= f
    x += gray
    return np.clip(x, value_range[0], value_range[1], out=x)


@numba.njit(cache=True, inline="always")
def _fold(i: int, n: int, mode: int) -> int:
    """Index `i` mapped into 0..n-1 by fill mode; -1 means 'use the constant fill value'."""
    if 0 <= i < n:
        return i
    if mode == 0:  # reflect: d c b a | a b c d | d c b a
        p = i % (2 * n)
        return p if p < n else 2 * n - 1 - p
    if mode == 1:  # wrap
        return i % n
    if mode == 2:  # nearest
        return 0 if i < 0 else n - 1
    return -1


@numba.njit(cache=True, nogil=True)
def _warp_kernel(x, mats, mode, interp, fill_value, out):  # pragma: no cover - compiled
    n_img, h, w, c = x.shape
    for n in range(n_img):
        a00, a01, a02 = mats[n, 0, 0], mats[n, 0, 1], mats[n, 0, 2]
        a10, a11, a12 = mats[n, 1, 0], mats[n, 1, 1], mats[n, 1, 2]
        for r in range(h):
            for q in range(w):
                sr = a00 * r + a01 * q + a02  # source row
                sc = a10 * r + a11 * q + a12  # source column
                if interp == 0:
                    i = _fold(int(math.floor(sr + 0.5)), h, mode)
                    j = _fold(int(math.floor(sc + 0.5)), w, mode)
                    for k in range(c):
                        out[n, r, q, k] = fill_value if (i < 0 or j < 0) else x[n, i, j, k]
                    continue
                r0 = int(math.floor(sr))
                c0 = int(math.floor(sc))
                fr = sr - r0
                fc = sc - c0
                i0 = _fold(r0, h, mode)
                i1 = _fold(r0 + 1, h, mode)
                j0 = _fold(c0, w, mode)
                j1 = _fold(c0 + 1, w, mode)
                for k in range(c):
                    v00 = fill_value if (i0 < 0 or j0 < 0) else x[n, i0, j0, k]
                    v01 = fill_value if (i0 < 0 or j1 < 0) else x[n, i0, j1, k]
                    v10 = fill_value if (i1 < 0 or j0 < 0) else x[n, i1, j0, k]
                    v11 = fill_value if (i1 < 0 or j1 < 0) else x[n, i1, j1, k]
                    top = v00 + (v01 - v00) * fc
                    bot = v10 + (v11 - v10) * fc
                    out[n, r, q, k] = top + (bot - top) * fr


@numba.njit(cache=True, inline="always")
def _clip(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else (hi if v > hi else v)


@numba.njit(cache=True, nogil=True)  # nogil: runs in the prefetch thread beside training
def _augment_kernel(  # pragma: no cover - compiled; checked against the NumPy primitives
    x, mats, warp, flip_h, flip_v, mode, fill_value, delta, cf, sf, do_b, do_c, do_s, lo, hi, out
):
    """Per image: bilinear warp (or a copy, flipped per `flip_h`/`flip_v`), brightness, then
    contrast and saturation, each clipped to ``lo..hi``.

    Two passes over each image: the first writes the moved pixel plus brightness and sums the
    channels for contrast's mean; the second applies contrast then saturation.
    """
    n_img, h, w, c = x.shape
    sums = np.zeros(c, dtype=np.float64)
    for n in range(n_img):
        sums[:] = 0.0
        a00, a01, a02 = mats[n, 0, 0], mats[n, 0, 1], mats[n, 0, 2]
        a10, a11, a12 = mats[n, 1, 0], mats[n, 1, 1], mats[n, 1, 2]
        b = delta[n]
        for r in range(h):
            rr = h - 1 - r if flip_v[n] else r
            sr = a00 * r + a02  # source coordinates of (r, 0); step (a01, a11) per column
            sc = a10 * r + a12
            for q in range(w):
                if warp:
                    r0 = int(math.floor(sr))
                    c0 = int(math.floor(sc))
                    fr = sr - r0
                    fc = sc - c0
                    if 0 <= r0 and r0 + 1 < h and 0 <= c0 and c0 + 1 < w:
                        for k in range(c):  # the common case: all four taps inside
                            top = x[n, r0, c0, k] + (x[n, r0, c0 + 1, k] - x[n, r0, c0, k]) * fc
                            bot = (
                                x[n, r0 + 1, c0, k]
                                + (x[n, r0 + 1, c0 + 1, k] - x[n, r0 + 1, c0, k]) * fc
                            )
                            out[n, r, q, k] = top + (bot - top) * fr
                    else:
                        i0 = _fold(r0, h, mode)
                        i1 = _fold(r0 + 1, h, mode)
                        j0 = _fold(c0, w, mode)
                        j1 = _fold(c0 + 1, w, mode)
                        for k in range(c):
                            v00 = fill_value if (i0 < 0 or j0 < 0) else x[n, i0, j0, k]
                            v01 = fill_value if (i0 < 0 or j1 < 0) else x[n, i0, j1, k]
                            v10 = fill_value if (i1 < 0 or j0 < 0) else x[n, i1, j0, k]
                            v11 = fill_value if (i1 < 0 or j1 < 0) else x[n, i1, j1, k]
                            top = v00 + (v01 - v00) * fc
                            bot = v10 + (v11 - v10) * fc
                            out[n, r, q, k] = _clip(top + (bot - top) * fr, lo, hi)
                    sr += a01
                    sc += a11
                else:
                    qq = w - 1 - q if flip_h[n] else q
                    for k in range(c):
                        out[n, r, q, k] = x[n, rr, qq, k]
                if do_b:
                    for k in range(c):
                        out[n, r, q, k] = _clip(out[n, r, q, k] + b, lo, hi)
                if do_c:
                    for k in range(c):
                        sums[k] += out[n, r, q, k]
        if not (do_c or do_s):
            continue
        f = cf[n]
        s = sf[n]
        inv = 1.0 / (h * w)
        m0 = np.float32(sums[0] * inv)
        m1 = np.float32(sums[1 % c] * inv)
        m2 = np.float32(sums[2 % c] * inv)
        for r in range(h):
            for q in range(w):
                if do_c:
                    for k in range(c):
                        m = m0 if k == 0 else (m1 if k == 1 else (m2 if k == 2 else sums[k] * inv))
                        out[n, r, q, k] = _clip((out[n, r, q, k] - m) * f + m, lo, hi)
                if do_s:
                    red = out[n, r, q, 0]
                    green = out[n, r, q, 1]
                    blue = out[n, r, q, 2]
                    gray = np.float32(0.299) * red + np.float32(0.587) * green
                    gray += np.float32(0.114) * blue
                    out[n, r, q, 0] = _clip(gray + (red - gray) * s, lo, hi)
                    out[n, r, q, 1] = _clip(gray + (green - gray) * s, lo, hi)
                    out[n, r, q, 2] = _clip(gray + (blue - gray) * s, lo, hi)


def affine_matrices(
    shape: tuple[int, int],
    angle: np.ndarray,
    zoom_h: np.ndarray,
    zoom_w: np.ndarray,
    shift_h: np.ndarray,
    shift_w: np.ndarray,
) -> np.ndarray:
    """Per-image maps from output pixel ``(row, col, 1)`` to source ``(row, col)``.

    Rotation by `angle` radians (counter-clockwise) and scaling by the zoom factors (> 1 zooms
    out, as in Keras) about the image centre, then a shift of ``shift * size`` pixels.

    Shape: every argument ``(N,)`` -> ``(N, 2, 3)`` float32.

    Example (the identity map: no rotation, zoom 1, no shift):
        >>> import numpy as np
        >>> from minicnn.data import affine_matrices
        >>> one, zero = np.ones(1), np.zeros(1)
        >>> m = affine_matrices((4, 4), zero, one, one, zero, zero)
        >>> m.shape, np.array_equal(m[0], [[1, 0, 0], [0, 1, 0]])
        ((1, 2, 3), True)
    """
    h, w = shape
    cr, cc = (h - 1) / 2.0, (w - 1) / 2.0
    cos, sin = np.cos(angle), np.sin(angle)
    m = np.empty((len(angle), 2, 3), dtype=np.float64)
    # [sr, sc] = R @ diag(zh, zw) @ [r - cr, c - cc] + [cr, cc] - shift
    m[:, 0, 0] = cos * zoom_h
    m[:, 0, 1] = sin * zoom_w
    m[:, 1, 0] = -sin * zoom_h
    m[:, 1, 1] = cos * zoom_w
    m[:, 0, 2] = cr - m[:, 0, 0] * cr - m[:, 0, 1] * cc - shift_h * h
    m[:, 1, 2] = cc - m[:, 1, 0] * cr - m[:, 1, 1] * cc - shift_w * w
    return m.astype(np.float32)


def affine_warp(
    x: np.ndarray,
    matrices: np.ndarray,
    fill_mode: str = "reflect",
    interpolation: str = "bilinear",
    fill_value: float = 0.0,
) -> np.ndarray:
    """Resample each image through its affine map (see `affine_matrices`).

    Args:
        x: float32 batch. Shape: ``(N, H, W, C)``.
        matrices: output -> source maps. Shape: ``(N, 2, 3)``.
        fill_mode: ``"reflect"`` (Keras's default), ``"wrap"``, ``"nearest"`` or ``"constant"``.
        interpolation: ``"bilinear"`` or ``"nearest"``.
        fill_value: value outside the image with ``fill_mode="constant"``.

    Returns:
        float32 batch of the same shape.

    Example (a shift of half the width, filled by reflection):
        >>> import numpy as np
        >>> from minicnn.data import affine_matrices, affine_warp
        >>> x = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)
        >>> one, zero = np.ones(1), np.zeros(1)
        >>> m = affine_matrices((1, 4), zero, one, one, zero, np.array([0.5]))
        >>> affine_warp(x, m)[0, 0, :, 0]
        array([1., 0., 0., 1.], dtype=float32)
    """
    mode = _choice(fill_mode, FILL_MODES, "fill_mode")
    interp = _choice(interpolation, WARP_INTERPOLATIONS, "interpolation")
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty_like(x)
    _warp_kernel(
        x,
        np.ascontiguousarray(matrices, dtype=np.float32),
        mode,
        interp,
        np.float32(fill_value),
        out,
    )
    return out


# -- the pipeline --------------------------------------------------------------------------------


class Augment:
    """Random flip, colour jitter and zoom/rotation/translation for a batch, in one call.

    Each image gets its own random parameters, drawn in a fixed order from `rng` (or the
    generator made from `seed`), so the same seed gives the same augmented batches. Colour ops
    run in the order brightness, contrast, saturation (each clipped to `value_range`), then
    one bilinear warp does zoom, rotation and translation together, then the flip.

    Args:
        flip: ``"horizontal"``, ``"vertical"``, ``"horizontal_and_vertical"`` or None; each
            direction with probability 1/2.
        brightness: Keras `RandomBrightness` factor: delta in ``factor * (hi - lo)``.
        contrast: Keras `RandomContrast` factor: multiplier in ``[1 - f, 1 + f]``.
        saturation: multiplier in ``[1 - f, 1 + f]`` (see `RandomSaturation`).
        zoom: Keras `RandomZoom` height factor (aspect kept): zoom in ``[1 + lo, 1 + hi]``,
            negative values zoom in (a random crop when combined with `translation`).
        rotation: Keras `RandomRotation` factor, fraction of a full turn.
        translation: Keras `RandomTranslation` factor, fraction of height/width.
        fill_mode, interpolation, fill_value: for the warp, see `affine_warp`.
        value_range: the pixel range, ``(0, 255)`` for minicnn's loader.
        seed: seed of the generator used when `__call__` gets no `rng`.

    Shape:
        ``(N, H, W, C)`` -> ``(N, H, W, C)`` float32.

    Example:
        >>> aug = Augment(flip="horizontal", brightness=0.1, zoom=0.1, rotation=0.03, seed=0)
        >>> aug(np.zeros((2, 8, 8, 3), np.float32)).shape
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        flip: str | None = None,
        brightness: Factor = 0.0,
        contrast: Factor = 0.0,
        saturation: Factor = 0.0,
        zoom: Factor = 0.0,
        rotation: Factor = 0.0,
        translation: Factor = 0.0,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        value_range: tuple[float, float] = (0, 255),
        seed: int | None = None,
    ) -> None:
        flips = {
            None: (False, False),
            "horizontal": (True, False),
            "vertical": (False, True),
            "horizontal_and_vertical": (True, True),
        }
        if flip not in flips:
            raise ValueError(f"`flip` must be one of {tuple(flips)}. Received: flip={flip!r}")
        self.flip = flip
        self._flip_h, self._flip_v = flips[flip]
        self.brightness = _range(brightness, "brightness", bound=1.0)
        lo, hi = _contrast_like(contrast, "contrast")
        self.contrast = (lo, hi)
        self.saturation = _contrast_like(saturation, "saturation")
        self.zoom = _range(zoom, "zoom")
        if self.zoom[0] <= -1.0:
            raise ValueError(f"`zoom` must be greater than -1. Received: zoom={zoom!r}")
        self.rotation = _range(rotation, "rotation")
        self.translation = _range(translation, "translation", bound=1.0)
        _choice(fill_mode, FILL_MODES, "fill_mode")
        _choice(interpolation, WARP_INTERPOLATIONS, "interpolation")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = float(fill_value)
        if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2):
            raise ValueError(
                f"`value_range` must be a tuple of 2 numbers. Received: value_range={value_range!r}"
            )
        self.value_range = (float(min(value_range)), float(max(value_range)))
        self.rng = np.random.default_rng(seed)

    @property
    def _geometric(self) -> bool:
        return (self.zoom, self.rotation, self.translation) != ((0.0, 0.0),) * 3

    def draw(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray | None]:
        """Random parameters for `n` images, drawn in a fixed order (None: op disabled)."""
        vr = self.value_range
        p: dict[str, np.ndarray | None] = dict.fromkeys(
            (
                "delta",
                "contrast",
                "saturation",
                "zoom_h",
                "zoom_w",
                "angle",
                "shift_h",
                "shift_w",
                "flip_h",
                "flip_v",
            )
        )
        if self.brightness != (0.0, 0.0):
            p["delta"] = rng.uniform(*self.brightness, size=n) * (vr[1] - vr[0])
        if self.contrast != (1.0, 1.0):
            p["contrast"] = rng.uniform(*self.contrast, size=n)
        if self.saturation != (1.0, 1.0):
            p["saturation"] = rng.uniform(*self.saturation, size=n)
        if self._geometric:
            p["zoom_h"] = p["zoom_w"] = 1.0 + rng.uniform(*self.zoom, size=n)
            p["angle"] = rng.uniform(*self.rotation, size=n) * 2 * np.pi
            p["shift_h"] = rng.uniform(*self.translation, size=n)
            p["shift_w"] = rng.uniform(*self.translation, size=n)
        if self._flip_h:
            p["flip_h"] = rng.random(n) < 0.5
        if self._flip_v:
            p["flip_v"] = rng.random(n) < 0.5
        return p

    @staticmethod
    def matrices(params: dict, n: int, h: int, w: int) -> np.ndarray | None:
        """The warp maps of `params` with the flips folded in; None if nothing moves pixels.

        Shape: ``(n, 2, 3)`` float32.
        """
        if params["angle"] is None and params["flip_h"] is None and params["flip_v"] is None:
            return None
        if params["angle"] is None:
            zero, one = np.zeros(n), np.ones(n)
            m = affine_matrices((h, w), zero, one, one, zero, zero)
        else:
            m = affine_matrices(
                (h, w),
                params["angle"],
                params["zoom_h"],
                params["zoom_w"],
                params["shift_h"],
                params["shift_w"],
            )
        # out(r, q) = warped(r, w-1-q): substitute q -> w-1-q in the map (likewise rows)
        for key, col, size in (("flip_h", 1, w), ("flip_v", 0, h)):
            if params[key] is not None:
                f = params[key]
                m[f, :, 2] += m[f, :, col] * (size - 1)
                m[f, :, col] *= -1
        return m

    def apply(self, x: np.ndarray, params: dict) -> np.ndarray:
        """Apply drawn `params` to a batch in one fused pass (numba).

        Order: flip/zoom/rotation/translation (one bilinear warp), brightness, contrast,
        saturation, each clipped to `value_range`.
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 4:
            raise ValueError(f"Expected a batch of shape (N, H, W, C). Received: x.shape={x.shape}")
        n, h, w, c = x.shape
        if params["saturation"] is not None and c != 3:
            raise ValueError(f"Saturation needs RGB images. Received: x.shape={x.shape}")
        warp = params["angle"] is not None
        none = np.zeros(n, dtype=np.bool_)
        if warp:  # flips folded into the warp maps
            mats = self.matrices(params, n, h, w)
            flip_h = flip_v = none
        else:  # flips done by the kernel's copy
            mats = np.zeros((n, 2, 3), np.float32)
            flip_h = none if params["flip_h"] is None else params["flip_h"]
            flip_v = none if params["flip_v"] is None else params["flip_v"]
        one = np.ones(n, np.float32)

        def arr(key: str, default: np.ndarray) -> np.ndarray:
            v = params[key]
            return default if v is None else np.asarray(v, dtype=np.float32)

        out = np.empty_like(x)
        _augment_kernel(
            x,
            mats,
            warp,
            np.asarray(flip_h, dtype=np.bool_),
            np.asarray(flip_v, dtype=np.bool_),
            FILL_MODES[self.fill_mode],
            np.float32(self.fill_value),
            arr("delta", 0 * one),
            arr("contrast", one),
            arr("saturation", one),
            params["delta"] is not None,
            params["contrast"] is not None,
            params["saturation"] is not None,
            np.float32(self.value_range[0]),
            np.float32(self.value_range[1]),
            out,
        )
        return out

    def __call__(self, x: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Augment a batch; `rng` defaults to this object's own generator."""
        x = np.asarray(x)
        if x.ndim != 4:
            raise ValueError(f"Expected a batch of shape (N, H, W, C). Received: x.shape={x.shape}")
        params = self.draw(len(x), rng if rng is not None else self.rng)
        if self.interpolation == "nearest" and self._geometric:
            # nearest-neighbour warps go through the general kernel, colours through NumPy
            y = affine_warp(
                x,
                self.matrices(params, *x.shape[:3]),
                self.fill_mode,
                "nearest",
                self.fill_value,
            )
            np.clip(y, *self.value_range, out=y)
            return self._colour_numpy(y, params)
        return self.apply(x, params)

    def _colour_numpy(self, x: np.ndarray, params: dict) -> np.ndarray:
        vr = self.value_range
        if params["delta"] is not None:
            adjust_brightness(x, params["delta"], vr)
        if params["contrast"] is not None:
            adjust_contrast(x, params["contrast"], vr)
        if params["saturation"] is not None:
            adjust_saturation(x, params["saturation"], vr)
        return x

    def __repr__(self) -> str:
        return (
            f"Augment(flip={self.flip!r}, brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation}, zoom={self.zoom}, rotation={self.rotation}, "
            f"translation={self.translation})"
        )


def _contrast_like(factor: Factor, name: str) -> tuple[float, float]:
    """Keras's contrast convention: ``f -> [1 - f, 1 + f]``, ``(a, b) -> [1 - a, 1 + b]``."""
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        a = b = float(factor)
    elif isinstance(factor, (tuple, list)) and len(factor) == 2:
        a, b = float(factor[0]), float(factor[1])
    else:
        raise ValueError(
            f"`{name}` must be a float or a tuple of 2 floats. Received: {name}={factor!r}"
        )
    if not (0 <= a <= 1 and b >= 0):
        raise ValueError(
            f"`{name}` must give a range within [0, inf) around 1. Received: {name}={factor!r}"
        )
    return 1.0 - a, 1.0 + b


def augment(
    x: np.ndarray, rng: np.random.Generator | int | None = None, **options: object
) -> np.ndarray:
    """Functional form of `Augment`: ``augment(x, rng, flip="horizontal", zoom=0.1)``.

    Same as ``Augment(**options)(x, rng)``; `rng` may be a Generator or a seed.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import augment
        >>> x = np.full((2, 8, 8, 3), 100.0, np.float32)
        >>> y = augment(x, 0, flip="horizontal", contrast=0.2)
        >>> y.shape, y.dtype, bool(np.allclose(y, 100.0))   # a flat image stays flat
        ((2, 8, 8, 3), dtype('float32'), True)
    """
    return Augment(**options)(x, _rng(rng))  # type: ignore[arg-type]


# -- Keras-named single transforms -----------------------------------------------------------------


class RandomFlip(Augment):
    """Keras ``RandomFlip(mode)``: "horizontal", "vertical" or "horizontal_and_vertical".

    Example:
        >>> RandomFlip("horizontal", seed=0)(np.ones((4, 2, 2, 3), np.float32)).shape
        (4, 2, 2, 3)
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None) -> None:
        super().__init__(flip=mode, seed=seed)


class RandomBrightness(Augment):
    """Keras ``RandomBrightness(factor, value_range)``: add ``U(lo, hi) * (max - min)``, clip.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import RandomBrightness
        >>> out = RandomBrightness(0.1, seed=0)(np.full((3, 2, 2, 3), 100.0, np.float32))
        >>> bool((np.abs(out - 100.0) <= 0.1 * 255).all())
        True
    """

    def __init__(
        self, factor: Factor, value_range: tuple[float, float] = (0, 255), seed: int | None = None
    ) -> None:
        super().__init__(brightness=factor, value_range=value_range, seed=seed)


class RandomContrast(Augment):
    """Keras ``RandomContrast(factor)``: ``(x - mean) * U(1 - f, 1 + f) + mean`` per channel.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import RandomContrast
        >>> float(RandomContrast(0.5, seed=0)(np.zeros((2, 4, 4, 3), np.float32)).max())
        0.0
    """

    def __init__(
        self, factor: Factor, value_range: tuple[float, float] = (0, 255), seed: int | None = None
    ) -> None:
        super().__init__(contrast=factor, value_range=value_range, seed=seed)


class RandomSaturation(Augment):
    """Saturation multiplier ``U(1 - f, 1 + f)`` around the luma gray.

    Note: unlike Keras's ``RandomSaturation`` (where 0.5 means unchanged), here ``factor=0`` is
    the identity and the factor reads like `RandomContrast`'s.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import RandomSaturation
        >>> grey = np.full((2, 4, 4, 3), 80.0, np.float32)
        >>> bool(np.allclose(RandomSaturation(0.3, seed=0)(grey), 80.0))   # grey has no colour
        True
    """

    def __init__(
        self, factor: Factor, value_range: tuple[float, float] = (0, 255), seed: int | None = None
    ) -> None:
        super().__init__(saturation=factor, value_range=value_range, seed=seed)


class RandomZoom(Augment):
    """Keras ``RandomZoom(height_factor, width_factor=None)``: positive zooms out, negative in.

    With ``width_factor=None`` the aspect ratio is kept (one factor per image).

    Example:
        >>> import numpy as np
        >>> from minicnn.data import RandomZoom
        >>> RandomZoom(0.2, seed=0)(np.ones((2, 8, 8, 3), np.float32)).shape
        (2, 8, 8, 3)
    """

    def __init__(
        self,
        height_factor: Factor,
        width_factor: Factor | None = None,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
    ) -> None:
        super().__init__(
            zoom=height_factor,
            fill_mode=fill_mode,
            interpolation=interpolation,
            fill_value=fill_value,
            seed=seed,
        )
        self.width_zoom = None if width_factor is None else _range(width_factor, "width_factor")

    def draw(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray | None]:
        p = super().draw(n, rng)
        if self.width_zoom is not None:
            p["zoom_w"] = 1.0 + rng.uniform(*self.width_zoom, size=n)
        return p

    @property
    def _geometric(self) -> bool:
        return super()._geometric or self.width_zoom not in (None, (0.0, 0.0))


class RandomRotation(Augment):
    """Keras ``RandomRotation(factor)``: angle ``U(lo, hi) * 2π``, counter-clockwise positive.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import RandomRotation
        >>> x = np.ones((2, 8, 8, 3), np.float32)
        >>> bool(np.allclose(RandomRotation(0.1, seed=0)(x), 1.0))   # reflect fill keeps ones
        True
    """

    def __init__(
        self,
        factor: Factor,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
    ) -> None:
        super().__init__(
            rotation=factor,
            fill_mode=fill_mode,
            interpolation=interpolation,
            fill_value=fill_value,
            seed=seed,
        )


class RandomTranslation(Augment):
    """Keras ``RandomTranslation(factor)``-like: shift by ``U(lo, hi) * size`` on both axes.

    Example:
        >>> import numpy as np
        >>> from minicnn.data import RandomTranslation
        >>> RandomTranslation(0.1, seed=0)(np.zeros((1, 8, 8, 3), np.float32)).shape
        (1, 8, 8, 3)
    """

    def __init__(
        self,
        factor: Factor,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
    ) -> None:
        super().__init__(
            translation=factor,
            fill_mode=fill_mode,
            interpolation=interpolation,
            fill_value=fill_value,
            seed=seed,
        )
