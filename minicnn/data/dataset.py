"""`ImageDataset`: batches of ``(x, y)`` NumPy arrays, prepared by a background thread.

This is the whole contract with the training loop: ``len(ds)`` batches, each ``(x, y)`` with ``x``
float32 NHWC in 0..255 (just ``x`` when the dataset has no labels). Each ``iter(ds)`` is one
epoch; with ``shuffle=True`` every epoch has a new order, drawn from
``np.random.default_rng((seed, epoch))`` so runs with the same seed see the same orders.

A producer thread assembles batches (reading cached rows, or decoding files on a small thread
pool when there is no cache, then applying any `map` functions) and keeps up to `prefetch`
batches ready in a queue, so that work overlaps the training step.
"""

from __future__ import annotations

import contextlib
import copy
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from minicnn.data import decode
from minicnn.data.doubling import apply_double

_END = object()


class ArraySource:
    """Images already decoded: uint8 arrays (memmapped shards or one in-memory array).

    Args:
        shards: uint8 arrays. Shape: ``(rows, H, W, 3)`` each.
        locs: ``(shard, row)`` per image. Shape: ``(N, 2)``.

    Example:
        >>> import numpy as np
        >>> from minicnn.data.dataset import ArraySource
        >>> shard = np.arange(3, dtype=np.uint8).reshape(3, 1, 1, 1).repeat(3, axis=3)
        >>> src = ArraySource([shard], np.array([[0, 2], [0, 0]]))    # image 0 = row 2
        >>> src.read(np.array([0, 1]))[:, 0, 0, 0]
        array([2, 0], dtype=uint8)
    """

    def __init__(self, shards: Sequence[np.ndarray], locs: np.ndarray) -> None:
        self.shards = list(shards)
        self.locs = np.asarray(locs, dtype=np.int64)
        self.image_size = tuple(self.shards[0].shape[1:3]) if self.shards else (0, 0)

    @contextlib.contextmanager
    def reader(self) -> Iterator[Callable[[np.ndarray], np.ndarray]]:
        yield self.read

    def read(self, idx: np.ndarray) -> np.ndarray:
        """Images `idx` as uint8. Shape: ``(len(idx), H, W, 3)``."""
        locs = self.locs[idx]
        if len(self.shards) == 1:
            return self.shards[0][locs[:, 1]]
        out = np.empty((len(idx), *self.image_size, 3), dtype=np.uint8)
        for s in np.unique(locs[:, 0]):
            mask = locs[:, 0] == s
            out[mask] = self.shards[s][locs[mask, 1]]
        return out


class FileSource:
    """Images decoded from their files every time they are read (``cache=False``).

    Args:
        paths: one file per image.
        image_size: ``(height, width)``.
        interpolation: resize filter name.
        num_threads: decode threads per epoch.

    Example:
        >>> from pathlib import Path
        >>> import minicnn
        >>> cats = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small/test_set/cats"
        >>> import numpy as np
        >>> from minicnn.data.dataset import FileSource
        >>> src = FileSource([str(cats / "cat.4001.jpg")], (8, 8), "bilinear", num_threads=1)
        >>> with src.reader() as read:
        ...     batch = read(np.array([0, 0]))
        >>> batch.shape, batch.dtype
        ((2, 8, 8, 3), dtype('uint8'))
    """

    def __init__(
        self,
        paths: Sequence[str],
        image_size: tuple[int, int],
        interpolation: str,
        num_threads: int,
    ) -> None:
        self.paths = list(paths)
        self.image_size = image_size
        self.interpolation = interpolation
        self.num_threads = max(1, num_threads)

    @contextlib.contextmanager
    def reader(self) -> Iterator[Callable[[np.ndarray], np.ndarray]]:
        with ThreadPoolExecutor(max_workers=self.num_threads) as pool:

            def read(idx: np.ndarray) -> np.ndarray:
                out = np.empty((len(idx), *self.image_size, 3), dtype=np.uint8)

                def one(k: int) -> None:
                    path = self.paths[idx[k]]
                    try:
                        out[k] = decode.load_image(path, self.image_size, self.interpolation)
                    except decode.DECODE_ERRORS as exc:
                        raise OSError(f"{path} could not be decoded any more: {exc}") from exc

                list(pool.map(one, range(len(idx))))
                return out

            yield read


class ImageDataset:
    """An iterable of ``(x, y)`` batches over images with optional labels.

    Made by `image_dataset_from_directory`; not usually constructed directly.

    Args:
        source: `ArraySource` or `FileSource` holding the images.
        rows: which source image each sample shows. Shape: ``(M,)``.
        labels: int32 label per sample, or None for an unlabelled dataset. Shape: ``(M,)``.
        label_mode: ``"int"``, ``"binary"``, ``"categorical"`` or None.
        class_names: names of the classes, index = label.
        file_paths: the file of each sample.
        batch_size: samples per batch (the last batch may be smaller).
        shuffle: new order every epoch.
        seed: seed of the per-epoch orders.
        double_params: for samples that are mirrored + colour-filtered copies (``double=True``),
            their filter parameters; NaN rows are plain samples. Shape: ``(M, 3)``.
        prefetch: batches prepared ahead by the background thread (0: no thread).

    Shape:
        x: ``(B, H, W, 3)`` float32 in 0..255. y: binary ``(B, 1)`` float32, int ``(B,)`` int32,
        categorical ``(B, C)`` float32 one-hot.

    Example:
        >>> from pathlib import Path
        >>> import minicnn as mc
        >>> from minicnn.data import image_dataset_from_directory
        >>> folder = Path(mc.__file__).parents[1] / "examples/data/catdog_small/test_set"
        >>> ds = image_dataset_from_directory(folder, label_mode="binary", image_size=(32, 32),
        ...                                   batch_size=25, seed=1, cache="memory",
        ...                                   verbose=False)
        >>> len(ds), ds.num_samples, ds.class_names
        (4, 100, ['cats', 'dogs'])
        >>> model = mc.Sequential([mc.Input((32, 32, 3)), mc.Rescaling(1 / 255), mc.Flatten(),
        ...                        mc.Dense(1, activation="sigmoid")])
        >>> model.compile(optimizer="sgd", loss="binary_crossentropy")
        >>> for x, y in ds.take(2):
        ...     loss = model.train_on_batch(x, y)
        >>> x.shape, y.shape, x.dtype
        ((25, 32, 32, 3), (25, 1), dtype('float32'))
    """

    def __init__(
        self,
        source: ArraySource | FileSource,
        rows: np.ndarray,
        labels: np.ndarray | None,
        label_mode: str | None,
        class_names: list[str] | None,
        file_paths: list[str],
        batch_size: int,
        shuffle: bool,
        seed: int,
        double_params: np.ndarray | None = None,
        prefetch: int = 2,
    ) -> None:
        self._source = source
        self._rows = np.asarray(rows, dtype=np.int64)
        self._labels = labels
        self.label_mode = label_mode
        self.class_names = class_names
        self.file_paths = list(file_paths)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self._double = double_params
        self.prefetch_batches = int(prefetch)  # (``prefetch`` is tf.data's method)
        self._transforms: tuple[Callable[..., Any], ...] = ()
        self._limit: int | None = None
        self._epoch = 0

    # -- sizes -------------------------------------------------------------------------------

    @property
    def num_samples(self) -> int:
        """Number of samples (images, doubled ones counted twice)."""
        return len(self._rows)

    @property
    def labels(self) -> np.ndarray | None:
        """int32 label of every sample, in `file_paths` order (None without labels)."""
        return None if self._labels is None else self._labels.copy()

    def __len__(self) -> int:
        n = -(-self.num_samples // self.batch_size)
        return n if self._limit is None else min(n, self._limit)

    def __repr__(self) -> str:
        return (
            f"ImageDataset(samples={self.num_samples}, batches={len(self)}, "
            f"batch_size={self.batch_size}, class_names={self.class_names}, "
            f"label_mode={self.label_mode!r}, shuffle={self.shuffle})"
        )

    # -- views ---------------------------------------------------------------------------------

    def _view(self) -> ImageDataset:
        view = copy.copy(self)
        view._epoch = 0
        return view

    def map(self, fn: Callable[..., Any], num_parallel_calls: Any = None,
            deterministic: Any = None) -> ImageDataset:
        """A dataset whose batches go through `fn` (in the background thread).

        As in Keras, `fn` receives the batch's parts as arguments: ``fn(x, y) -> (x, y)``, or
        ``fn(x) -> x`` without labels. Calls happen in batch order on one thread, so a seeded
        `fn` (e.g. `Augment`) stays reproducible.

        Example:
            >>> from pathlib import Path
            >>> import minicnn
            >>> from minicnn.data import Augment, image_dataset_from_directory
            >>> folder = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small"
            >>> train = image_dataset_from_directory(folder / "test_set", image_size=(32, 32),
            ...                                      seed=1, cache="memory", verbose=False)
            >>> aug = Augment(flip="horizontal", zoom=0.1, seed=0)
            >>> flipped = train.map(lambda x, y: (aug(x), y))
            >>> x, y = next(iter(flipped))
            >>> x.shape, y.dtype
            ((32, 32, 32, 3), dtype('int32'))
        """
        # num_parallel_calls / deterministic: tf.data's, accepted without effect (the calls run
        # in order on the producer thread, so they are always deterministic)
        if not callable(fn):
            raise ValueError(f"`map` expects a callable. Received: fn={fn!r}")
        view = self._view()
        view._transforms = (*self._transforms, fn)
        return view

    def prefetch(self, buffer_size: int) -> ImageDataset:
        """tf.data's ``prefetch``: a dataset preparing up to ``buffer_size`` batches ahead
        (``tf.data.AUTOTUNE``, -1, keeps the current setting).

        Example:
            >>> from pathlib import Path
            >>> import minicnn
            >>> from minicnn.data import image_dataset_from_directory
            >>> folder = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small"
            >>> ds = image_dataset_from_directory(folder / "test_set", image_size=(8, 8),
            ...                                   seed=1, verbose=False)
            >>> ds.prefetch(4).prefetch_batches, ds.prefetch(-1).prefetch_batches
            (4, 2)
        """
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, int) or buffer_size < -1:
            raise ValueError("`buffer_size` must be a non-negative int or -1 (AUTOTUNE). "
                             f"Received: buffer_size={buffer_size!r}")
        view = self._view()
        if buffer_size >= 0:
            view.prefetch_batches = buffer_size
        return view

    def take(self, count: int) -> ImageDataset:
        """A dataset of at most the first `count` batches of each epoch."""
        if not isinstance(count, int) or count < 0:
            raise ValueError(f"`count` must be a non-negative integer. Received: count={count!r}")
        view = self._view()
        view._limit = count if self._limit is None else min(count, self._limit)
        return view

    # -- iteration ----------------------------------------------------------------------------

    def epoch_order(self, epoch: int) -> np.ndarray:
        """Sample indices in the order epoch `epoch` visits them. Shape: ``(M,)``."""
        if not self.shuffle:
            return np.arange(self.num_samples)
        return np.random.default_rng((self.seed, epoch)).permutation(self.num_samples)

    def _encode(self, labels: np.ndarray) -> np.ndarray:
        if self.label_mode == "binary":
            return labels.astype(np.float32)[:, None]  # (B,) -> (B, 1)
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names or ()), dtype=np.float32)[labels]  # (B, C)
        return labels.astype(np.int32)

    def _batch(self, read: Callable[[np.ndarray], np.ndarray], sel: np.ndarray) -> Any:
        x = read(self._rows[sel]).astype(np.float32)  # (B, H, W, 3) uint8 -> float32
        if self._double is not None:
            params = self._double[sel]
            mask = ~np.isnan(params[:, 0])
            if mask.any():
                x[mask] = apply_double(x[mask], params[mask])
        if self._labels is None:
            out: Any = x
            for fn in self._transforms:
                out = fn(out)
            return out
        out = (x, self._encode(self._labels[sel]))
        for fn in self._transforms:
            out = fn(*out)
        return out

    def __iter__(self) -> Iterator[Any]:
        order = self.epoch_order(self._epoch)
        self._epoch += 1
        bs = self.batch_size
        batches = [order[i : i + bs] for i in range(0, len(order), bs)][: len(self)]
        if self.prefetch_batches <= 0:
            return self._iter_sync(batches)
        return self._iter_threaded(batches)

    def _iter_sync(self, batches: list[np.ndarray]) -> Iterator[Any]:
        with self._source.reader() as read:
            for sel in batches:
                yield self._batch(read, sel)

    def _iter_threaded(self, batches: list[np.ndarray]) -> Iterator[Any]:
        q: queue.Queue = queue.Queue(maxsize=self.prefetch_batches)
        stop = threading.Event()

        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def produce() -> None:
            try:
                with self._source.reader() as read:
                    for sel in batches:
                        if stop.is_set() or not put((None, self._batch(read, sel))):
                            return
            except BaseException as exc:  # handed to the consumer, re-raised there
                put((exc, None))
                return
            put((_END, None))

        thread = threading.Thread(target=produce, name="minicnn-data-prefetch", daemon=True)
        thread.start()
        try:
            while True:
                err, item = q.get()
                if err is _END:
                    return
                if err is not None:
                    raise err
                yield item
        finally:
            stop.set()  # a consumer that stops early (break) ends the producer too
            thread.join()
