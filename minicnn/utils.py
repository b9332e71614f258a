"""``keras.utils`` names a CNN script uses: the image-folder loader, seeding, single-image I/O and
one-hot labels, with Keras 3's arguments and defaults.

Example:
    >>> import numpy as np, minicnn as mc
    >>> mc.utils.to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    >>> img = mc.utils.array_to_img(np.zeros((4, 6, 3)), scale=False)
    >>> img.size, mc.utils.img_to_array(img).shape
    ((6, 4), (4, 6, 3))
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from minicnn.data.loader import image_dataset_from_directory as _from_directory
from minicnn.random import set_seed

__all__ = ["array_to_img", "image_dataset_from_directory", "img_to_array", "load_img",
           "set_random_seed", "to_categorical"]

_PIL_FILTERS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def image_dataset_from_directory(
    directory: str | os.PathLike[str],
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int | None = 32,
    image_size: tuple[int, int] = (256, 256),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    follow_links: bool = False,
    crop_to_aspect_ratio: bool = False,
    pad_to_aspect_ratio: bool = False,
    data_format: str | None = None,
    format: str = "tf",  # noqa: A002 (Keras's name)
    verbose: bool = True,
    **options: Any,
) -> Any:
    """``keras.utils.image_dataset_from_directory`` with Keras 3's defaults (256x256 images).

    Returns minicnn ``ImageDataset`` objects (iterables of NumPy ``(x, y)`` batches that
    ``fit`` takes), or a ``(train, validation)`` pair with ``subset="both"``. The file order,
    labels, shuffle and split are Keras's for the same seed; see
    ``minicnn.data.image_dataset_from_directory`` for the differences (Pillow resizing, a
    full reshuffle each epoch) and the extra keyword-only ``options`` (``cache``...).

    Keras arguments minicnn does not implement (``follow_links``, ``crop_to_aspect_ratio``,
    ``pad_to_aspect_ratio``, ``data_format="channels_first"``, ``format="grain"``,
    ``batch_size=None``, ``color_mode`` other than "rgb") raise a ValueError naming them.

    Example:
        >>> from pathlib import Path
        >>> import minicnn as mc
        >>> folder = Path(mc.__file__).parents[1] / "examples/data/catdog_small/test_set"
        >>> train, val = mc.utils.image_dataset_from_directory(
        ...     folder, validation_split=0.2, subset="both", seed=1, image_size=(32, 32),
        ...     batch_size=16, verbose=False)
        >>> train.num_samples, val.num_samples, train.class_names
        (80, 20, ['cats', 'dogs'])
    """
    unsupported = {k: v for k, v, default in (
        ("follow_links", follow_links, False),
        ("crop_to_aspect_ratio", crop_to_aspect_ratio, False),
        ("pad_to_aspect_ratio", pad_to_aspect_ratio, False),
        ("format", format, "tf"),
    ) if v != default}
    if batch_size is None:  # Keras: unbatched samples
        unsupported["batch_size"] = None
    if data_format not in (None, "channels_last"):
        unsupported["data_format"] = data_format
    if unsupported:
        raise ValueError("image_dataset_from_directory: minicnn does not support these "
                         f"arguments. Received: {unsupported}")
    return _from_directory(directory, labels=labels, label_mode=label_mode,
                           class_names=class_names, color_mode=color_mode,
                           batch_size=batch_size, image_size=image_size, shuffle=shuffle,
                           seed=seed, validation_split=validation_split, subset=subset,
                           interpolation=interpolation, verbose=verbose, **options)


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and minicnn's generator, as
    ``keras.utils.set_random_seed`` seeds Python, NumPy and the backend.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.utils.set_random_seed(7); a = mc.layers.Dense(2)(np.ones((1, 3))).numpy()
        >>> mc.utils.set_random_seed(7); b = mc.layers.Dense(2)(np.ones((1, 3))).numpy()
        >>> bool((a == b).all())
        True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    set_seed(int(seed))


def load_img(path: str | os.PathLike[str], color_mode: str = "rgb",
             target_size: tuple[int, int] | None = None, interpolation: str = "nearest",
             keep_aspect_ratio: bool = False) -> Any:
    """Load one image as a PIL image, as ``keras.utils.load_img``.

    Args:
        path: the image file.
        color_mode: "rgb", "rgba" or "grayscale".
        target_size: ``(height, width)`` to resize to, or None to keep the size.
        interpolation: PIL filter: "nearest" (Keras's default), "bilinear", "bicubic",
            "hamming", "box" or "lanczos".
        keep_aspect_ratio: crop the centre to the target aspect ratio before resizing.

    Example:
        >>> from pathlib import Path
        >>> import minicnn as mc
        >>> cats = Path(mc.__file__).parents[1] / "examples/data/catdog_small/test_set/cats"
        >>> img = mc.utils.load_img(cats / "cat.4001.jpg", target_size=(64, 48))
        >>> img.size, img.mode
        ((48, 64), 'RGB')
    """
    from PIL import Image

    modes = {"grayscale": ("L", ("L", "I;16", "I")), "rgba": ("RGBA", ("RGBA",)),
             "rgb": ("RGB", ("RGB",))}
    if color_mode not in modes:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba". '
                         f"Received: color_mode={color_mode!r}")
    if isinstance(path, (bytes, bytearray)):
        raise TypeError("load_img: `path` must be a file path. Received: bytes")
    with open(os.fspath(path), "rb") as f:
        img = Image.open(f)
        img.load()  # read now: the file closes here
    target_mode, keep_modes = modes[color_mode]
    if img.mode not in keep_modes:
        img = img.convert(target_mode)
    if target_size is None:
        return img
    width, height = int(target_size[1]), int(target_size[0])
    if img.size == (width, height):
        return img
    if interpolation not in _PIL_FILTERS:
        raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported "
                         f"methods are {', '.join(_PIL_FILTERS)}")
    resample = getattr(Image.Resampling, interpolation.upper())
    box = None
    if keep_aspect_ratio:  # the largest centred box of the target's aspect ratio
        w, h = img.size
        crop_h = min(h, (w * height) // width)
        crop_w = min(w, (h * width) // height)
        top, left = (h - crop_h) // 2, (w - crop_w) // 2
        box = (left, top, left + crop_w, top + crop_h)
    return img.resize((width, height), resample, box=box)


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """A PIL image as a float32 ``(height, width, channels)`` array (grayscale gets one
    channel), as ``keras.utils.img_to_array``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> img = mc.utils.array_to_img(np.zeros((2, 3, 1)), scale=False)
        >>> mc.utils.img_to_array(img).shape
        (2, 3, 1)
    """
    x = np.asarray(img, dtype=dtype or np.float32)
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    elif data_format not in (None, "channels_last"):
        raise ValueError(f"Unknown data_format: {data_format!r}")
    return x


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: Any = None) -> Any:
    """A ``(height, width, channels)`` array as a PIL image (1: "L", 3: "RGB", 4: "RGBA"), as
    ``keras.utils.array_to_img``; ``scale=True`` maps the array's min..max to 0..255.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.utils.array_to_img(np.array([[[0.0], [1.0]]])).getpixel((1, 0))
        255
    """
    from PIL import Image

    x = np.asarray(x, dtype=dtype or np.float32)
    if x.ndim != 3:
        raise ValueError("Expected image array to have rank 3 (single image). "
                         f"Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - x.min()
        top = x.max()
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype(np.uint8), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype(np.uint8), "RGB")
    if channels == 1:
        if x.max() > 255:  # a 32-bit grayscale image, as Keras
            return Image.fromarray(x[:, :, 0].astype(np.int32), "I")
        return Image.fromarray(x[:, :, 0].astype(np.uint8), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot rows for integer class labels, as ``keras.utils.to_categorical`` (a trailing
    axis of 1 is dropped first; ``num_classes`` defaults to ``max(x) + 1``).

    Example:
        >>> import minicnn as mc
        >>> mc.utils.to_categorical([[1], [0]], num_classes=3).tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    x = np.asarray(x)
    if x.size and not np.all(np.asarray(x) == np.round(x)):
        raise ValueError("to_categorical: `x` must hold integer class labels.")
    x = x.astype(np.int64)
    shape = x.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    flat = x.reshape(-1)
    if not num_classes:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    if flat.size and (flat.min() < 0 or flat.max() >= num_classes):
        raise ValueError(f"to_categorical: labels must be in [0, {num_classes - 1}]. "
                         f"Received: labels in [{flat.min()}, {flat.max()}]")
    out = np.zeros((flat.size, num_classes))
    out[np.arange(flat.size), flat] = 1
    return out.reshape(shape + (num_classes,))
