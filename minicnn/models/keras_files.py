"""Keras's own file names in ``save`` / ``save_weights`` / ``load_model`` / ``load_weights``.

A Keras 3 script saves ``model.keras`` and ``name.weights.h5``. minicnn never writes its own
format under those names (Keras 3 itself refuses a name it cannot honour): with TensorFlow
installed it writes a real Keras file through ``minicnn.keras_compat`` (``to_keras``), and
reads one back with ``from_keras``; without TensorFlow it refuses with a message saying how.
Compile settings and optimizer state do not travel in such a file (``to_keras`` gives an
uncompiled model); minicnn's ``.npz`` keeps both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from minicnn import io

#: suffix -> what Keras 3 keeps under it
KERAS_SUFFIXES = {".keras": "model", ".weights.h5": "weights"}


def keras_kind(path: str) -> str | None:
    """"model" for ``*.keras``, "weights" for ``*.weights.h5``, else None.

    Example:
        >>> from minicnn.models.keras_files import keras_kind
        >>> keras_kind("m.keras"), keras_kind("w.weights.h5"), keras_kind("m.h5")
        ('model', 'weights', None)
    """
    lower = path.lower()
    return next((kind for suffix, kind in KERAS_SUFFIXES.items() if lower.endswith(suffix)),
                None)


def _keras(who: str, path: str) -> Any:
    try:
        from minicnn.keras_compat import _import_keras

        return _import_keras()
    except ImportError as err:
        raise ValueError(
            f"{who}: '{path}' is a Keras file name, and writing or reading a real Keras file "
            "needs TensorFlow (pip install tensorflow-cpu). Without it, use minicnn's own "
            "format: a name ending in `.npz` (by convention `model.npz`)."
        ) from err


def save_keras(model: Any, path: str, kind: str) -> None:
    """Write ``model`` (``kind`` "model") or its weights ("weights") as a Keras file,
    atomically: Keras writes into a private folder, the bytes then go through
    ``minicnn.io.atomic_write``."""
    who = "save" if kind == "model" else "save_weights"
    _keras(who, path)
    from minicnn.keras_compat import to_keras

    kmodel = to_keras(model)
    folder = tempfile.mkdtemp(prefix="minicnn-keras-")
    try:
        staged = os.path.join(folder, os.path.basename(path))
        if kind == "model":
            kmodel.save(staged)
        else:
            kmodel.save_weights(staged)
        with open(staged, "rb") as f:
            data = f.read()
        io.atomic_write(path, lambda out: out.write(data))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def load_keras_model(path: str) -> Any:
    """The minicnn model of a Keras ``.keras`` file (uncompiled, as Keras's own files are
    loaded here without their training configuration)."""
    _keras("load_model", path)
    from minicnn.keras_compat import from_keras

    return from_keras(path)


def load_keras_weights(model: Any, path: str) -> None:
    """Keras ``.weights.h5`` weights into the built minicnn ``model``."""
    _keras("load_weights", path)
    from minicnn.keras_compat import from_keras

    model.set_weights(from_keras(path, model=model).get_weights())
