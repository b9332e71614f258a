"""File order, labels and splits equal keras.utils.image_dataset_from_directory's.

Needs TensorFlow; skipped without it, except when CI=true, where a missing TF is a failure.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from minicnn.data import image_dataset_from_directory


def _keras():
    try:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras
        import tensorflow  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the environment
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"TensorFlow is required in CI for the Keras parity test: {exc}")
        pytest.skip(f"TensorFlow not available: {exc}")
    return keras


def _keras_labels(ds) -> np.ndarray:
    return np.concatenate([y.numpy() for _, y in ds])


@pytest.mark.parametrize("label_mode", ["int", "categorical"])
def test_unshuffled_order_and_labels_equal_keras(folder, cache_dir, label_mode):
    keras = _keras()
    ref = keras.utils.image_dataset_from_directory(
        str(folder),
        label_mode=label_mode,
        image_size=(8, 8),
        batch_size=4,
        shuffle=False,
        verbose=False,
    )
    ours = image_dataset_from_directory(
        str(folder),
        label_mode=label_mode,
        image_size=(8, 8),
        batch_size=4,
        shuffle=False,
        verbose=False,
        cache_dir=cache_dir,
    )
    assert ours.class_names == ref.class_names == ["a_cats", "b_dogs", "c_birds"]
    assert ours.file_paths == ref.file_paths
    y_ref = _keras_labels(ref)
    y_ours = np.concatenate([y for _, y in ours])
    assert y_ours.dtype == y_ref.dtype
    np.testing.assert_array_equal(y_ours, y_ref)


def test_seeded_shuffle_and_split_equal_keras(folder, cache_dir):
    keras = _keras()
    kw = dict(image_size=(8, 8), batch_size=4, seed=123, validation_split=0.25, subset="both")
    ref_train, ref_val = keras.utils.image_dataset_from_directory(str(folder), verbose=False, **kw)
    train, val = image_dataset_from_directory(str(folder), verbose=False, cache_dir=cache_dir, **kw)
    assert train.file_paths == ref_train.file_paths
    assert val.file_paths == ref_val.file_paths
    # Keras reshuffles batches through a buffer, so compare label *assignment* per file.
    for ds in (train, val):
        expected = [
            ds.class_names.index(os.path.relpath(p, folder).split(os.sep)[0]) for p in ds.file_paths
        ]
        np.testing.assert_array_equal(ds.labels, expected)
    ref_counts = np.bincount(_keras_labels(ref_val), minlength=3)
    np.testing.assert_array_equal(np.bincount(val.labels, minlength=3), ref_counts)
    # Unshuffled validation batches come in file order in both.
    np.testing.assert_array_equal(np.concatenate([y for _, y in val]), _keras_labels(ref_val))
