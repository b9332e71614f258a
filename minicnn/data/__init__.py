"""Image-folder datasets, a decode cache and batch augmentation for minicnn.

Example:
    >>> from minicnn.data import image_dataset_from_directory, Augment
    >>> train, val = image_dataset_from_directory(
    ...     "catdog/training_set", label_mode="binary", image_size=(128, 128),
    ...     validation_split=0.2, subset="both", seed=1337)          # doctest: +SKIP
    >>> aug = Augment(flip="horizontal", zoom=0.1, rotation=0.03, seed=0)
    >>> train = train.map(lambda x, y: (aug(x), y))                   # doctest: +SKIP
"""

from minicnn.data.augment import (
    Augment,
    RandomBrightness,
    RandomContrast,
    RandomFlip,
    RandomRotation,
    RandomSaturation,
    RandomTranslation,
    RandomZoom,
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    affine_matrices,
    affine_warp,
    augment,
    flip_horizontal,
    flip_vertical,
)
from minicnn.data.cache import DiskCache, default_cache_dir
from minicnn.data.dataset import ImageDataset
from minicnn.data.decode import load_image
from minicnn.data.folders import ALLOWLIST_FORMATS, data_root, index_directory
from minicnn.data.loader import SkippedImageWarning, image_dataset_from_directory

__all__ = [
    "ALLOWLIST_FORMATS",
    "Augment",
    "DiskCache",
    "ImageDataset",
    "RandomBrightness",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomSaturation",
    "RandomTranslation",
    "RandomZoom",
    "SkippedImageWarning",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_saturation",
    "affine_matrices",
    "affine_warp",
    "augment",
    "data_root",
    "default_cache_dir",
    "flip_horizontal",
    "flip_vertical",
    "image_dataset_from_directory",
    "index_directory",
    "load_image",
]
