"""Find image files in a Keras-layout folder, label them and split them, as Keras does.

The order is Keras's (``keras.utils.image_dataset_from_directory``): class sub-folders sorted by
name, each walked recursively with sub-folders and file names sorted; then, with
``shuffle=True``, the whole list is shuffled once by ``np.random.RandomState(seed).shuffle``; then
``validation_split`` takes the *last* ``int(validation_split * n)`` files for validation and the
rest for training. So for the same folder and seed ``file_paths`` equals Keras's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def data_root() -> Path:
    """The shared data folder: ``$MINICNN_DATA``, else ``<repository>/../shared/data``.

    Resolved from this file's location, not the working directory.

    Example:
        >>> import os
        >>> from minicnn.data import data_root
        >>> str(data_root()) == os.environ.get("MINICNN_DATA", str(data_root()))
        True
    """
    env = os.environ.get("MINICNN_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data"


def _walk_sorted(directory: str) -> list[str]:
    """Files under `directory` with an allowed extension, as paths relative to it, Keras order."""
    found = []
    for root, _, files in sorted(os.walk(directory), key=lambda t: t[0]):
        for fname in sorted(files):
            if fname.lower().endswith(ALLOWLIST_FORMATS):
                found.append(os.path.relpath(os.path.join(root, fname), directory))
    return found


def index_directory(
    directory: str,
    labels: str | Sequence[int] | None = "inferred",
    shuffle: bool = True,
    seed: int | None = None,
    class_names: Sequence[str] | None = None,
) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """List the image files of `directory` with their integer labels, in Keras's order.

    Args:
        directory: folder with one sub-folder per class (``labels="inferred"``), or any tree of
            images (explicit labels or ``labels=None``).
        labels: ``"inferred"``, ``None``, or one integer label per file in the alphanumeric
            order of the file paths.
        shuffle: shuffle the list once with `seed`, as Keras does before splitting.
        seed: seed for that shuffle (``np.random.RandomState``).
        class_names: with ``labels="inferred"``, the class sub-folders to use, in label order
            (default: all of them, sorted by name).

    Returns:
        ``(file_paths, labels, class_names)``; labels is int32 of shape ``(N,)`` or None;
        class_names is None when labels is None.

    Raises:
        FileNotFoundError: `directory` does not exist.
        ValueError: no class sub-folders, an empty class folder, no images, or the number of
            explicit labels differs from the number of files.

    Example:
        >>> from pathlib import Path
        >>> import minicnn
        >>> from minicnn.data import index_directory
        >>> folder = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small/test_set"
        >>> paths, labels, names = index_directory(str(folder), shuffle=False)
        >>> len(paths), names, labels[:2].tolist(), labels[-2:].tolist()
        (100, ['cats', 'dogs'], [0, 0], [1, 1])
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Image directory not found: {directory!r}")
    if labels == "inferred":
        subdirs = [
            d
            for d in sorted(os.listdir(directory))
            if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")
        ]
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError(
                    "The `class_names` passed did not match the names of the subdirectories "
                    f"of the target directory. Expected: {subdirs} (or a subset of it), "
                    f"but received: class_names={list(class_names)}"
                )
            subdirs = list(class_names)
        class_names = subdirs
        if not class_names:
            raise ValueError(
                f"No class sub-folders found in directory {directory!r}: with "
                '`labels="inferred"` it must hold one sub-folder of images per class.'
            )
        rel_paths: list[str] = []
        label_list: list[int] = []
        for index, name in enumerate(class_names):
            files = _walk_sorted(os.path.join(directory, name))
            if not files:
                raise ValueError(
                    f"Class folder {os.path.join(directory, name)!r} contains no images "
                    f"(allowed formats: {ALLOWLIST_FORMATS})."
                )
            rel_paths += [os.path.join(name, f) for f in files]
            label_list += [index] * len(files)
        label_array: np.ndarray | None = np.asarray(label_list, dtype=np.int32)
    else:
        if class_names is not None:
            raise ValueError(
                '`class_names` can only be passed with labels="inferred". '
                f"Received: class_names={list(class_names)}"
            )
        rel_paths = _walk_sorted(directory)
        label_array = None
        if labels is not None:
            if len(labels) != len(rel_paths):
                raise ValueError(
                    "Expected the lengths of `labels` to match the number of files in the "
                    f"target directory. len(labels) is {len(labels)} while we found "
                    f"{len(rel_paths)} files in directory {directory!r}."
                )
            if not all(isinstance(v, (int, np.integer)) for v in labels):
                raise ValueError(
                    "`labels` must be integers, one per file. "
                    f"Received: labels={list(labels)[:10]}..."
                )
            label_array = np.asarray(labels, dtype=np.int32)
            class_names = [str(v) for v in sorted(set(label_array.tolist()))]
    if not rel_paths:
        raise ValueError(
            f"No images found in directory {directory!r}. Allowed formats: {ALLOWLIST_FORMATS}"
        )

    file_paths = [os.path.join(directory, p) for p in rel_paths]
    if shuffle:
        # Keras shuffles the Python list and the labels with two RandomStates of the same seed.
        np.random.RandomState(seed).shuffle(file_paths)
        if label_array is not None:
            np.random.RandomState(seed).shuffle(label_array)
    return file_paths, label_array, class_names


def check_split_args(
    validation_split: float | None, subset: str | None, shuffle: bool, seed: int | None
) -> None:
    """Raise ValueError for inconsistent `validation_split` / `subset` / `seed` (Keras rules).

    Example:
        >>> from minicnn.data.folders import check_split_args
        >>> check_split_args(0.2, "both", shuffle=True, seed=1)   # consistent: returns None
        >>> check_split_args(0.2, None, shuffle=True, seed=1)
        Traceback (most recent call last):
          ...
        ValueError: If `subset` is set, `validation_split` must be set, and inversely. ...
    """
    if validation_split is not None and not (
        isinstance(validation_split, (int, float)) and 0 < validation_split < 1
    ):
        raise ValueError(
            "`validation_split` must be between 0 and 1. "
            f"Received: validation_split={validation_split!r}"
        )
    if subset not in ("training", "validation", "both", None):
        raise ValueError(
            '`subset` must be either "training", "validation" or "both". '
            f"Received: subset={subset!r}"
        )
    if bool(validation_split) != bool(subset):
        raise ValueError(
            "If `subset` is set, `validation_split` must be set, and inversely. "
            f"Received: validation_split={validation_split!r}, subset={subset!r}"
        )
    if validation_split and shuffle and seed is None:
        raise ValueError(
            "If using `validation_split` and shuffling the data, you must provide a `seed` "
            "argument, to make sure that there is no overlap between the training and "
            "validation subset. Received: seed=None"
        )


def split_counts(n: int, validation_split: float) -> tuple[int, int]:
    """``(num_training, num_validation)`` for `n` files: validation is ``int(split * n)``.

    Raises:
        ValueError: either part would be empty (Keras would silently return all files).

    Example:
        >>> from minicnn.data.folders import split_counts
        >>> split_counts(300, 0.2)
        (240, 60)
    """
    num_val = int(validation_split * n)
    if num_val == 0 or num_val == n:
        raise ValueError(
            f"validation_split={validation_split} of {n} files leaves an empty "
            f"{'validation' if num_val == 0 else 'training'} subset."
        )
    return n - num_val, num_val
