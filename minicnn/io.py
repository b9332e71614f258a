"""Saving to and loading from ``.npz`` files: no pickle, atomic writes.

JSON metadata is stored as a 0-d unicode array; loading always uses ``allow_pickle=False``, so a
file holding Python objects is refused rather than executed. Writes go to a temporary file in
the destination directory, are flushed and fsync'ed, then moved over the target with
``os.replace``: a crash mid-save leaves the previous file intact. A temporary is named
``.<file name>.<8 hex digits>.tmp``, so when the process is killed outright (``kill -9``, power
loss) before it can remove its temporary, the next save of the same file finds and removes it:
no temporary outlives a save that completes.

Example:
    >>> import os, tempfile, numpy as np, minicnn as mc
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> mc.io.save_arrays(path, {"w": np.ones(2)}, meta={"k": 1})
    >>> arrays, meta = mc.io.load_arrays(path)
    >>> arrays["w"], meta
    (array([1., 1.]), {'k': 1})
"""

from __future__ import annotations

import json
import os
import re
import secrets
import zipfile
from collections.abc import Callable, Mapping
from typing import Any, BinaryIO

import numpy as np

META_KEY = "__meta__"


def _write_npz(fileobj: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """The writer (a seam tests can monkeypatch to simulate a crash)."""
    np.savez(fileobj, **arrays)


def _temporary_pattern(name: str) -> re.Pattern[str]:
    """Temporaries of the file ``name``: this module's ``.<name>.<8 hex>.tmp``, and the
    ``<name>.<8 chars>.tmp`` of earlier versions (``tempfile.mkstemp``'s names)."""
    n = re.escape(name)
    return re.compile(rf"(\.{n}\.[0-9a-f]{{8}}|{n}\.[a-z0-9_]{{8}})\.tmp")


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Remove temporaries that interrupted saves of ``path`` left behind; returns their names.

    Only names of ``path``'s own temporaries match (a fixed-length random part), never another
    file's. Called by every save, before it writes.

    Example:
        >>> import os, tempfile
        >>> from minicnn.io import remove_stale_temporaries
        >>> folder = tempfile.mkdtemp()
        >>> for name in (".m.npz.0123abcd.tmp", ".m.npz.x.npz.0123abcd.tmp", "m.npz"):
        ...     open(os.path.join(folder, name), "w").close()
        >>> remove_stale_temporaries(os.path.join(folder, "m.npz")), sorted(os.listdir(folder))
        (['.m.npz.0123abcd.tmp'], ['.m.npz.x.npz.0123abcd.tmp', 'm.npz'])
    """
    directory, name = os.path.split(os.path.abspath(os.fspath(path)))
    pattern = _temporary_pattern(name)
    removed = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in sorted(entries):
        if pattern.fullmatch(entry):
            try:
                os.unlink(os.path.join(directory, entry))
                removed.append(entry)
            except FileNotFoundError:
                pass
    return removed


def atomic_save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` as ``.npz`` atomically (see ``atomic_write``).

    Args:
        path: destination file; its folder must exist.
        arrays: name -> array; written with ``np.savez`` (no pickle for numeric arrays).

    Example:
        >>> import os, tempfile, numpy as np
        >>> from minicnn.io import atomic_save_npz
        >>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
        >>> atomic_save_npz(path, {"a": np.arange(3)})
        >>> np.load(path)["a"], os.listdir(os.path.dirname(path))
        (array([0, 1, 2]), ['x.npz'])
    """
    atomic_write(path, lambda f: _write_npz(f, arrays))


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it, then ``os.replace`` it
    over ``path``: a crash mid-write leaves any previous file at ``path`` intact, and
    temporaries that a killed process could not remove are removed by the next save of
    ``path`` (see the module docstring). Models (``.npz``) and ONNX exports are written so.

    Example:
        >>> import os, tempfile
        >>> from minicnn.io import atomic_write
        >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
        >>> atomic_write(path, lambda f: f.write(b"abc"))
        >>> open(path, "rb").read(), os.listdir(os.path.dirname(path))
        (b'abc', ['model.onnx'])
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot write '{path}': no such folder '{directory}'.")
    remove_stale_temporaries(path)
    while True:
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            # O_EXCL: never another's file; mode 0o666 less the umask, as open(path, "w") gives
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, np.ndarray],
                meta: Any = None) -> None:
    """Save named arrays plus JSON-serialisable ``meta`` to one ``.npz`` file, atomically.

    Args:
        path: destination file.
        arrays: name -> array (``"__meta__"`` is reserved).
        meta: any JSON-serialisable value, stored as a 0-d unicode array.

    Example:
        >>> import os, tempfile, numpy as np, minicnn as mc
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> mc.io.save_arrays(path, {"kernel": np.zeros((2, 1))}, meta={"format": "demo"})
        >>> mc.io.load_arrays(path)[1]
        {'format': 'demo'}
    """
    payload = dict(arrays)
    if META_KEY in payload:
        raise ValueError(f"Array name {META_KEY!r} is reserved.")
    payload[META_KEY] = np.array(json.dumps(meta))
    atomic_save_npz(path, payload)


def load_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], Any]:
    """Read ``save_arrays``'s file: ``(arrays, meta)``. Errors name the path.

    Loads with ``allow_pickle=False``: a file holding Python objects is refused.

    Raises:
        FileNotFoundError: no such file.
        ValueError: pickled objects, not an ``.npz``, no metadata, or corrupt metadata.

    Example:
        >>> import os, tempfile, numpy as np, minicnn as mc
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> mc.io.save_arrays(path, {"b": np.ones(2, np.float32)})
        >>> arrays, meta = mc.io.load_arrays(path)
        >>> arrays["b"], meta
        (array([1., 1.], dtype=float32), None)
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: '{path}'")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as e:  # object arrays need pickle
        raise ValueError(f"Cannot load '{path}': it holds pickled objects, which minicnn "
                         f"never loads ({e}).") from e
    except (OSError, zipfile.BadZipFile, EOFError) as e:
        raise ValueError(f"Cannot load '{path}': not a valid .npz file ({e}).") from e
    if META_KEY not in arrays:
        raise ValueError(f"Cannot load '{path}': it is not a minicnn file (no metadata).")
    raw = arrays.pop(META_KEY)
    try:
        meta = json.loads(str(raw[()]))
    except (json.JSONDecodeError, TypeError, IndexError) as e:
        raise ValueError(f"Cannot load '{path}': corrupt metadata ({e}).") from e
    return arrays, meta
