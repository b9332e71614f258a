"""The bundled catdog_small subset loads like the shared data: real JPEGs, Keras labels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from minicnn.data import Augment, data_root, image_dataset_from_directory, index_directory

SMALL = Path(__file__).resolve().parents[2] / "examples" / "data" / "catdog_small"


def test_bundled_subset_layout_and_labels(tmp_path):
    counts = {
        (split, c): len(list((SMALL / split / c).glob("*.jpg")))
        for split in ("training_set", "test_set")
        for c in ("cats", "dogs")
    }
    assert counts == {
        ("training_set", "cats"): 150,
        ("training_set", "dogs"): 150,
        ("test_set", "cats"): 50,
        ("test_set", "dogs"): 50,
    }
    ds = image_dataset_from_directory(
        SMALL / "test_set",
        label_mode="binary",
        image_size=(64, 64),
        batch_size=25,
        shuffle=False,
        verbose=False,
        cache_dir=tmp_path,
    )
    assert ds.class_names == ["cats", "dogs"] and len(ds) == 4
    xs, ys = zip(*ds, strict=True)
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (100, 64, 64, 3) and y.shape == (100, 1)
    np.testing.assert_array_equal(y[:, 0], [0] * 50 + [1] * 50)
    assert all(("cats" in p) == (v == 0) for p, v in zip(ds.file_paths, y[:, 0], strict=True))
    assert 40 < x.mean() < 200 and x.std() > 20  # real photographs, not blank arrays
    aug = Augment(flip="horizontal", brightness=0.1, zoom=0.1, rotation=0.02, seed=0)
    (xa, ya), *_ = list(ds.map(lambda x, y: (aug(x), y)))
    assert xa.shape == (25, 64, 64, 3) and 0 <= xa.min() and xa.max() <= 255


@pytest.mark.skipif(not (data_root() / "catdog").is_dir()
                    and os.environ.get("CI", "").lower() != "true",  # in CI the data must be there
                    reason="shared data not available")
def test_shared_folder_is_indexed_without_decoding():
    paths, labels, names = index_directory(data_root() / "catdog" / "test_set", shuffle=False)
    assert names == ["cats", "dogs"] and len(paths) == 2000
    np.testing.assert_array_equal(np.bincount(labels), [1000, 1000])
