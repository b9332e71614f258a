"""The one error type of the exporters."""

from __future__ import annotations


class ExportError(ValueError):
    """A model, layer or option that an exporter cannot write; the message names it.

    A ``ValueError`` subclass, as Keras raises for what it cannot export.

    Example:
        >>> from minicnn.export.errors import ExportError
        >>> issubclass(ExportError, ValueError)
        True
    """
