"""Keras 3's image preprocessing layers, to sit at a model's input.

The random layers (``RandomFlip``, ``RandomRotation``, ``RandomZoom``, ``RandomTranslation``,
``RandomContrast``, ``RandomBrightness``, ``RandomCrop``) transform when called with
``training=True`` (``fit``) or on their own without ``training`` (as Keras's, whose ``call``
defaults to training), and return their input unchanged with ``training=False`` (a model's
``predict`` and ``evaluate``); each draws one set of parameters per image, from a private
generator when given ``seed`` and from minicnn's global one (``minicnn.set_seed``) otherwise.
They are built on ``minicnn.data.augment``'s kernels. ``Resizing`` and ``CenterCrop`` act
always, with TensorFlow's resize arithmetic (half-pixel centres).

Their outputs carry no gradient to the input (they are data preparation, at the input);
at inference the random layers pass the input Tensor through untouched.

Example:
    >>> import numpy as np, minicnn as mc
    >>> augment = mc.Sequential([mc.layers.RandomFlip("horizontal", seed=0),
    ...                          mc.layers.RandomRotation(0.1, seed=1)])
    >>> x = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype(np.float32)
    >>> bool((augment(x, training=False).numpy() == x).all()), augment(x, training=True).shape
    (True, (4, 8, 8, 3))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minicnn.data.augment import (
    FILL_MODES,
    WARP_INTERPOLATIONS,
    Augment,
    _choice,
    _range,
)
from minicnn.data.augment import RandomZoom as _ZoomAugment
from minicnn.layers.base import Layer
from minicnn.random import make_rng
from minicnn.tensor import Tensor

_NO_CLIP = (-np.inf, np.inf)  # geometric layers do not clip (Keras's don't either)


def _check_data_format(data_format: Any, who: str) -> None:
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{who}: minicnn is channels-last only. "
                         f"Received: data_format={data_format!r}")


def _check_images(x: Tensor, who: str) -> np.ndarray:
    if x.ndim != 4:
        raise ValueError(f"{who} expects a batch of images (N, H, W, C). "
                         f"Received: an input of shape {x.shape}")
    return x.data


class _RandomLayer(Layer):
    """Shared: the seeded generator, the training switch and the data-format check."""

    def __init__(self, seed: int | None = None, data_format: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        _check_data_format(data_format, type(self).__name__)
        self.seed = seed
        self._rng = make_rng(seed) if seed is not None else None

    @property
    def rng(self) -> np.random.Generator:
        return self._rng if self._rng is not None else make_rng(None)

    def call(self, x, training=True):
        # Keras: `training` left unspecified (None, the Layer.__call__ default) takes this
        # default, so called on its own -- as in a `ds.map(lambda x, y: (augment(x), y))`
        # pipeline, or inside a model called as `model(x)` -- the layer augments;
        # fit/evaluate/predict pass training explicitly
        if not training:
            return x
        out = self.transform(_check_images(x, type(self).__name__))
        return Tensor(np.asarray(out, dtype=x.dtype))

    def transform(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class RandomFlip(_RandomLayer):
    """Mirror each image with probability 1/2, in training only.

    Args:
        mode: "horizontal" (left-right), "vertical" (top-bottom) or "horizontal_and_vertical"
            (each decided independently).
        seed: a private seed (default: minicnn's global generator).

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)
        >>> outs = {tuple(mc.layers.RandomFlip("horizontal", seed=s)(x, training=True)
        ...               .numpy().ravel().tolist()) for s in range(8)}
        >>> sorted(outs)
        [(0.0, 1.0, 2.0, 3.0), (3.0, 2.0, 1.0, 0.0)]
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 data_format: Any = None, **kwargs: Any):
        super().__init__(seed, data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument "
                             f"{mode}. Expected one of {self._MODES}.")
        self.mode = mode
        self._augment = Augment(flip=mode, value_range=_NO_CLIP)

    def transform(self, x):
        return self._augment(x, self.rng)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _GeometricLayer(_RandomLayer):
    """Rotation / zoom / translation: one bilinear (or nearest) warp per image."""

    def __init__(self, fill_mode: str, interpolation: str, seed: int | None, fill_value: float,
                 data_format: Any, **kwargs: Any):
        super().__init__(seed, data_format, **kwargs)
        _choice(fill_mode, FILL_MODES, "fill_mode")
        _choice(interpolation, WARP_INTERPOLATIONS, "interpolation")
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = float(fill_value)

    def _options(self) -> dict[str, Any]:
        return dict(fill_mode=self.fill_mode, interpolation=self.interpolation,
                    fill_value=self.fill_value, value_range=_NO_CLIP)

    def transform(self, x):
        return self._augment(x, self.rng)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomRotation(_GeometricLayer):
    """Rotate each image by ``U(lo, hi) * 2π`` about its centre (counter-clockwise for positive
    values), in training only.

    Args:
        factor: a fraction of a full turn: ``f`` means ``(-f, f)``, or a ``(lo, hi)`` pair.
        fill_mode: "reflect" (default), "wrap", "nearest" or "constant" outside the image.
        interpolation: "bilinear" or "nearest".
        seed: a private seed.
        fill_value: the value outside the image with ``fill_mode="constant"``.

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
        >>> quarter = mc.layers.RandomRotation((0.25, 0.25))   # exactly a quarter turn
        >>> quarter(x, training=True).numpy()[0, :, :, 0].round(4) + 0   # np.rot90(x)
        array([[2., 5., 8.],
               [1., 4., 7.],
               [0., 3., 6.]], dtype=float32)
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, value_range: Sequence[float] = (0, 255),
                 data_format: Any = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor
        self.value_range = tuple(value_range)
        self._augment = Augment(rotation=factor, **self._options())

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_GeometricLayer):
    """Zoom each image about its centre, in training only: positive factors zoom out (the
    image shrinks, the border is filled), negative zoom in, as Keras.

    Args:
        height_factor: ``f`` means ``(-f, f)``, or a ``(lo, hi)`` pair; fractions of the size.
        width_factor: the same for the width; None keeps the aspect ratio (one draw per image).
        fill_mode, interpolation, seed, fill_value: as ``RandomRotation``.

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = np.ones((2, 8, 8, 3), np.float32)
        >>> mc.layers.RandomZoom(0.2, seed=0)(x, training=True).shape
        (2, 8, 8, 3)
    """

    def __init__(self, height_factor: Any, width_factor: Any = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, data_format: Any = None,
                 **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._augment = _ZoomAugment(height_factor, width_factor, fill_mode=fill_mode,
                                       interpolation=interpolation, fill_value=fill_value)
        self._augment.value_range = _NO_CLIP

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class _Translation(Augment):
    """Augment with separate height and width shift ranges (Keras's RandomTranslation)."""

    def __init__(self, height: tuple[float, float], width: tuple[float, float], **options: Any):
        super().__init__(translation=max(abs(v) for v in (*height, *width)) or 0.0, **options)
        self.height, self.width = height, width

    def draw(self, n, rng):
        p = super().draw(n, rng)
        if p["shift_h"] is not None:
            p["shift_h"] = rng.uniform(*self.height, size=n)
            p["shift_w"] = rng.uniform(*self.width, size=n)
        return p


class RandomTranslation(_GeometricLayer):
    """Shift each image by ``U(lo, hi) * height`` rows and ``U(lo, hi) * width`` columns
    (positive: down and right), in training only.

    Args:
        height_factor: ``f`` means ``(-f, f)``, or a ``(lo, hi)`` pair, fractions of the height.
        width_factor: the same for the width.
        fill_mode, interpolation, seed, fill_value: as ``RandomRotation``.

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)
        >>> shift = mc.layers.RandomTranslation(0, (0.25, 0.25), fill_mode="constant")
        >>> shift(x, training=True).numpy().ravel()          # one column to the right
        array([0., 0., 1., 2.], dtype=float32)
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: Any = None, **kwargs: Any):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._augment = _Translation(_range(height_factor, "height_factor", bound=1.0),
                                     _range(width_factor, "width_factor", bound=1.0),
                                     **self._options())

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomContrast(_RandomLayer):
    """``(x - mean) * c + mean`` per image and channel with ``c ~ U(1 - lo, 1 + hi)``, clipped
    to ``value_range``, in training only.

    Args:
        factor: ``f`` means ``[1 - f, 1 + f]``; a pair ``(a, b)`` means ``[1 - a, 1 + b]``.
        value_range: the range outputs are clipped to.
        seed: a private seed.

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> flat = np.full((2, 4, 4, 3), 80.0, np.float32)
        >>> bool((mc.layers.RandomContrast(0.5, seed=0)(flat, training=True).numpy() == 80).all())
        True
    """

    def __init__(self, factor: Any, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed, **kwargs)
        self.factor = factor
        self.value_range = tuple(value_range)
        self._augment = Augment(contrast=factor, value_range=self.value_range)

    def transform(self, x):
        return self._augment(x, self.rng)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": list(self.value_range)}


class RandomBrightness(_RandomLayer):
    """Add ``U(lo, hi) * (max - min)`` of ``value_range`` to each image, then clip, in
    training only.

    Args:
        factor: ``f`` means ``(-f, f)``, or a ``(lo, hi)`` pair, each in [-1, 1].
        value_range: the range of the inputs (and of the clipped outputs).
        seed: a private seed.

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = np.full((1, 2, 2, 3), 0.5, np.float32)
        >>> brighter = mc.layers.RandomBrightness((0.1, 0.1), value_range=(0, 1))
        >>> brighter(x, training=True).numpy()[0, 0, 0]      # 0.5 + 0.1 * (1 - 0)
        array([0.6, 0.6, 0.6], dtype=float32)
    """

    def __init__(self, factor: Any, value_range: Sequence[float] = (0, 255),
                 seed: int | None = None, **kwargs: Any):
        super().__init__(seed, **kwargs)
        self.factor = factor
        self.value_range = tuple(value_range)
        self._augment = Augment(brightness=factor, value_range=self.value_range)

    def transform(self, x):
        return self._augment(x, self.rng)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": list(self.value_range)}


# -- resizing and cropping ------------------------------------------------------------------------


def _check_size(value: Any, arg: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{who}: `{arg}` must be a positive int. Received: {arg}={value!r}")
    return int(value)


def _aspect_crop_box(h: int, w: int, th: int, tw: int) -> tuple[int, int, int, int]:
    """Keras's centred crop to the target aspect ratio: ``(top, left, height, width)``."""
    ch = max(min(h, int(float(w * th) / tw)), 1)
    cw = max(min(w, int(float(h * tw) / th)), 1)
    return int(float(h - ch) / 2), int(float(w - cw) / 2), ch, cw


def _source_index(out_size: int, in_size: int, nearest: bool) -> tuple[np.ndarray, ...]:
    """TensorFlow's half-pixel-centre sampling positions along one axis (float32)."""
    scale = np.float32(in_size / out_size)
    centre = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale
    if nearest:
        return (np.minimum(np.floor(centre), in_size - 1).astype(np.int64),)
    pos = centre - np.float32(0.5)
    floor = np.floor(pos)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(pos), in_size - 1).astype(np.int64)
    return lower, upper, (pos - floor).astype(np.float32)


def resize_images(x: np.ndarray, height: int, width: int,
                  interpolation: str = "bilinear") -> np.ndarray:
    """Resize a batch ``(N, H, W, C)`` as ``tf.image.resize`` (no antialiasing).

    Example:
        >>> import numpy as np
        >>> from minicnn.layers.preprocessing import resize_images
        >>> resize_images(np.array([[[[0.0], [4.0]]]], np.float32), 1, 4)[0, 0, :, 0]
        array([0., 1., 3., 4.], dtype=float32)
    """
    n, h, w, c = x.shape
    x = np.asarray(x, dtype=np.float32)
    if (h, w) == (height, width):
        return x.copy()
    if interpolation == "nearest":
        (rows,), (cols,) = _source_index(height, h, True), _source_index(width, w, True)
        return x[:, rows][:, :, cols]
    r0, r1, fr = _source_index(height, h, False)
    c0, c1, fc = _source_index(width, w, False)
    fc = fc[None, None, :, None]
    top = x[:, r0][:, :, c0] + (x[:, r0][:, :, c1] - x[:, r0][:, :, c0]) * fc
    bottom = x[:, r1][:, :, c0] + (x[:, r1][:, :, c1] - x[:, r1][:, :, c0]) * fc
    return top + (bottom - top) * fr[None, :, None, None]


def _smart_resize(x: np.ndarray, height: int, width: int) -> np.ndarray:
    top, left, ch, cw = _aspect_crop_box(x.shape[1], x.shape[2], height, width)
    return resize_images(x[:, top:top + ch, left:left + cw], height, width)


class Resizing(Layer):
    """Resize images to ``(height, width)``, always (training and inference), with TensorFlow's
    arithmetic.

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default) or "nearest".
        crop_to_aspect_ratio: first crop the largest centred box of the target aspect ratio.
        pad_to_aspect_ratio, fill_mode, fill_value, antialias: Keras's; only their defaults
            are supported.

    Shape: (N, H, W, C) -> (N, height, width, C).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.Resizing(16, 24)(np.zeros((2, 32, 32, 3), np.float32)).shape
        (2, 16, 24, 3)
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0, antialias: bool = False,
                 data_format: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        who = f"Resizing '{self.name}'"
        _check_data_format(data_format, who)
        self.height = _check_size(height, "height", who)
        self.width = _check_size(width, "width", who)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"{who}: `interpolation` must be 'bilinear' or 'nearest' in "
                             f"minicnn. Received: interpolation={interpolation!r}")
        unsupported = {k: v for k, v, d in (("pad_to_aspect_ratio", pad_to_aspect_ratio, False),
                                            ("antialias", antialias, False),
                                            ("fill_mode", fill_mode, "constant")) if v != d}
        if unsupported:
            raise ValueError(f"{who}: minicnn does not support these arguments. "
                             f"Received: {unsupported}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.fill_value = fill_value

    def call(self, x, training=False):
        x_np = _check_images(x, "Resizing")
        if self.crop_to_aspect_ratio:
            top, left, ch, cw = _aspect_crop_box(x.shape[1], x.shape[2], self.height,
                                                 self.width)
            x_np = x_np[:, top:top + ch, left:left + cw]
        out = resize_images(x_np, self.height, self.width, self.interpolation)
        return Tensor(out.astype(x.dtype, copy=False))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, *input_shape[3:])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio}


class CenterCrop(Layer):
    """Crop the centre ``(height, width)`` of each image, always; an image smaller than that
    on either side is instead cropped to the target aspect ratio and resized (bilinear), as
    Keras's does.

    Shape: (N, H, W, C) -> (N, height, width, C).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
        >>> mc.layers.CenterCrop(2, 2)(x).numpy()[0, :, :, 0]
        array([[ 5.,  6.],
               [ 9., 10.]], dtype=float32)
    """

    def __init__(self, height: int, width: int, data_format: Any = None, **kwargs: Any):
        super().__init__(**kwargs)
        _check_data_format(data_format, f"CenterCrop '{self.name}'")
        self.height = _check_size(height, "height", f"CenterCrop '{self.name}'")
        self.width = _check_size(width, "width", f"CenterCrop '{self.name}'")

    def call(self, x, training=False):
        x_np = _check_images(x, "CenterCrop")
        h, w = x.shape[1:3]
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            out = x_np[:, top:top + self.height, left:left + self.width]
        else:
            out = _smart_resize(x_np, self.height, self.width)
        return Tensor(np.ascontiguousarray(out, dtype=x.dtype))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, *input_shape[3:])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomCrop(_RandomLayer):
    """In training, crop a random ``(height, width)`` window of each image (from an image not
    larger than that on both sides, Keras's window at its aspect-ratio box, resized); at
    inference the input passes unchanged, as Keras 3's layer does.

    Note: so the output shape differs between training and inference unless the input already
    has the target size (Keras 3 behaves the same way).

    Shape: training (N, H, W, C) -> (N, height, width, C); inference unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
        >>> crop = mc.layers.RandomCrop(2, 2, seed=0)
        >>> crop(x, training=True).shape, crop(x, training=False).shape
        ((1, 2, 2, 1), (1, 4, 4, 1))
    """

    def __init__(self, height: int, width: int, seed: int | None = None,
                 data_format: Any = None, **kwargs: Any):
        super().__init__(seed, data_format, **kwargs)
        self.height = _check_size(height, "height", f"RandomCrop '{self.name}'")
        self.width = _check_size(width, "width", f"RandomCrop '{self.name}'")

    def transform(self, x):
        n, h, w, _ = x.shape
        if not (h > self.height and w > self.width):
            # Keras: a (height, width) window from the aspect-ratio box's corner, cut by the
            # image's edges, then resized
            top, left, _, _ = _aspect_crop_box(h, w, self.height, self.width)
            window = x[:, top:top + self.height, left:left + self.width]
            return resize_images(window, self.height, self.width)
        # one window per image (Keras draws one per batch; per image is the usual intent)
        tops = self.rng.integers(0, h - self.height + 1, size=n)
        lefts = self.rng.integers(0, w - self.width + 1, size=n)
        return np.stack([x[i, t:t + self.height, s:s + self.width]
                         for i, (t, s) in enumerate(zip(tops, lefts))])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, *input_shape[3:])

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


__all__ = ["CenterCrop", "RandomBrightness", "RandomContrast", "RandomCrop", "RandomFlip",
           "RandomRotation", "RandomTranslation", "RandomZoom", "Resizing", "resize_images"]
