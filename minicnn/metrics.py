"""Running metrics for ``fit``/``evaluate``: accuracy variants, top-k accuracy, precision,
recall, AUC, regression errors and a weighted Mean, with Keras 3's names and defaults.

The mean metrics keep a (weighted) sum and count, so ``result()`` is the mean over every
sample seen since ``reset_state()`` (batches weighted by their size, as Keras). Precision,
Recall and AUC accumulate confusion-matrix counts over thresholds, as Keras's do.

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

from minicnn.layers.base import unique_name

EPSILON = 1e-7  # keras.config.epsilon(), AUC's outer thresholds


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

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch; ``sample_weight`` (one per sample) gives a weighted mean, as Keras."""
        vals = np.asarray(self.values(np.asarray(y_true), np.asarray(y_pred)), dtype=np.float64)
        if sample_weight is None:
            self.total += float(vals.sum())
            self.count += vals.size
            return
        w = _weights_for(sample_weight, vals)
        self.total += float((vals * w).sum())
        self.count += float(np.broadcast_to(w, vals.shape).sum())

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

    def update_state(  # type: ignore[override]
            self, values: Any, sample_weight: Any = None) -> None:
        vals = np.asarray(values, dtype=np.float64)
        w = np.ones_like(vals) if sample_weight is None else _weights_for(sample_weight, vals)
        self.total += float((vals * w).sum())
        self.count += float(np.broadcast_to(w, vals.shape).sum())


def _weights_for(sample_weight: Any, values: np.ndarray) -> np.ndarray:
    """Sample weights shaped to broadcast against per-sample ``values`` (Keras's rank rules)."""
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == values.ndim + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    while w.ndim < values.ndim:
        w = w[..., None]
    return w


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


def _in_top_k(target: np.ndarray, y_pred: np.ndarray, k: int) -> np.ndarray:
    """tf.math.in_top_k: the target's score has fewer than ``k`` scores strictly above it
    (so ties straddling the boundary all count as in the top k); non-finite scores never do."""
    picked = np.take_along_axis(y_pred, target[..., None].astype(np.int64), axis=-1)
    above = (y_pred > picked).sum(axis=-1)
    return (above < k) & np.isfinite(picked[..., 0])


class TopKCategoricalAccuracy(Metric):
    """How often the one-hot label's class is among the ``k`` highest predictions.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.TopKCategoricalAccuracy(k=2)
        >>> m.update_state(np.eye(3)[[2, 0]], np.array([[0.5, 0.1, 0.4], [0.1, 0.5, 0.4]]))
        >>> m.result()
        0.5
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        self.k = _positive_int(k, "k", type(self).__name__)
        super().__init__(name)

    def values(self, y_true, y_pred):
        return _in_top_k(y_true.argmax(axis=-1), y_pred, self.k)

    def get_config(self):
        return {"name": self.name, "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    """How often the integer label is among the ``k`` highest predictions.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.SparseTopKCategoricalAccuracy(k=1)
        >>> m.update_state([0, 1], np.array([[0.6, 0.4], [0.7, 0.3]])); m.result()
        0.5
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None):
        super().__init__(k, name)

    def values(self, y_true, y_pred):
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return _in_top_k(y_true, y_pred, self.k)


def _positive_int(value: Any, arg: str, who: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: `{arg}` must be a positive int. Received: {arg}={value!r}")
    return int(value)


class MeanSquaredError(Metric):
    """Mean of ``(y_true - y_pred) ** 2`` (per sample over the last axis, then over samples).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.MeanSquaredError()
        >>> m.update_state(np.zeros((2, 2)), np.array([[1.0, 1.0], [0.0, 2.0]])); m.result()
        1.5
    """

    direction = "down"

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(name)

    def values(self, y_true, y_pred):
        return ((_align(y_true, y_pred) - y_pred) ** 2).mean(axis=-1)


class MeanAbsoluteError(Metric):
    """Mean of ``|y_true - y_pred|`` (per sample over the last axis, then over samples).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.MeanAbsoluteError()
        >>> m.update_state(np.zeros((2, 1)), np.array([[1.0], [-3.0]])); m.result()
        2.0
    """

    direction = "down"

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(name)

    def values(self, y_true, y_pred):
        return np.abs(_align(y_true, y_pred) - y_pred).mean(axis=-1)


class _ConfusionMetric(Metric):
    """Accumulated true/false positives and negatives at one decision threshold, as Keras's
    ``Precision``/``Recall``: a prediction is positive when ``y_pred > threshold``; with
    ``top_k`` only the k highest predictions of a sample can be positive; with ``class_id``
    only that column counts. Sample weights weight the counts."""

    def __init__(self, thresholds: float | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None, dtype: Any = None):
        who = type(self).__name__
        if thresholds is None:
            thresholds = 0.5 if top_k is None else -np.inf  # Keras: top_k alone, no threshold
        if isinstance(thresholds, bool) or not isinstance(thresholds, (int, float)):
            raise ValueError(f"{who}: minicnn supports one threshold (a number). "
                             f"Received: thresholds={thresholds!r}")
        if np.isfinite(thresholds) and not 0 <= thresholds <= 1:
            raise ValueError(f"{who}: threshold values must be in [0, 1]. "
                             f"Received: thresholds={thresholds!r}")
        self.thresholds = float(thresholds)
        self.top_k = None if top_k is None else _positive_int(top_k, "top_k", who)
        self.class_id = class_id
        super().__init__(name or unique_name(_snake(who)))

    def reset_state(self) -> None:
        self.tp = self.fp = self.fn = self.tn = 0.0

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = np.asarray(y_pred, dtype=np.float64)
        y_true = _align(np.asarray(y_true), y_pred).astype(bool)
        y_true = np.broadcast_to(y_true, y_pred.shape)
        w = np.ones(y_pred.shape) if sample_weight is None else \
            np.broadcast_to(_weights_for(sample_weight, y_pred[..., 0])[..., None], y_pred.shape)
        if self.top_k is not None:
            kth = -np.sort(-y_pred, axis=-1)[..., self.top_k - 1: self.top_k]
            y_pred = np.where(y_pred >= kth, y_pred, -np.inf)
        if self.class_id is not None:
            y_true, y_pred, w = (a[..., self.class_id] for a in (y_true, y_pred, w))
        pos = y_pred > self.thresholds
        self.tp += float((w * (pos & y_true)).sum())
        self.fp += float((w * (pos & ~y_true)).sum())
        self.fn += float((w * (~pos & y_true)).sum())
        self.tn += float((w * (~pos & ~y_true)).sum())

    def get_config(self):
        return {"name": self.name, "thresholds": self.thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


def _snake(name: str) -> str:
    from minicnn.layers.base import to_snake_case

    return to_snake_case(name)


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0  # Keras's divide_no_nan


class Precision(_ConfusionMetric):
    """``tp / (tp + fp)`` at ``thresholds`` (default 0.5), accumulated over batches.

    Args:
        thresholds: a prediction is positive when above it.
        top_k: only the k highest predictions of a sample may be positive.
        class_id: compute for this column only.
        name: log key (``precision``, then ``precision_1``... as Keras auto-names).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.Precision(name="precision")
        >>> m.update_state([1, 0, 1], np.array([[0.9], [0.8], [0.2]])); m.result()
        0.5
    """

    def result(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)


class Recall(_ConfusionMetric):
    """``tp / (tp + fn)`` at ``thresholds`` (default 0.5), accumulated over batches.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.Recall(name="recall")
        >>> m.update_state([1, 0, 1], np.array([[0.9], [0.8], [0.2]])); m.result()
        0.5
    """

    def result(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)


class AUC(Metric):
    """Area under the ROC (or precision-recall) curve from confusion counts at
    ``num_thresholds`` evenly spaced thresholds, exactly as Keras 3 computes it.

    Thresholds are ``-1e-7, 1/(n-1), ..., (n-2)/(n-1), 1 + 1e-7``; predictions are clipped to
    [0, 1] and bucketed as Keras buckets them (``ceil(p * (n - 1)) - 1`` in float32); the area
    is a Riemann sum with ``summation_method`` "interpolation" (trapezoids; for PR, Keras's
    closed-form interpolation of precision), "minoring" or "majoring".

    Args:
        num_thresholds: number of thresholds (> 1); 200 as Keras.
        curve: "ROC" or "PR".
        summation_method: "interpolation", "minoring" or "majoring".
        name: log key (``auc``, ``auc_1``... as Keras auto-names).
        from_logits: apply a sigmoid to ``y_pred`` first.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> m = mc.metrics.AUC(name="auc")
        >>> m.update_state([0, 0, 1, 1], np.array([0.1, 0.4, 0.35, 0.8]))
        >>> round(m.result(), 4)
        0.75
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False):
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) \
                or num_thresholds <= 1:
            raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                             f"Received: num_thresholds={num_thresholds!r}")
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             "['ROC', 'PR'] (minicnn has no 'PRGAIN').")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             "Expected values are ['interpolation', 'majoring', 'minoring']")
        unsupported = {k: v for k, v in (("thresholds", thresholds),
                                          ("multi_label", multi_label),
                                          ("num_labels", num_labels),
                                          ("label_weights", label_weights)) if v}
        if unsupported:
            raise ValueError(f"AUC: minicnn does not support these arguments. "
                             f"Received: {unsupported}")
        self.num_thresholds = num_thresholds
        self.curve = str(curve).upper()
        self.summation_method = summation_method
        self.from_logits = bool(from_logits)
        super().__init__(name or unique_name("auc"))

    def reset_state(self) -> None:
        n = self.num_thresholds
        self.tp, self.fp = np.zeros(n), np.zeros(n)
        self.total_true = self.total_false = 0.0

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = np.asarray(y_pred, dtype=np.float32)
        if self.from_logits:
            y_pred = (1 / (1 + np.exp(-y_pred.astype(np.float64)))).astype(np.float32)
        y_true = np.broadcast_to(_align(np.asarray(y_true), y_pred), y_pred.shape)
        w = np.ones(y_pred.shape) if sample_weight is None else np.broadcast_to(
            _weights_for(sample_weight, y_pred[..., 0])[..., None], y_pred.shape)
        p = np.clip(y_pred, 0, 1).ravel()
        t = y_true.astype(bool).ravel()
        w = w.ravel()
        n = self.num_thresholds
        # bucket b holds predictions above thresholds 0..b (Keras, float32 arithmetic)
        bucket = np.maximum(np.ceil(p * np.float32(n - 1)) - 1, 0).astype(np.int64)
        tp_bucket = np.bincount(bucket, weights=w * t, minlength=n)
        fp_bucket = np.bincount(bucket, weights=w * ~t, minlength=n)
        self.tp += np.cumsum(tp_bucket[::-1])[::-1]
        self.fp += np.cumsum(fp_bucket[::-1])[::-1]
        self.total_true += float((w * t).sum())
        self.total_false += float((w * ~t).sum())

    def _div(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.divide(a, b, out=np.zeros_like(a), where=b != 0)

    def result(self) -> float:
        tp, fp = self.tp, self.fp
        fn, tn = self.total_true - tp, self.total_false - fp
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr(tp, fp, fn)
        recall = self._div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = self._div(fp, fp + tn), recall
        else:
            x, y = recall, self._div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(((x[:-1] - x[1:]) * heights).sum())

    def _interpolate_pr(self, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> float:
        # Keras's closed form (Davis & Goadrich): precision interpolated linearly in the
        # predicted positives P = tp + fp between successive thresholds
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = self._div(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, self._div(p[:-1], np.maximum(p[1:], 0)), 1.0)
        increment = self._div(slope * (dtp + intercept * np.log(ratio)),
                              np.maximum(tp[1:] + fn[1:], 0))
        return float(increment.sum())

    def get_config(self):
        return {"name": self.name, "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "from_logits": self.from_logits}


_BY_NAME: dict[str, type[Metric]] = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "precision": Precision,
    "recall": Recall,
    "auc": AUC,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
}
_CLASSES = {cls.__name__: cls for cls in _BY_NAME.values()}
_CLASSES["Mean"] = Mean


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
        return _BY_NAME[identifier.lower()](name=identifier)  # Keras: the log key as written
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier](name=identifier)
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
