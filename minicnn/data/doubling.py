"""The original experiment's offline doubling, done on the fly and reproducibly.

The original doubled its 8000 training images to 16,000 by saving, next to each image, a
mirrored copy passed through a colour filter. ``image_dataset_from_directory(..., double=True)``
presents every training file twice: once as-is and once mirrored left-right with a fixed colour
filter (brightness, contrast and saturation change). The filter of a file depends only on
`seed` and the file's path relative to the image folder, so it is the same in every epoch, run
and split, like a file written once to disk; nothing is written.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from minicnn.data.augment import (
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    flip_horizontal,
)

DOUBLE_SEED = 1337
BRIGHTNESS = 0.1  # delta in +-0.1 * 255
CONTRAST = 0.2  # factor in [0.8, 1.2]
SATURATION = 0.3  # factor in [0.7, 1.3]


def double_params(rel_paths: Sequence[str], seed: int = DOUBLE_SEED) -> np.ndarray:
    """Fixed filter parameters ``(brightness delta, contrast, saturation)`` per file.

    Shape: ``(len(rel_paths),)`` -> ``(len(rel_paths), 3)`` float32.

    Example:
        >>> from minicnn.data.doubling import double_params
        >>> p = double_params(["cats/cat.1.jpg", "dogs/dog.1.jpg"])
        >>> p.shape, bool((p == double_params(["cats/cat.1.jpg", "dogs/dog.1.jpg"])).all())
        ((2, 3), True)
    """
    out = np.empty((len(rel_paths), 3), dtype=np.float32)
    for i, rel in enumerate(rel_paths):
        key = zlib.crc32(rel.replace("\\", "/").encode("utf-8"))
        r = np.random.default_rng((seed, key)).uniform(size=3)
        out[i] = (
            (2 * r[0] - 1) * BRIGHTNESS * 255,
            1 + (2 * r[1] - 1) * CONTRAST,
            1 + (2 * r[2] - 1) * SATURATION,
        )
    return out


def apply_double(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Mirror and colour-filter a float batch in 0..255.

    Shape: x ``(B, H, W, 3)``, params ``(B, 3)`` -> ``(B, H, W, 3)`` float32.

    Example:
        >>> import numpy as np
        >>> from minicnn.data.doubling import apply_double
        >>> x = np.zeros((1, 1, 2, 3), np.float32)
        >>> x[0, 0, 0] = 255.0                      # a white pixel on the left
        >>> y = apply_double(x, np.array([[0.0, 1.0, 1.0]], np.float32))   # filter off
        >>> y[0, 0, :, 0]                           # mirrored: now on the right
        array([  0., 255.], dtype=float32)
    """
    x = flip_horizontal(np.asarray(x, dtype=np.float32))
    adjust_brightness(x, params[:, 0])
    adjust_contrast(x, params[:, 1])
    adjust_saturation(x, params[:, 2])
    return x
