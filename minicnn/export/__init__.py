"""Export a model for deployment: ``model.export(path, format="onnx")``.

``export_model`` dispatches on the format; each format is one module (``onnx.py``) that walks
the model's graph (``graph.py``) through a registry of per-layer converters (``converters.py``).
See docs/deploy.md for running the exported file.
"""

from __future__ import annotations

import os
from typing import Any

from minicnn.export.errors import ExportError

#: Formats ``export_model`` writes.
FORMATS = ("onnx",)

__all__ = ["FORMATS", "ExportError", "export_model"]


def export_model(model: Any, filepath: str | os.PathLike, format: str = "onnx") -> None:
    """Write ``model``'s inference graph to ``filepath`` in ``format``, atomically.

    Args:
        model: a built minicnn model.
        filepath: the file to write; its folder must exist.
        format: "onnx" (the only one).

    Raises:
        ValueError: an unsupported format, naming it and the supported ones.
        ExportError: a layer or option the format cannot express (named).

    Example:
        >>> import os, tempfile, minicnn as mc
        >>> model = mc.Sequential([mc.Input((4,)), mc.Dense(2, activation="softmax")])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
        >>> model.export(path, format="onnx")
        >>> os.path.getsize(path) > 0
        True
    """
    if format != "onnx":
        raise ValueError(f"Unsupported export format. Supported formats: {list(FORMATS)}. "
                         f"Received: format={format!r}")
    from minicnn.export.onnx import save_onnx

    save_onnx(model, filepath)
