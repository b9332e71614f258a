"""Tiny generated image folders for the data tests (nothing is written outside tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def write_image(path: Path, rng: np.random.Generator, size=(12, 16), fmt=None) -> np.ndarray:
    """Write a random RGB image (H, W) = size; return its uint8 pixels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    x = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
    Image.fromarray(x).save(path, format=fmt)
    return x


def make_folder(root: Path, counts: dict[str, int], seed: int = 0, ext: str = ".png") -> Path:
    """root/<class>/<class>.<i><ext> with counts[class] random images each."""
    rng = np.random.default_rng(seed)
    for name, n in counts.items():
        for i in range(n):
            write_image(root / name / f"{name}.{i}{ext}", rng)
    return root


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """3 classes of PNGs (7, 5, 6 images), with a nested folder and an upper-case extension."""
    root = make_folder(tmp_path / "imgs", {"b_dogs": 7, "a_cats": 5, "c_birds": 6})
    rng = np.random.default_rng(1)
    write_image(root / "a_cats" / "nested" / "deep.0.png", rng)
    write_image(root / "c_birds" / "UPPER.JPG", rng, fmt="JPEG")
    (root / "b_dogs" / "notes.txt").write_text("not an image, wrong extension: ignored")
    return root


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture(name="make_folder")
def make_folder_fixture():
    """The `make_folder` helper (fixtures avoid importing conftest as a module)."""
    return make_folder


@pytest.fixture(name="write_image")
def write_image_fixture():
    """The `write_image` helper."""
    return write_image
