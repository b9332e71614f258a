"""Write a file atomically, as ``minicnn.io`` saves models: temp file, fsync, ``os.replace``."""

from __future__ import annotations

import os
import tempfile

from minicnn.io import _default_mode


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the previous file (if any) intact and
    no temporary file behind. The folder must exist.

    Example:
        >>> import os, tempfile
        >>> from minicnn.export.atomic import write_bytes_atomic
        >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
        >>> write_bytes_atomic(path, b"abc")
        >>> open(path, "rb").read()
        b'abc'
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot write '{path}': no such folder '{directory}'.")
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, _default_mode())  # mkstemp makes 0600; an exported model is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
