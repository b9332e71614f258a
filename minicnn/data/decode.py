"""Decode one image file with Pillow into a uint8 RGB array of a fixed size.

Pillow does the work (decode and resize release the GIL), so several files decode in parallel
on a small thread pool. Every mode Pillow can open ends up as 3-channel RGB:

- ``L``/``1``/``LA``/``P``/``PA``/``CMYK``/``YCbCr``/``RGBA``: ``Image.convert("RGB")``; alpha is
  dropped (not composited), as TensorFlow's ``decode_image(channels=3)`` does. Palette images
  with transparency go through RGBA first so Pillow does not warn.
- 16-bit grayscale (``I;16*``) and 32-bit integer (``I``) images are scaled from 0..65535 to
  0..255 (``>> 8``); ``F`` images are clipped to 0..255. (Pillow's own ``convert`` would clip
  16-bit values at 255, turning most pictures white.) 16-bit RGB PNGs are already reduced to
  8 bits by Pillow when opened.

EXIF orientation is *not* applied, matching Keras/TensorFlow.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

# Keras's interpolation names -> Pillow resampling filters. Keras's "lanczos5", "gaussian" and
# "mitchellcubic" have no Pillow equivalent and are rejected by `resampling_filter`.
INTERPOLATIONS: dict[str, Image.Resampling] = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "area": Image.Resampling.BOX,
    "box": Image.Resampling.BOX,
    "hamming": Image.Resampling.HAMMING,
    "lanczos": Image.Resampling.LANCZOS,
    "lanczos3": Image.Resampling.LANCZOS,
}

# What a broken or non-image file makes Pillow raise: UnidentifiedImageError (an OSError) for
# zero-byte and non-image files, OSError for truncated data, SyntaxError/ValueError/EOFError
# from some format plugins, DecompressionBombError for absurd sizes.
DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    Image.DecompressionBombError,
)


def resampling_filter(interpolation: str) -> Image.Resampling:
    """Return the Pillow filter for a Keras-style interpolation name (case-insensitive).

    Raises:
        ValueError: the name is unknown, naming the argument and what was received.

    Example:
        >>> from minicnn.data.decode import resampling_filter
        >>> resampling_filter("Area").name        # Keras's "area" is Pillow's box filter
        'BOX'
    """
    name = interpolation.lower() if isinstance(interpolation, str) else interpolation
    if name not in INTERPOLATIONS:
        raise ValueError(
            f"Argument `interpolation` should be one of {tuple(INTERPOLATIONS)}. "
            f"Received: interpolation={interpolation!r}"
        )
    return INTERPOLATIONS[name]


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert an opened Pillow image of any mode to mode ``RGB`` (see module docstring).

    Example:
        >>> from PIL import Image
        >>> from minicnn.data.decode import to_rgb
        >>> to_rgb(Image.new("L", (2, 2), 128)).getpixel((0, 0))
        (128, 128, 128)
    """
    mode = img.mode
    if mode == "RGB":
        return img
    if mode.startswith("I;16") or mode == "I":
        # (H, W) uint16/int32 in 0..65535 -> uint8 in 0..255
        a = np.asarray(img).astype(np.int64)
        a = (np.clip(a, 0, 65535) >> 8).astype(np.uint8)
        return Image.fromarray(a).convert("RGB")
    if mode == "F":
        a = np.clip(np.asarray(img), 0, 255).astype(np.uint8)
        return Image.fromarray(a).convert("RGB")
    if mode in ("P", "PA") and "transparency" in img.info:
        img = img.convert("RGBA")
    return img.convert("RGB")


def load_image(
    path: str | os.PathLike[str],
    image_size: tuple[int, int],
    interpolation: str = "bilinear",
) -> np.ndarray:
    """Decode `path`, convert it to RGB and resize it with Pillow.

    Args:
        path: an image file Pillow can read (JPEG, PNG, BMP, GIF: first frame, ...).
        image_size: ``(height, width)`` of the result.
        interpolation: Keras-style name, see `INTERPOLATIONS`. Pillow's filters differ
            numerically from TensorFlow's ``resize(antialias=False)``; values are not
            pixel-for-pixel equal to Keras's loader.

    Returns:
        uint8 array. Shape: ``(height, width, 3)``.

    Raises:
        One of `DECODE_ERRORS` when the file is empty, truncated or not an image.

    Example:
        >>> from pathlib import Path
        >>> import minicnn
        >>> cats = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small/test_set/cats"
        >>> x = load_image(cats / "cat.4001.jpg", (128, 128))
        >>> x.shape, x.dtype
        ((128, 128, 3), dtype('uint8'))
    """
    resample = resampling_filter(interpolation)
    height, width = image_size
    # No warnings.catch_warnings() here: it is not thread-safe and this runs on a pool.
    with Image.open(path) as img:
        img.load()  # decode now so a truncated file raises here, inside the `with`
        rgb = to_rgb(img)
        if rgb.size != (width, height):
            rgb = rgb.resize((width, height), resample=resample)  # Pillow takes (W, H)
        x = np.asarray(rgb, dtype=np.uint8)
    if x.shape != (height, width, 3):  # pragma: no cover - Pillow guarantees this
        raise OSError(f"decoded {path} to shape {x.shape}, expected {(height, width, 3)}")
    return x


def probe_image(path: str | os.PathLike[str]) -> None:
    """Check that `path` decodes, cheaply (JPEGs decode at 1/8 scale via ``draft``).

    Raises:
        One of `DECODE_ERRORS` when the file is empty, truncated or not an image.

    Example:
        >>> from pathlib import Path
        >>> import minicnn
        >>> cats = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small/test_set/cats"
        >>> from minicnn.data.decode import probe_image
        >>> probe_image(cats / "cat.4001.jpg")     # returns None: the file decodes
    """
    with Image.open(path) as img:
        if img.format == "JPEG":
            img.draft("RGB", (1, 1))
        img.load()
