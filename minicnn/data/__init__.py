"""Image-folder datasets, a decode cache and batch augmentation for minicnn.

Example (the 300-image training folder bundled in ``examples/data/catdog_small``):
    >>> from pathlib import Path
    >>> import minicnn
    >>> from minicnn.data import image_dataset_from_directory, Augment
    >>> folder = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small/training_set"
    >>> train, val = image_dataset_from_directory(
    ...     folder, label_mode="binary", image_size=(32, 32), cache="memory",
    ...     validation_split=0.2, subset="both", seed=1337)
    Found 300 files belonging to 2 classes.
    Using 240 files for training.
    Using 60 files for validation.
    >>> aug = Augment(flip="horizontal", zoom=0.1, rotation=0.03, seed=0)
    >>> train = train.map(lambda x, y: (aug(x), y))
    >>> x, y = next(iter(train))
    >>> x.shape, y.shape, train.class_names
    ((32, 32, 32, 3), (32, 1), ['cats', 'dogs'])
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
