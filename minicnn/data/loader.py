"""`image_dataset_from_directory`: Keras's folder loader, on Pillow, threads and a disk cache."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from minicnn.data import decode
from minicnn.data.cache import DiskCache, decode_into
from minicnn.data.dataset import ArraySource, FileSource, ImageDataset
from minicnn.data.doubling import double_params
from minicnn.data.folders import (
    ALLOWLIST_FORMATS,
    check_split_args,
    index_directory,
    split_counts,
)
from minicnn.progbar import Progress

LABEL_MODES = ("int", "categorical", "binary", None)
CACHE_MODES = (True, False, "disk", "memory")
SHOWN_BAD_FILES = 5


class SkippedImageWarning(UserWarning):
    """Issued once per loader call when unreadable image files were left out.

    Silence it with ``warnings.simplefilter("ignore", SkippedImageWarning)``.

    Example:
        >>> import warnings
        >>> from minicnn.data import SkippedImageWarning
        >>> issubclass(SkippedImageWarning, UserWarning)
        True
        >>> warnings.simplefilter("ignore", SkippedImageWarning)
    """


def _probe_many(paths: Sequence[str], num_threads: int) -> dict[int, str]:
    def probe(i: int) -> str | None:
        try:
            decode.probe_image(paths[i])
        except decode.DECODE_ERRORS as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    with ThreadPoolExecutor(max_workers=max(1, num_threads)) as pool:
        results = list(pool.map(probe, range(len(paths))))
    return {i: r for i, r in enumerate(results) if r is not None}


def _check_args(
    labels, label_mode, color_mode, image_size, batch_size, cache, num_threads
) -> tuple[int, int]:
    if not (labels is None or isinstance(labels, (str, list, tuple))) or (
        isinstance(labels, str) and labels != "inferred"
    ):
        raise ValueError(
            "`labels` argument should be a list/tuple of integer labels, of the same size as "
            'the number of image files in the target directory, "inferred", or None. '
            f"Received: labels={labels!r}"
        )
    if label_mode not in LABEL_MODES:
        raise ValueError(
            '`label_mode` argument must be one of "int", "categorical", "binary", or None. '
            f"Received: label_mode={label_mode!r}"
        )
    if color_mode != "rgb":
        raise ValueError(
            f'`color_mode` must be "rgb" (the only mode minicnn loads). '
            f"Received: color_mode={color_mode!r}"
        )
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if (
        not isinstance(image_size, (list, tuple))
        or len(image_size) != 2
        or not all(isinstance(v, (int, np.integer)) and v > 0 for v in image_size)
    ):
        raise ValueError(
            "Invalid `image_size` value. Expected a tuple of 2 positive integers. "
            f"Received: image_size={image_size!r}"
        )
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(
            f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}"
        )
    if cache not in CACHE_MODES or isinstance(cache, (int, float)) and not isinstance(cache, bool):
        raise ValueError(
            f'`cache` must be True/"disk", "memory" or False. Received: cache={cache!r}'
        )
    if not isinstance(num_threads, int) or num_threads < 1:
        raise ValueError(
            f"`num_threads` must be a positive integer. Received: num_threads={num_threads!r}"
        )
    return int(image_size[0]), int(image_size[1])


def image_dataset_from_directory(
    directory: str | os.PathLike[str],
    labels: str | Sequence[int] | None = "inferred",
    label_mode: str | None = "int",
    class_names: Sequence[str] | None = None,
    color_mode: str = "rgb",
    batch_size: int = 32,
    image_size: tuple[int, int] | int = (128, 128),
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    interpolation: str = "bilinear",
    verbose: bool = True,
    *,
    cache: bool | str = True,
    cache_dir: str | os.PathLike[str] | None = None,
    double: bool = False,
    num_threads: int = 2,
    prefetch: int = 2,
) -> ImageDataset | tuple[ImageDataset, ImageDataset]:
    """Batches of images (and labels) from a folder of class sub-folders, as Keras loads them.

    File order, labels, shuffling before the split and the split itself are Keras's, so
    ``file_paths`` and labels equal ``keras.utils.image_dataset_from_directory``'s for the same
    folder and seed. Differences: pixels come from Pillow (not TensorFlow's resize); each epoch
    is a full reshuffle (Keras uses a buffer of ``8 * batch_size``); unreadable files are left
    out with one `SkippedImageWarning`; an empty class folder is an error.

    Args:
        directory: folder with one sub-folder of images per class (``.jpg .jpeg .png .bmp
            .gif``); never written to.
        labels: ``"inferred"`` (from the sub-folders), None (images only), or a list of
            integer labels, one per file in sorted path order.
        label_mode: ``"int"`` (int32 ``(B,)``), ``"binary"`` (float32 ``(B, 1)``, 2 classes),
            ``"categorical"`` (float32 one-hot ``(B, C)``) or None (images only).
        class_names: with inferred labels, the sub-folders to use and their order.
        color_mode: only ``"rgb"``; every image is converted to 3 channels.
        batch_size: images per batch.
        image_size: ``(height, width)`` every image is resized to.
        shuffle: shuffle the files once (Keras's order) and then each epoch.
        seed: seed for both shuffles; required with `validation_split` and `shuffle`.
        validation_split: fraction of files (the last ones) kept for validation.
        subset: ``"training"``, ``"validation"`` or ``"both"`` (returns a tuple).
        interpolation: Pillow resize filter: ``"bilinear"``, ``"nearest"``, ``"bicubic"``,
            ``"area"`` (box), ``"lanczos3"``/``"lanczos"``, ``"hamming"``.
        verbose: print Keras's "Found N files ..." lines and the cache progress bar.
        cache: True/``"disk"``: decoded arrays cached on disk and memmapped (later epochs and
            runs do not decode); ``"memory"``: decoded once into RAM; False: decode every epoch
            in background threads.
        cache_dir: where disk caches live; default ``$MINICNN_CACHE`` or ``~/.cache/minicnn``.
        double: present each training file twice, as-is and mirrored with a fixed colour filter
            (the original's 8000 -> 16,000 doubling); never applied to a validation subset.
        num_threads: decode threads.
        prefetch: batches prepared ahead by the background thread.

    Returns:
        An `ImageDataset` yielding ``(x, y)`` (or ``x`` without labels), with ``class_names``
        and ``file_paths``; a tuple ``(training, validation)`` for ``subset="both"``.

    Shape:
        x: ``(B, image_size[0], image_size[1], 3)`` float32 in 0..255.

    Example (the bundled ``examples/data/catdog_small``; ``cache="memory"`` writes nothing):
        >>> from pathlib import Path
        >>> import minicnn
        >>> folder = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small"
        >>> train, val = image_dataset_from_directory(
        ...     folder / "training_set", label_mode="binary", image_size=(32, 32),
        ...     validation_split=0.2, subset="both", seed=1337, cache="memory")
        Found 300 files belonging to 2 classes.
        Using 240 files for training.
        Using 60 files for validation.
        >>> len(train), len(val), train.class_names
        (8, 2, ['cats', 'dogs'])
        >>> x, y = next(iter(val))
        >>> x.shape, y.shape
        ((32, 32, 32, 3), (32, 1))
    """
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    image_size = _check_args(
        labels, label_mode, color_mode, image_size, batch_size, cache, num_threads
    )
    decode.resampling_filter(interpolation)  # validates the name
    interpolation = interpolation.lower()
    check_split_args(validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = int(np.random.randint(1_000_000))

    directory = os.fspath(directory)
    paths, label_array, names = index_directory(
        directory,
        labels,
        shuffle=shuffle,
        seed=seed,
        class_names=class_names,
    )
    if label_mode == "binary" and len(names or ()) != 2:
        raise ValueError(
            'When passing `label_mode="binary"`, there must be exactly 2 class_names. '
            f"Received: class_names={names}"
        )
    if label_mode in ("binary", "categorical") and label_array is not None:
        if label_array.min() < 0 or label_array.max() >= len(names or ()):
            raise ValueError(
                f"With label_mode={label_mode!r}, labels must lie in 0..{len(names or ()) - 1}. "
                f"Received labels from {label_array.min()} to {label_array.max()}"
            )

    # Keras: the last int(validation_split * n) files validate, the others train.
    parts: list[tuple[str, slice]] = [("all", slice(None))]
    if validation_split:
        num_train, _ = split_counts(len(paths), validation_split)
        train_part, val_part = (
            ("training", slice(0, num_train)),
            ("validation", slice(num_train, None)),
        )
        parts = {"training": [train_part], "validation": [val_part]}.get(
            subset, [train_part, val_part]
        )

    used = sorted({i for _, part in parts for i in range(len(paths))[part]})
    used_paths = [paths[i] for i in used]
    # Decode (or probe) every used file now, so unreadable ones are known before training:
    # batch sizes and len() then never change mid-epoch.
    if cache is False:
        bad_rows = _probe_many(used_paths, num_threads)
        source: ArraySource | FileSource = FileSource(
            used_paths, image_size, interpolation, num_threads
        )
    elif cache == "memory":
        arr = np.empty((len(used_paths), *image_size, 3), dtype=np.uint8)
        bar = Progress(len(used_paths), label=f"Decoding {len(used_paths)} images",
                       enabled=verbose, unit="img")
        bad_rows = decode_into(used_paths, arr, image_size, interpolation, num_threads, bar)
        locs = np.stack([np.zeros(len(used_paths), np.int64), np.arange(len(used_paths))], 1)
        source = ArraySource([arr], locs)
    else:
        disk = DiskCache(directory, image_size, interpolation, cache_dir)
        shards, locs, bad_by_path = disk.ensure(used_paths, num_threads, verbose)
        bad_rows = {i: bad_by_path[p] for i, p in enumerate(used_paths) if p in bad_by_path}
        source = ArraySource(shards, locs)
    row_of = {i: r for r, i in enumerate(used)}
    if verbose:
        # printed once the unreadable files are known, so that the count says how many of
        # the files found are used (Keras prints it before reading any)
        found = f"Found {len(paths)} files"
        found += f" belonging to {len(names)} classes" if names is not None else ""
        skipped = f"; skipped {len(bad_rows)} unreadable" if bad_rows else ""
        print(f"{found}{skipped}.")
        if validation_split:
            for name, part in parts:
                readable = sum(row_of[i] not in bad_rows for i in range(len(paths))[part])
                print(f"Using {readable} files for {name}.")

    if bad_rows:
        shown = "; ".join(
            f"{used_paths[r]} ({bad_rows[r]})" for r in sorted(bad_rows)[:SHOWN_BAD_FILES]
        )
        more = ", ..." if len(bad_rows) > SHOWN_BAD_FILES else ""
        warnings.warn(
            f"Skipped {len(bad_rows)} unreadable image file(s) in {directory!r}: {shown}{more}",
            SkippedImageWarning,
            stacklevel=2,
        )

    datasets = []
    for name, part in parts:
        idx = [i for i in range(len(paths))[part] if row_of[i] not in bad_rows]
        part_labels = None if label_array is None else label_array[idx]
        if part_labels is not None and labels == "inferred":
            counts = np.bincount(part_labels, minlength=len(names))
            if name == "all" and (counts == 0).any():
                empty = [names[c] for c in np.flatnonzero(counts == 0)]
                raise ValueError(
                    f"Class folder(s) {empty} in {directory!r} contain no readable images."
                )
        if not idx:
            raise ValueError(
                f"No readable {'' if name == 'all' else name + ' '}images found in directory "
                f"{directory!r}. Allowed formats: {ALLOWLIST_FORMATS}"
            )
        rows = np.array([row_of[i] for i in idx], dtype=np.int64)
        file_paths = [paths[i] for i in idx]
        dparams = None
        if double and name != "validation":
            rel = [os.path.relpath(p, directory) for p in file_paths]
            nan = np.full((len(idx), 3), np.nan, dtype=np.float32)
            dparams = np.concatenate([nan, double_params(rel)])
            rows = np.concatenate([rows, rows])
            file_paths = file_paths + file_paths
            part_labels = None if part_labels is None else np.concatenate([part_labels] * 2)
        datasets.append(
            ImageDataset(
                source,
                rows,
                part_labels,
                label_mode,
                names,
                file_paths,
                batch_size,
                shuffle and name != "validation" if subset == "both" else shuffle,
                seed,
                double_params=dparams,
                prefetch=prefetch,
            )
        )
    return tuple(datasets) if subset == "both" else datasets[0]  # type: ignore[return-value]
