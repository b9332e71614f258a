"""Running metrics for ``fit``/``evaluate``: accuracy variants and a weighted Mean.

Each metric keeps a sum and a count, so its ``result()`` is the mean over every sample seen
since ``reset_state()`` (batches weighted by their size, as Keras).

Example:
    >>> import numpy as np, minicnn as mc
    >>> acc = mc.metrics.BinaryAccuracy()
    >>> acc.update_state(np.array([[1.0], [0.0]]), np.array([[0.8], [0.6]]))
    >>> acc.result()
    0.5
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Metric:
    """Base class: a weighted running mean of per-sample values from ``values(y_true, y_pred)``.

    ``update_state`` adds a batch, ``result`` gives the mean so far, ``reset_state`` starts over
    (``fit`` resets at each epoch, so logs show running means as Keras's do).

    Args:
        name: the key under which the metric appears in logs.

    Example (a custom metric: mean absolute error):
        >>> import numpy as np, minicnn as mc
        >>> class MAE(mc.metrics.Metric):
        ...     def values(self, y_true, y_pred):
        ...         return np.abs(y_true - y_pred).mean(axis=-1)
        >>> m = MAE(name="mae")
        >>> m.update_state(np.array([[0.0], [1.0]]), np.array([[0.5], [1.0]]))
        >>> m.result()
        0.25
    """

    direction = "up"

    def __init__(self, name: str | None = None):
        self.name = name or "metric"
        self.reset_state()

    def reset_state(self) -> None:
        """Forget everything seen so far."""
        self.total = 0.0
        self.count = 0.0

    def values(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def update_state(self, y_true: Any, y_pred: Any) -> None:
        """Add a batch."""
        vals = np.asarray(self.values(np.asarray(y_true), np.asarray(y_pred)), dtype=np.float64)
        self.total += float(vals.sum())
        self.count += vals.size

    def result(self) -> float:
        """The running mean (0.0 before any update)."""
        return self.total / self.count if self.count else 0.0

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """Weighted mean of the values given to ``update_state(values, sample_weight)``.

    Example:
        >>> import minicnn as mc
        >>> m = mc.metrics.Mean()
        >>> m.update_state(1.0, sample_weight=3); m.update_state(3.0, sample_weight=1)
        >>> m.result()
        1.5
    """

    direction = "down"

    def __init__(self, name: str | None = None):
        super().__init__(name or "mean")

    def update_state(self, values: Any, sample_weight: float = 1.0) -> None:  # type: ignore[override]
        vals = np.asarray(values, dtype=np.float64)
        self.total += float(vals.sum()) * float(sample_weight)
        self.count += vals.size * float(sample_weight)


def _align(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        return y_true[..., None]
    return y_true


class BinaryAccuracy(Metric):
    """Fraction of ``(y_pred > threshold) == y_true``, averaged over the last axis per sample.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.BinaryAccuracy()
        >>> m.update_state([1, 0], np.array([[0.7], [0.2]])); m.result()
        1.0
    """

    def __init__(self, name: str | None = None, threshold: float = 0.5):
        self.threshold = float(threshold)
        super().__init__(name or "binary_accuracy")

    def values(self, y_true, y_pred):
        y_true = _align(y_true, y_pred)
        return (y_true == (y_pred > self.threshold)).mean(axis=-1)

    def get_config(self):
        return {"name": self.name, "threshold": self.threshold}


class CategoricalAccuracy(Metric):
    """Fraction of samples whose arg-max prediction matches the one-hot label's arg-max.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.CategoricalAccuracy()
        >>> m.update_state(np.eye(2), np.array([[0.9, 0.1], [0.8, 0.2]])); m.result()
        0.5
    """

    def __init__(self, name: str | None = None):
        super().__init__(name or "categorical_accuracy")

    def values(self, y_true, y_pred):
        return y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)


class SparseCategoricalAccuracy(Metric):
    """Fraction of samples whose arg-max prediction equals the integer label.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.SparseCategoricalAccuracy()
        >>> m.update_state([1, 0], np.array([[0.1, 0.9], [0.3, 0.7]])); m.result()
        0.5
    """

    def __init__(self, name: str | None = None):
        super().__init__(name or "sparse_categorical_accuracy")

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return y_true.astype(np.int64) == y_pred.argmax(axis=-1)


class Accuracy(Metric):
    """``"accuracy"`` as Keras 3 resolves it, from the shapes at the first update:
    binary accuracy when the output has one unit, sparse categorical when the labels have
    fewer axes (or one column against several units), categorical otherwise.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.Accuracy()
        >>> m.update_state([2, 0], np.array([[0, 0.1, 0.9], [0.3, 0.6, 0.1]])); m.result()
        0.5
    """

    def __init__(self, name: str | None = None):
        super().__init__(name or "accuracy")
        self.inner: Metric | None = None

    def values(self, y_true, y_pred):
        if self.inner is None:
            if y_pred.shape[-1] == 1:
                self.inner = BinaryAccuracy()
            elif y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
                self.inner = SparseCategoricalAccuracy()
            else:
                self.inner = CategoricalAccuracy()
        return self.inner.values(y_true, y_pred)


_BY_NAME: dict[str, type[Metric]] = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
}
_CLASSES = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier: Any) -> Metric:
    """Resolve a metric name ("accuracy", "acc", "binary_accuracy"...) or instance.

    Example:
        >>> import minicnn as mc
        >>> mc.metrics.get("acc").name
        'acc'
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()](name=identifier.lower())
    raise ValueError(
        f"Unknown metric. Expected a Metric instance or one of {sorted(_BY_NAME)}. "
        f"Received: metric={identifier!r}"
    )


def serialize(metric: Metric) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for saving.

    Example:
        >>> import minicnn as mc
        >>> mc.metrics.serialize(mc.metrics.BinaryAccuracy())
        {'class_name': 'BinaryAccuracy', 'config': {'name': 'binary_accuracy', 'threshold': 0.5}}
    """
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(spec: dict[str, Any]) -> Metric:
    """Inverse of ``serialize`` (only minicnn's own metrics).

    Example:
        >>> import minicnn as mc
        >>> mc.metrics.deserialize({"class_name": "BinaryAccuracy", "config": {"name": "acc"}})
        <BinaryAccuracy name='acc'>
    """
    cls = _CLASSES.get(spec.get("class_name", ""))
    if cls is None:
        raise ValueError(f"Unknown metric class. Received: {spec.get('class_name')!r}")
    return cls(**spec["config"])
