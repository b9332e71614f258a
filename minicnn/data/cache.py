"""Decoded images on disk, so later epochs and later runs never decode a file twice.

Layout, one folder per (image folder, image_size, interpolation)::

    <cache_dir>/<folder name>-<16 hex digits>/
        index.json          {"version", "directory", "image_size", "interpolation",
                             "shards": [name, ...],
                             "entries": {relative path: [size, mtime_ns, shard, row]},
                             "bad": {relative path: [size, mtime_ns, reason]}}
        images-<id>.npy     uint8 (rows, H, W, 3), opened as a read-only memmap

A file is reused while its ``(size, mtime_ns)`` is unchanged; a changed or new file is decoded
into a new shard. Shards and the index are written to a temporary name and moved into place with
``os.replace``, the index last, so a crash never leaves an index pointing at half a shard.
Arrays load with ``allow_pickle=False``; the index is JSON. Too many shards or too many stale
rows trigger a compaction into one shard. Two processes building the same cache at once are
safe but may both decode (last index written wins).

Bad files (empty, truncated, not an image) are remembered in ``bad`` with their stat, so they
are not re-tried until they change.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from minicnn.data import decode
from minicnn.progbar import Progress

FORMAT_VERSION = 1
MAX_SHARDS = 8


def default_cache_dir() -> Path:
    """``$MINICNN_CACHE`` if set, else ``~/.cache/minicnn``.

    Example:
        >>> import os
        >>> from minicnn.data import default_cache_dir
        >>> default_cache_dir().name if "MINICNN_CACHE" not in os.environ else "minicnn"
        'minicnn'
    """
    env = os.environ.get("MINICNN_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "minicnn"


def decode_into(
    paths: Sequence[str],
    out: np.ndarray,
    image_size: tuple[int, int],
    interpolation: str,
    num_threads: int,
    progress: Progress | None = None,
    load: Callable[..., np.ndarray] | None = None,
) -> dict[int, str]:
    """Decode ``paths[i]`` into ``out[i]`` on `num_threads` threads.

    Args:
        out: preallocated uint8 array (or writable memmap). Shape: ``(len(paths), H, W, 3)``.
        load: the decode function, default `decode.load_image` (looked up at call time so
            tests can count calls).

    Returns:
        ``{i: reason}`` for each file that could not be decoded; its row is left untouched.

    Example:
        >>> import numpy as np
        >>> from pathlib import Path
        >>> import minicnn
        >>> cats = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small/test_set/cats"
        >>> from minicnn.data.cache import decode_into
        >>> paths = [str(cats / "cat.4001.jpg"), str(cats / "missing.jpg")]
        >>> out = np.zeros((2, 16, 16, 3), np.uint8)
        >>> bad = decode_into(paths, out, (16, 16), "bilinear", num_threads=1)
        >>> list(bad), bool(out[0].any()), bool(out[1].any())
        ([1], True, False)
    """
    load = load or decode.load_image
    bad: dict[int, str] = {}

    def work(i: int) -> None:
        out[i] = load(paths[i], image_size, interpolation)

    with ThreadPoolExecutor(max_workers=max(1, num_threads)) as pool:
        futures = {pool.submit(work, i): i for i in range(len(paths))}
        for fut in as_completed(futures):
            exc = fut.exception()
            if exc is not None:
                if not isinstance(exc, decode.DECODE_ERRORS):
                    raise exc
                bad[futures[fut]] = f"{type(exc).__name__}: {exc}"
            if progress is not None:
                progress.update()
    if progress is not None:
        progress.close()
    return bad


def _write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class DiskCache:
    """The on-disk cache of one folder at one image size and interpolation.

    Args:
        directory: the image folder (never written to).
        image_size: ``(height, width)`` of the cached arrays.
        interpolation: resize filter name (part of the key).
        cache_dir: parent folder of all caches; default `default_cache_dir()`.

    Raises:
        ValueError: `cache_dir` lies inside `directory`.

    Example (cache the bundled test folder's cats in a temporary folder):
        >>> import tempfile
        >>> from pathlib import Path
        >>> import minicnn
        >>> cats = Path(minicnn.__file__).parents[1] / "examples/data/catdog_small/test_set/cats"
        >>> paths = sorted(str(p) for p in cats.glob("*.jpg"))
        >>> cache = DiskCache(cats, (32, 32), "bilinear", cache_dir=tempfile.mkdtemp())
        >>> shards, locs, bad = cache.ensure(paths, verbose=False)
        >>> len(paths), locs.shape, bad
        (50, (50, 2), {})
        >>> shards[0].dtype, shards[0].shape[1:]
        (dtype('uint8'), (32, 32, 3))
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        image_size: tuple[int, int],
        interpolation: str,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.directory = os.fspath(directory)
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.interpolation = interpolation
        parent = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        resolved_dir = Path(self.directory).resolve()
        resolved_cache = parent.resolve()
        if resolved_cache == resolved_dir or resolved_dir in resolved_cache.parents:
            raise ValueError(
                "`cache_dir` must not be inside the image directory (the data folder is never "
                f"written to). Received: cache_dir={os.fspath(parent)!r}"
            )
        key = f"{resolved_dir}|{self.image_size[0]}x{self.image_size[1]}|{interpolation}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.root = parent / f"{resolved_dir.name or 'root'}-{digest}"
        self.index_path = self.root / "index.json"

    # -- reading -------------------------------------------------------------------------------

    def _empty_index(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "directory": str(Path(self.directory).resolve()),
            "image_size": list(self.image_size),
            "interpolation": self.interpolation,
            "shards": [],
            "entries": {},
            "bad": {},
        }

    def _read_index(self) -> dict:
        try:
            with open(self.index_path, encoding="utf-8") as f:
                index = json.load(f)
        except (OSError, ValueError):
            return self._empty_index()
        expected = self._empty_index()
        same = all(index.get(k) == expected[k] for k in ("version", "image_size", "interpolation"))
        if not same or not isinstance(index.get("entries"), dict):
            return expected
        return index

    def _open_shard(self, name: str) -> np.ndarray | None:
        try:
            arr = np.load(self.root / name, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None
        if arr.dtype != np.uint8 or arr.shape[1:] != (*self.image_size, 3):
            return None
        return arr

    # -- building ------------------------------------------------------------------------------

    def ensure(
        self, file_paths: Sequence[str], num_threads: int = 2, verbose: bool = True
    ) -> tuple[list[np.ndarray], np.ndarray, dict[str, str]]:
        """Make sure every file is cached (decoding the missing or changed ones).

        Args:
            file_paths: paths inside `directory`.
            num_threads: decode threads for files not yet cached.
            verbose: show a progress bar on stderr while decoding.

        Returns:
            ``(shards, locs, bad)``: read-only uint8 memmaps; int64 ``locs`` of shape
            ``(N, 2)`` holding ``(shard, row)`` per file, ``(-1, -1)`` for a bad file; and
            ``{path: reason}`` for the bad files.
        """
        index = self._read_index()
        shards: dict[str, np.ndarray] = {}
        for name in index["shards"]:
            arr = self._open_shard(name)
            if arr is not None:
                shards[name] = arr
        entries: dict[str, list] = index["entries"]
        bad_index: dict[str, list] = index.get("bad", {})

        rels = [os.path.relpath(p, self.directory) for p in file_paths]
        stats = [_stat(p) for p in file_paths]
        todo: list[int] = []
        bad: dict[str, str] = {}
        for i, (rel, st) in enumerate(zip(rels, stats, strict=True)):
            if st is None:
                bad[file_paths[i]] = "FileNotFoundError: file vanished"
                continue
            e = entries.get(rel)
            if e is not None and (e[0], e[1]) == st and e[2] in shards and e[3] < len(shards[e[2]]):
                continue
            b = bad_index.get(rel)
            if b is not None and (b[0], b[1]) == st:
                bad[file_paths[i]] = b[2]
                continue
            todo.append(i)

        if todo:
            self.root.mkdir(parents=True, exist_ok=True)
            name = f"images-{uuid.uuid4().hex[:12]}.npy"
            tmp = self.root / f"{name}.tmp"
            mm = np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.uint8, shape=(len(todo), *self.image_size, 3)
            )
            bar = Progress(len(todo), label=f"Caching {len(todo)} images", enabled=verbose,
                           unit="img")
            todo_paths = [file_paths[i] for i in todo]
            failed = decode_into(
                todo_paths, mm, self.image_size, self.interpolation, num_threads, bar
            )
            mm.flush()
            del mm
            os.replace(tmp, self.root / name)
            shards[name] = self._open_shard(name)
            for row, i in enumerate(todo):
                size, mtime = stats[i]
                if row in failed:
                    bad_index[rels[i]] = [size, mtime, failed[row]]
                    entries.pop(rels[i], None)
                    bad[file_paths[i]] = failed[row]
                else:
                    entries[rels[i]] = [size, mtime, name, row]
                    bad_index.pop(rels[i], None)
            index.update(shards=list(shards), entries=entries, bad=bad_index)
            if self._needs_compaction(shards, entries):
                shards = self._compact(index, shards)
            else:
                _write_json_atomic(self.index_path, index)

        names = list(shards)
        position = {n: k for k, n in enumerate(names)}
        locs = np.full((len(file_paths), 2), -1, dtype=np.int64)
        for i, rel in enumerate(rels):
            if file_paths[i] in bad:
                continue
            e = index["entries"][rel]
            locs[i] = (position[e[2]], e[3])
        return [shards[n] for n in names], locs, bad

    def _needs_compaction(self, shards: dict[str, np.ndarray], entries: dict) -> bool:
        total = sum(len(a) for a in shards.values())
        return len(shards) > MAX_SHARDS or total > 2 * max(len(entries), 1) + 1024

    def _compact(self, index: dict, shards: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Copy the live rows of all shards into one new shard; drop the old ones."""
        entries = {rel: e for rel, e in index["entries"].items() if e[2] in shards}
        index["entries"] = entries
        name = f"images-{uuid.uuid4().hex[:12]}.npy"
        tmp = self.root / f"{name}.tmp"
        mm = np.lib.format.open_memmap(
            tmp, mode="w+", dtype=np.uint8, shape=(len(entries), *self.image_size, 3)
        )
        for row, (rel, e) in enumerate(entries.items()):
            mm[row] = shards[e[2]][e[3]]
            entries[rel] = [e[0], e[1], name, row]
        mm.flush()
        del mm
        os.replace(tmp, self.root / name)
        old = list(shards)
        index["shards"] = [name]
        _write_json_atomic(self.index_path, index)
        for n in old:  # open memmaps stay valid after unlink on POSIX
            try:
                os.remove(self.root / n)
            except OSError:
                pass
        return {name: self._open_shard(name)}
