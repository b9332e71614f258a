"""The disk cache: reuse without decoding, invalidation on change, atomic files, no pickles."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from minicnn.data import DiskCache, SkippedImageWarning, decode, image_dataset_from_directory


@pytest.fixture
def counter(monkeypatch):
    """Count calls of decode.load_image (the only function that decodes for the cache)."""
    calls: list[str] = []
    real = decode.load_image

    def counting(path, *args, **kwargs):
        calls.append(os.path.basename(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(decode, "load_image", counting)
    return calls


def load(root, cache_dir, **kw):
    kw = {"image_size": (8, 8), "batch_size": 4, "shuffle": False, "verbose": False, **kw}
    return image_dataset_from_directory(str(root), cache_dir=cache_dir, **kw)


def pixels(ds):
    return np.concatenate([x for x, _ in ds])


def test_second_run_and_later_epochs_do_not_decode(tmp_path, cache_dir, counter, make_folder):
    root = make_folder(tmp_path / "d", {"a": 3, "b": 4})
    first = pixels(load(root, cache_dir))
    assert len(counter) == 7
    ds = load(root, cache_dir)
    again = pixels(ds)
    pixels(ds)
    assert len(counter) == 7
    np.testing.assert_array_equal(first, again)


def test_changed_or_touched_file_is_read_again(
    tmp_path, cache_dir, counter, make_folder, write_image
):
    root = make_folder(tmp_path / "d", {"a": 3, "b": 3})
    load(root, cache_dir)
    counter.clear()
    target = root / "a" / "a.1.png"
    new = write_image(target, np.random.default_rng(99), size=(8, 8))
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    x = pixels(load(root, cache_dir))
    assert counter == ["a.1.png"]
    np.testing.assert_array_equal(x[1], new.astype(np.float32))
    counter.clear()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))  # touch only
    load(root, cache_dir)
    assert counter == ["a.1.png"]
    counter.clear()
    load(root, cache_dir, image_size=(4, 4))  # another size is another cache
    assert len(counter) == 6


def test_bad_files_remembered_but_still_warned(tmp_path, cache_dir, counter, make_folder):
    root = make_folder(tmp_path / "d", {"a": 2, "b": 2})
    (root / "b" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.warns(SkippedImageWarning, match="Skipped 1"):
        load(root, cache_dir)
    counter.clear()
    with pytest.warns(SkippedImageWarning, match="broken.png"):
        ds = load(root, cache_dir)
    assert counter == [] and ds.num_samples == 4


def test_cache_files_are_plain_npy_and_json(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"a": 2, "b": 2})
    load(root, cache_dir)
    (folder,) = list(cache_dir.iterdir())
    index = json.loads((folder / "index.json").read_text())
    assert index["image_size"] == [8, 8] and len(index["entries"]) == 4
    (shard,) = index["shards"]
    arr = np.load(folder / shard, allow_pickle=False)
    assert arr.dtype == np.uint8 and arr.shape == (4, 8, 8, 3)
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_corrupt_index_is_rebuilt(tmp_path, cache_dir, counter, make_folder):
    root = make_folder(tmp_path / "d", {"a": 2, "b": 2})
    load(root, cache_dir)
    (folder,) = list(cache_dir.iterdir())
    (folder / "index.json").write_text("{not json")
    counter.clear()
    x = pixels(load(root, cache_dir))
    assert len(counter) == 4 and x.shape == (4, 8, 8, 3)


def test_many_partial_builds_compact_into_one_shard(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"a": 10})
    cache = DiskCache(root, (4, 4), "bilinear", cache_dir)
    paths = sorted(str(p) for p in (root / "a").iterdir())
    for i in range(10):  # one new file per build -> a new shard each time
        shards, locs, bad = cache.ensure(paths[: i + 1], verbose=False)
    assert len(shards) <= 8 and not bad
    assert len(list(cache.root.glob("images-*.npy"))) == len(shards)
    ref = DiskCache(root, (4, 4), "bilinear", tmp_path / "fresh").ensure(paths, verbose=False)
    for k in range(10):
        np.testing.assert_array_equal(
            shards[locs[k, 0]][locs[k, 1]], ref[0][ref[1][k, 0]][ref[1][k, 1]]
        )


def test_cache_dir_inside_data_folder_is_refused(tmp_path, make_folder):
    root = make_folder(tmp_path / "d", {"a": 2})
    with pytest.raises(ValueError, match="cache_dir"):
        load(root, root / "cache")
    assert not (root / "cache").exists()


def test_default_cache_dir_from_environment(monkeypatch, tmp_path):
    from minicnn.data import default_cache_dir

    monkeypatch.setenv("MINICNN_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("MINICNN_CACHE")
    assert default_cache_dir() == __import__("pathlib").Path.home() / ".cache" / "minicnn"
