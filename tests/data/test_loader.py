"""image_dataset_from_directory: labels, splits, bad files, errors, epochs, map/take, doubling."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minicnn.data import SkippedImageWarning, image_dataset_from_directory
from minicnn.data.doubling import apply_double, double_params
from minicnn.data.folders import data_root


def load(directory, cache_dir, **kw):
    kw.setdefault("image_size", (8, 8))
    kw.setdefault("batch_size", 4)
    kw.setdefault("verbose", False)
    return image_dataset_from_directory(str(directory), cache_dir=cache_dir, **kw)


# -- labels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label_mode, dtype, shape",
    [("int", np.int32, (4,)), ("binary", np.float32, (4, 1)), ("categorical", np.float32, (4, 2))],
)
def test_label_modes_dtypes_and_shapes(tmp_path, cache_dir, label_mode, dtype, shape, make_folder):
    root = make_folder(tmp_path / "d", {"cats": 3, "dogs": 5})
    ds = load(root, cache_dir, label_mode=label_mode, shuffle=False)
    x, y = next(iter(ds))
    assert x.dtype == np.float32 and x.shape == (4, 8, 8, 3)
    assert 0 <= x.min() and x.max() <= 255
    assert y.dtype == dtype and y.shape == shape
    all_y = np.concatenate([b for _, b in ds])
    ints = all_y.argmax(1) if label_mode == "categorical" else all_y.reshape(-1)
    np.testing.assert_array_equal(ints, [0, 0, 0, 1, 1, 1, 1, 1])
    if label_mode == "categorical":
        np.testing.assert_array_equal(all_y.sum(1), 1)


def test_pixels_are_the_pillow_resized_image(tmp_path, cache_dir, write_image):
    rng = np.random.default_rng(3)
    src = write_image(tmp_path / "d" / "a" / "0.png", rng, size=(8, 8))
    ds = load(tmp_path / "d", cache_dir, shuffle=False, label_mode="int")
    x, _ = next(iter(ds))
    np.testing.assert_array_equal(x[0], src.astype(np.float32))  # same size: no resize


def test_labels_none_yields_images_only(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"cats": 3, "dogs": 2})
    ds = load(root, cache_dir, labels=None, shuffle=False)
    batches = list(ds)
    assert all(isinstance(b, np.ndarray) for b in batches)
    assert sum(len(b) for b in batches) == 5 and ds.class_names is None


def test_explicit_labels_follow_sorted_path_order(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"a": 2, "b": 2})
    ds = load(root, cache_dir, labels=[1, 0, 1, 0], shuffle=False)
    assert ds.class_names == ["0", "1"]
    assert [os.path.basename(p) for p in ds.file_paths] == [
        "a.0.png",
        "a.1.png",
        "b.0.png",
        "b.1.png",
    ]
    np.testing.assert_array_equal(np.concatenate([y for _, y in ds]), [1, 0, 1, 0])
    as_array = load(root, cache_dir, labels=np.array([1, 0, 1, 0]), shuffle=False)
    np.testing.assert_array_equal(as_array.labels, [1, 0, 1, 0])
    with pytest.raises(ValueError, match="len\\(labels\\) is 3"):
        load(root, cache_dir, labels=[1, 0, 1])


def test_class_names_select_and_order_classes(folder, cache_dir):
    ds = load(folder, cache_dir, class_names=["c_birds", "a_cats"], shuffle=False)
    assert ds.class_names == ["c_birds", "a_cats"]
    assert ds.num_samples == 7 + 6
    assert ds.labels[0] == 0 and "c_birds" in ds.file_paths[0]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(label_mode="foo"), "Received: label_mode='foo'"),
        (dict(labels="folders"), "Received: labels='folders'"),
        (dict(image_size=(8,)), r"Received: image_size=\(8,\)"),
        (dict(batch_size=0), "Received: batch_size=0"),
        (dict(interpolation="gaussian"), "Received: interpolation='gaussian'"),
        (dict(color_mode="rgba"), "Received: color_mode='rgba'"),
        (dict(cache="yes"), "Received: cache='yes'"),
        (dict(validation_split=1.5, subset="training", seed=1), "Received: validation_split=1.5"),
        (dict(validation_split=0.2), "subset"),
        (dict(validation_split=0.2, subset="testing", seed=1), "Received: subset='testing'"),
        (dict(validation_split=0.2, subset="both"), "Received: seed=None"),
        (dict(label_mode="binary"), "exactly 2 class_names"),
        (dict(class_names=["zebras"]), "class_names=\\['zebras'\\]"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(folder, cache_dir, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load(folder, cache_dir, **kwargs)


# -- folders and bad files -----------------------------------------------------------------------


def test_empty_class_folder_raises_naming_it(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"cats": 2})
    (root / "dogs").mkdir()
    (root / "dogs" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="dogs.*contains no images"):
        load(root, cache_dir)


def test_folder_without_images_or_classes_raises(tmp_path, cache_dir):
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="No class sub-folders"):
        load(tmp_path / "flat", cache_dir)
    with pytest.raises(ValueError, match="No images found"):
        load(tmp_path / "flat", cache_dir, labels=None)
    with pytest.raises(FileNotFoundError, match="missing"):
        load(tmp_path / "missing", cache_dir)


def _wild_folder(root: Path, write_image) -> dict[str, np.ndarray]:
    """3 bad files and 6 odd-but-valid ones; returns expected RGB pixels of the valid odd ones."""
    rng = np.random.default_rng(7)
    for i in range(3):
        write_image(root / "cats" / f"ok.{i}.jpg", rng, size=(8, 8), fmt="JPEG")
    good = root / "cats" / "ok.0.jpg"
    (root / "cats" / "empty.jpg").write_bytes(b"")
    (root / "cats" / "truncated.jpg").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (root / "dogs").mkdir(parents=True)
    (root / "dogs" / "text.jpg").write_text("this is not a JPEG\n" * 20)
    expected = {}
    g = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    Image.fromarray(g).save(root / "dogs" / "gray.png")
    expected["gray.png"] = np.repeat(g[..., None], 3, axis=2)
    rgba = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
    Image.fromarray(rgba).save(root / "dogs" / "rgba.png")
    expected["rgba.png"] = rgba[..., :3]  # alpha dropped, as TF decode_image(channels=3)
    pal = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).quantize(16)
    pal.info["transparency"] = 0
    pal.save(root / "dogs" / "palette.png", transparency=0)
    expected["palette.png"] = np.asarray(pal.convert("RGB"))
    cmyk = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).convert("CMYK")
    cmyk.save(root / "dogs" / "cmyk.jpg", format="JPEG", quality=100)
    expected["cmyk.jpg"] = None  # lossy: only checked for shape
    g16 = rng.integers(0, 65536, (8, 8), dtype=np.uint16)
    img16 = Image.fromarray(g16)
    assert img16.mode == "I;16"
    img16.save(root / "dogs" / "deep16.png")
    expected["deep16.png"] = np.repeat((g16 >> 8).astype(np.uint8)[..., None], 3, axis=2)
    Image.fromarray(g).save(root / "dogs" / "gif.gif")
    expected["gif.gif"] = np.repeat(g[..., None], 3, axis=2)
    return expected


@pytest.mark.parametrize("cache", [True, "memory", False])
def test_bad_files_skipped_with_one_warning_and_odd_modes_become_rgb(
    tmp_path, cache_dir, cache, write_image
):
    root = tmp_path / "wild"
    expected = _wild_folder(root, write_image)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load(root, cache_dir, cache=cache, shuffle=False, label_mode="binary", batch_size=3)
    skipped = [w for w in caught if issubclass(w.category, SkippedImageWarning)]
    assert len(skipped) == 1
    msg = str(skipped[0].message)
    assert "Skipped 3 unreadable" in msg
    for name in ("empty.jpg", "truncated.jpg", "text.jpg"):
        assert name in msg
        assert not any(p.endswith(name) for p in ds.file_paths)
    assert ds.num_samples == 9 and len(ds) == 3
    xs, ys = zip(*ds, strict=True)
    x = np.concatenate(xs)
    assert x.shape == (9, 8, 8, 3) and np.concatenate(ys).sum() == 6
    for path, img in zip(ds.file_paths, x, strict=True):
        want = expected.get(os.path.basename(path))
        if want is not None:
            np.testing.assert_array_equal(img, want.astype(np.float32), err_msg=path)


def test_folder_of_only_bad_files_raises(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"cats": 2})
    (root / "dogs").mkdir()
    (root / "dogs" / "a.jpg").write_bytes(b"")
    with pytest.warns(SkippedImageWarning), pytest.raises(ValueError, match="dogs"):
        load(root, cache_dir)


# -- splits ------------------------------------------------------------------------------------


def test_validation_split_disjoint_covering_and_stable(folder, cache_dir):
    kw = dict(validation_split=0.3, seed=42)
    train, val = load(folder, cache_dir, subset="both", **kw)
    n = 7 + 5 + 6 + 2
    assert len(val.file_paths) == int(0.3 * n) and len(train.file_paths) == n - int(0.3 * n)
    assert not set(train.file_paths) & set(val.file_paths)
    assert len(set(train.file_paths) | set(val.file_paths)) == n
    again = load(folder, cache_dir, subset="training", **kw)
    assert again.file_paths == train.file_paths
    assert load(folder, cache_dir, subset="validation", **kw).file_paths == val.file_paths
    other = load(folder, cache_dir, subset="training", validation_split=0.3, seed=43)
    assert other.file_paths != train.file_paths


def test_too_small_validation_split_raises(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"a": 2, "b": 2})
    with pytest.raises(ValueError, match="empty validation"):
        load(root, cache_dir, validation_split=0.1, subset="both", seed=1)


# -- epochs, map, take ------------------------------------------------------------------------


def _epoch_paths(ds) -> list[int]:
    return [int(v) for _, y in ds for v in y]


def test_each_epoch_reshuffles_reproducibly(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"a": 10, "b": 10})
    # encode file identity in the label to see the order
    ds = load(root, cache_dir, labels=list(range(20)), seed=5)
    e1, e2 = _epoch_paths(ds), _epoch_paths(ds)
    assert sorted(e1) == sorted(e2) == list(range(20))
    assert e1 != e2
    twin = load(root, cache_dir, labels=list(range(20)), seed=5)
    assert [_epoch_paths(twin), _epoch_paths(twin)] == [e1, e2]
    fixed = load(root, cache_dir, labels=list(range(20)), shuffle=False)
    assert _epoch_paths(fixed) == _epoch_paths(fixed) == list(range(20))
    assert len(ds) == 5 and [len(b[0]) for b in load(root, cache_dir, batch_size=6)] == [6, 6, 6, 2]


def test_map_take_and_early_break(tmp_path, cache_dir, make_folder):
    root = make_folder(tmp_path / "d", {"a": 6, "b": 6})
    ds = load(root, cache_dir, shuffle=False, batch_size=2)
    mapped = ds.map(lambda x, y: (255 - x, y + 10))
    for (x0, y0), (x1, y1) in zip(ds, mapped, strict=True):
        np.testing.assert_array_equal(x1, 255 - x0)
        np.testing.assert_array_equal(y1, y0 + 10)
    assert len(ds.take(2)) == 2 and len(list(ds.take(2))) == 2 and len(ds.take(99)) == 6
    for _ in ds:  # leaving early must not hang the prefetch thread
        break

    def boom(x, y):
        raise RuntimeError("boom in map")

    with pytest.raises(RuntimeError, match="boom in map"):
        list(ds.map(boom))


@pytest.mark.parametrize("prefetch", [0, 2])
def test_no_cache_decodes_in_threads_same_pixels(tmp_path, cache_dir, prefetch, make_folder):
    root = make_folder(tmp_path / "d", {"a": 5, "b": 4})
    kw = dict(shuffle=False, image_size=(6, 10), interpolation="bicubic")
    cached = np.concatenate([x for x, _ in load(root, cache_dir, **kw)])
    plain = np.concatenate([x for x, _ in load(root, None, cache=False, prefetch=prefetch, **kw)])
    np.testing.assert_array_equal(cached, plain)
    assert cached.shape == (9, 6, 10, 3)


# -- doubling ----------------------------------------------------------------------------------


def test_double_presents_each_training_file_plain_and_mirrored_filtered(
    tmp_path, cache_dir, make_folder
):
    root = make_folder(tmp_path / "d", {"a": 4, "b": 4})
    kw = dict(shuffle=False, batch_size=100, label_mode="binary")
    ((plain_x, plain_y),) = list(load(root, cache_dir, **kw))
    ds = load(root, cache_dir, double=True, **kw)
    ((x, y),) = list(ds)
    assert ds.num_samples == 16 and ds.file_paths == ds.file_paths[:8] * 2
    np.testing.assert_array_equal(x[:8], plain_x)
    np.testing.assert_array_equal(y, np.concatenate([plain_y, plain_y]))
    rel = [os.path.relpath(p, root) for p in ds.file_paths[:8]]
    np.testing.assert_allclose(x[8:], apply_double(plain_x, double_params(rel)), atol=1e-4)
    # mirrored: the filter only changes colours, so the mirrored copy's edge-flip structure holds
    assert not np.allclose(x[8:], plain_x)
    np.testing.assert_array_equal(double_params(rel), double_params(rel))
    train, val = load(root, cache_dir, double=True, validation_split=0.25, subset="both", seed=3)
    assert train.num_samples == 12 and val.num_samples == 2


def test_data_root_defaults_next_to_repository(monkeypatch):
    monkeypatch.delenv("MINICNN_DATA", raising=False)
    repo = Path(__file__).resolve().parents[2]
    assert data_root() == repo.parent / "shared" / "data"
    monkeypatch.setenv("MINICNN_DATA", "/somewhere")
    assert data_root() == Path("/somewhere")
