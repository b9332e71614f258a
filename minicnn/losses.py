"""Losses as fused autograd Functions: one graph node each, analytic backward, Keras's formulas.

Each loss computes a per-sample value (the mean or sum over the last axis, as Keras) and reduces
it over the batch with ``reduction="sum_over_batch_size"`` (the mean, Keras's default), ``"sum"``
or ``"none"``. Probabilities are clipped to ``[1e-7, 1 - 1e-7]`` exactly where Keras 3's
TensorFlow backend clips them; the gradient is zero where the clip is active, as
``tf.clip_by_value``'s.

Like Keras 3 on TensorFlow (``_get_logits``), the cross-entropies compute from the logits,
unclipped, when ``y_pred`` is the output of the matching activation: binary cross-entropy of a
``sigmoid``, (sparse) categorical cross-entropy of a ``softmax``. Keras tags those outputs with
``_keras_logits`` in eager and graph mode alike; minicnn's activations tag them with
``keras_logits`` (``activations.tag_logits``). Plain arrays (e.g. ``predict`` output) are
clipped. The values differ only where probabilities saturate. Unlike Keras, a tag of the other
activation (a softmax output given to binary cross-entropy) is ignored rather than misused.

Example:
    >>> import numpy as np, minicnn as mc
    >>> loss = mc.losses.BinaryCrossentropy()
    >>> round(float(loss(np.array([[1.0]]), np.array([[0.5]])).data), 4)
    0.6931
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minicnn.tensor import Function, Tensor, stable_sigmoid

EPSILON = 1e-7
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight")


def _weights_like(sample_weight: Any, per_sample: np.ndarray) -> np.ndarray:
    """Keras's squeeze_or_expand_to_same_rank of ``sample_weight`` against the losses (a
    ``(N, 1)`` weight against ``(N,)`` losses is used as ``(N,)``; the caller restores Keras's
    ``(N, 1)`` output shape for ``reduction="none"``)."""
    sw = np.asarray(sample_weight, dtype=per_sample.dtype)
    if sw.ndim == per_sample.ndim + 1 and sw.shape[-1] == 1:
        sw = sw[..., 0]
    while sw.ndim < per_sample.ndim:
        sw = sw[..., None]
    try:
        np.broadcast_shapes(sw.shape, per_sample.shape)
    except ValueError:
        raise ValueError(
            "`sample_weight` must have one weight per sample. Received: "
            f"sample_weight.shape={np.shape(sample_weight)} for losses of shape "
            f"{per_sample.shape}"
        ) from None
    return sw


def _match_rank(y_true: np.ndarray, y_pred: np.ndarray, who: str) -> np.ndarray:
    """Keras's squeeze_or_expand_to_same_rank, then a shape check naming both shapes."""
    given = y_true.shape
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{who}: `y_true` and `y_pred` must have the same shape. "
            f"Received: y_true.shape={given}, y_pred.shape={y_pred.shape}"
        )
    return y_true


class _LossFn(Function):
    """Shared reduction: subclasses return (per-sample loss, d(per-sample)/d(y_pred))."""

    def forward(self, y_pred, y_true, reduction="sum_over_batch_size", from_logits=False,
                sample_weight=None):
        per_sample, self.grad = self.compute(y_pred, y_true, from_logits)
        self.reduction, self.count = reduction, max(per_sample.size, 1)
        self.weights, self.expanded = None, False
        if sample_weight is not None:
            # Keras expands rank-1 losses to (N, 1) against (N, 1) weights
            self.expanded = per_sample.ndim == 1 and np.ndim(sample_weight) == 2
            # Keras: weighted losses, then the reduction ("sum_over_batch_size" still divides
            # by the number of losses, not by the sum of the weights)
            self.weights = _weights_like(sample_weight, per_sample)
            per_sample = per_sample * self.weights
            if reduction == "mean_with_sample_weight":
                total_weight = float(np.broadcast_to(self.weights, per_sample.shape).sum())
                self.count = total_weight if total_weight else np.inf  # divide_no_nan
        if reduction == "none":
            return per_sample[:, None] if self.expanded else per_sample
        total = per_sample.sum(dtype=y_pred.dtype)
        if reduction == "sum":
            return np.asarray(total, dtype=y_pred.dtype)
        return np.asarray(total / y_pred.dtype.type(self.count), dtype=y_pred.dtype)

    def backward(self, gy):
        if self.reduction == "none":
            scale = gy[:, 0] if self.expanded else gy
        elif self.reduction == "sum":
            scale = gy
        else:
            scale = gy / gy.dtype.type(self.count)
        if self.weights is not None:
            scale = scale * self.weights
        if np.ndim(scale):
            scale = scale[..., None]
        return self.grad * scale, None

    def compute(self, x, y, from_logits):
        raise NotImplementedError


class BinaryCrossentropyFn(_LossFn):
    """Binary cross-entropy as one autograd Function (clipped at 1e-7, as Keras).

    The fused graph node behind ``BinaryCrossentropy``: ``compute`` returns the per-sample loss
    and its gradient with respect to ``y_pred``. Use the ``BinaryCrossentropy`` class (or
    ``binary_crossentropy``); this is what it applies.

    Example:
        >>> from minicnn.losses import BinaryCrossentropyFn
        >>> from minicnn.tensor import Tensor
        >>> loss = BinaryCrossentropyFn.apply(Tensor([[0.5]]), Tensor([[1.0]]),
        ...                     reduction="sum_over_batch_size", from_logits=False)
        >>> loss.item()  # -log(0.5)
        0.693147...
    """
    def compute(self, x, y, from_logits):
        y = _match_rank(y, x, "binary_crossentropy").astype(x.dtype, copy=False)
        C = x.dtype.type(x.shape[-1])
        if from_logits:
            # TF's sigmoid_cross_entropy_with_logits: max(z, 0) - z*y + log(1 + exp(-|z|))
            loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
            return loss.mean(axis=-1, dtype=x.dtype), (stable_sigmoid(x) - y) / C
        eps = x.dtype.type(EPSILON)
        p = np.clip(x, eps, 1 - eps)
        loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        inside = (x >= eps) & (x <= 1 - eps)
        grad = np.where(inside, (1 - y) / (1 - p) - y / p, 0).astype(x.dtype, copy=False)
        return loss.mean(axis=-1, dtype=x.dtype), grad / C


class CategoricalCrossentropyFn(_LossFn):
    """Categorical cross-entropy over one-hot labels as one autograd Function.

    The fused graph node behind ``CategoricalCrossentropy``: ``compute`` returns the per-sample
    loss and its gradient with respect to ``y_pred``. Use the ``CategoricalCrossentropy`` class
    (or ``categorical_crossentropy``); this is what it applies.

    Example:
        >>> from minicnn.losses import CategoricalCrossentropyFn
        >>> from minicnn.tensor import Tensor
        >>> loss = CategoricalCrossentropyFn.apply(Tensor([[0.25, 0.75]]), Tensor([[0.0, 1.0]]),
        ...                     reduction="sum_over_batch_size", from_logits=False)
        >>> loss.item()  # -log(0.75)
        0.287682...
    """
    def compute(self, x, y, from_logits):
        y = _match_rank(y, x, "categorical_crossentropy").astype(x.dtype, copy=False)
        if from_logits:
            shifted = x - x.max(axis=-1, keepdims=True)
            e = np.exp(shifted)
            s = e.sum(axis=-1, keepdims=True)
            loss = -(y * (shifted - np.log(s))).sum(axis=-1)
            return loss, (e / s) * y.sum(axis=-1, keepdims=True) - y
        # Keras: normalise by the sum, clip, then -sum(y log p)
        s = x.sum(axis=-1, keepdims=True)
        q = x / s
        eps = x.dtype.type(EPSILON)
        p = np.clip(q, eps, 1 - eps)
        loss = -(y * np.log(p)).sum(axis=-1)
        gq = np.where((q >= eps) & (q <= 1 - eps), -y / p, 0).astype(x.dtype, copy=False)
        grad = (gq - (gq * q).sum(axis=-1, keepdims=True)) / s
        return loss, grad


class SparseCategoricalCrossentropyFn(_LossFn):
    """Cross-entropy with integer class labels as one autograd Function.

    The fused graph node behind ``SparseCategoricalCrossentropy``: ``compute`` returns the per-
    sample loss and its gradient with respect to ``y_pred``. Use the
    ``SparseCategoricalCrossentropy`` class (or ``sparse_categorical_crossentropy``); this is
    what it applies.

    Example:
        >>> from minicnn.losses import SparseCategoricalCrossentropyFn
        >>> from minicnn.tensor import Tensor
        >>> loss = SparseCategoricalCrossentropyFn.apply(Tensor([[0.25, 0.75]]), Tensor([1]),
        ...                     reduction="sum_over_batch_size", from_logits=False)
        >>> loss.item()  # -log(0.75)
        0.287682...
    """
    def compute(self, x, y, from_logits):
        labels = np.asarray(y)
        if labels.ndim == x.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if labels.shape != x.shape[:-1]:
            raise ValueError(
                "sparse_categorical_crossentropy: `y_true` must hold one class index per sample "
                f"(shape {x.shape[:-1]}). Received: y_true.shape={np.shape(y)}, "
                f"y_pred.shape={x.shape}"
            )
        idx = labels.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= x.shape[-1]):
            raise ValueError(
                f"sparse_categorical_crossentropy: labels must be in [0, {x.shape[-1] - 1}]. "
                f"Received: labels in [{idx.min()}, {idx.max()}]"
            )
        onehot = np.zeros_like(x)
        np.put_along_axis(onehot, idx[..., None], 1, axis=-1)
        if from_logits:
            shifted = x - x.max(axis=-1, keepdims=True)
            e = np.exp(shifted)
            s = e.sum(axis=-1, keepdims=True)
            picked = np.take_along_axis(shifted, idx[..., None], axis=-1)[..., 0]
            return np.log(s[..., 0]) - picked, e / s - onehot
        # Keras: clip, take logs, then softmax cross-entropy on those logs
        eps = x.dtype.type(EPSILON)
        p = np.clip(x, eps, 1 - eps)
        s = p.sum(axis=-1, keepdims=True)
        picked = np.take_along_axis(p, idx[..., None], axis=-1)[..., 0]
        loss = np.log(s[..., 0]) - np.log(picked)
        inside = (x >= eps) & (x <= 1 - eps)
        grad = np.where(inside, 1 / s - onehot / p, 0).astype(x.dtype, copy=False)
        return loss, grad


class MeanSquaredErrorFn(_LossFn):
    """Mean squared error as one autograd Function.

    The fused graph node behind ``MeanSquaredError``: ``compute`` returns the per-sample loss
    and its gradient with respect to ``y_pred``. Use the ``MeanSquaredError`` class (or
    ``mean_squared_error``); this is what it applies.

    Example:
        >>> from minicnn.losses import MeanSquaredErrorFn
        >>> from minicnn.tensor import Tensor
        >>> loss = MeanSquaredErrorFn.apply(Tensor([[1.0, 3.0]]), Tensor([[0.0, 0.0]]),
        ...                     reduction="sum_over_batch_size", from_logits=False)
        >>> loss.item()  # (1 + 9) / 2
        5.0
    """
    def compute(self, x, y, from_logits):
        y = _match_rank(y, x, "mean_squared_error").astype(x.dtype, copy=False)
        diff = x - y
        C = x.dtype.type(x.shape[-1])
        return (diff * diff).mean(axis=-1, dtype=x.dtype), 2 * diff / C


class Loss:
    """Base class: ``loss(y_true, y_pred)`` returns a scalar Tensor (or per-sample values).

    Args:
        name: the loss's name (Keras's snake-case default).
        reduction: "sum_over_batch_size" (mean over samples, the default), "sum" or "none".
        from_logits: whether ``y_pred`` holds logits instead of probabilities.

    Shape: y_true and y_pred (N, ..., K) -> a scalar, or (N, ...) with ``reduction="none"``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mse = mc.losses.MeanSquaredError(reduction="none")
        >>> mse(np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[1.0, 1.0], [1.0, 3.0]])).numpy()
        array([1., 2.])
    """

    fn: type[_LossFn]
    default_name = "loss"
    #: "sigmoid"/"softmax": compute from the logits of that activation's tagged output, as
    #: Keras on TensorFlow does (see ``activations.tag_logits``); None: never.
    logits_of: str | None = None

    def __init__(self, name: str | None = None, reduction: str = "sum_over_batch_size",
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 dtype: Any = None):
        who = type(self).__name__
        if reduction is None:
            reduction = "none"
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{who}: `reduction` must be one of {_REDUCTIONS}. "
                f"Received: reduction={reduction!r}"
            )
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
                or not 0 <= label_smoothing <= 1:
            raise ValueError(f"{who}: `label_smoothing` must be a number in [0, 1]. "
                             f"Received: label_smoothing={label_smoothing!r}")
        if axis != -1:
            raise ValueError(f"{who}: minicnn's losses reduce over the last axis only. "
                             f"Received: axis={axis!r}")
        if dtype not in (None, "float32"):
            raise ValueError(f"{who}: minicnn computes losses in the predictions' dtype; "
                             f"`dtype` must be None or 'float32'. Received: dtype={dtype!r}")
        self.name = name or self.default_name
        self.reduction = reduction
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def _smooth(self, y_true: np.ndarray, y_pred: Tensor) -> np.ndarray:
        """Label smoothing of ``y_true`` (identity for losses without it)."""
        return y_true

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The loss of ``y_pred`` against ``y_true``; ``sample_weight`` (one weight per sample)
        multiplies the per-sample losses before the reduction, as Keras."""
        if not isinstance(y_pred, Tensor):
            y_pred = Tensor(y_pred)
        y_true = y_true.data if isinstance(y_true, Tensor) else np.asarray(y_true)
        if self.label_smoothing:
            y_true = self._smooth(y_true.astype(y_pred.dtype), y_pred)
        if sample_weight is not None:
            sample_weight = (sample_weight.data if isinstance(sample_weight, Tensor)
                             else np.asarray(sample_weight))
        from_logits = self.from_logits
        tag = getattr(y_pred, "keras_logits", None)
        if not from_logits and tag is not None and tag[0] == self.logits_of:
            y_pred, from_logits = tag[1], True  # Keras's _get_logits: exact, unclipped
        return self.fn.apply(y_pred, Tensor(y_true, dtype=y_true.dtype
                                            if y_true.dtype.kind in "iub" else y_pred.dtype),
                             reduction=self.reduction, from_logits=from_logits,
                             sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-friendly."""
        return {"name": self.name, "reduction": self.reduction, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """Rebuild a loss from ``get_config()``'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} from_logits={self.from_logits}>"


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, mean over the last axis: ``-(y log p + (1-y) log(1-p))``.

    Probabilities are clipped to [1e-7, 1 - 1e-7]; with ``from_logits=True`` the stable
    ``max(z, 0) - z*y + log(1 + exp(-|z|))`` is used. ``(N,)`` labels fit an ``(N, 1)`` output.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> bce = mc.losses.BinaryCrossentropy(from_logits=True)
        >>> round(float(bce(np.array([1.0, 0.0]), np.array([[0.0], [0.0]])).data), 4)
        0.6931
    """

    fn = BinaryCrossentropyFn
    logits_of = "sigmoid"
    default_name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str = "binary_crossentropy",
                 dtype: Any = None):
        super().__init__(name=name, reduction=reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis, dtype=dtype)

    def _smooth(self, y_true, y_pred):
        # Keras: squeeze the labels toward 0.5
        ls = y_true.dtype.type(self.label_smoothing)
        return y_true * (1 - ls) + ls * y_true.dtype.type(0.5)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(Loss):
    """Cross-entropy with one-hot labels: ``-sum(y log p)`` over the last axis.

    Probabilities are normalised by their sum and clipped to [1e-7, 1 - 1e-7], as Keras;
    ``from_logits=True`` applies a log-softmax instead.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> cce = mc.losses.CategoricalCrossentropy()
        >>> round(float(cce(np.array([[0, 1.0]]), np.array([[0.5, 0.5]])).data), 4)
        0.6931
    """

    fn = CategoricalCrossentropyFn
    logits_of = "softmax"
    default_name = "categorical_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = "sum_over_batch_size", name: str = "categorical_crossentropy",
                 dtype: Any = None):
        super().__init__(name=name, reduction=reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis, dtype=dtype)

    def _smooth(self, y_true, y_pred):
        # Keras: mix the one-hot labels with the uniform distribution over the classes
        ls = y_true.dtype.type(self.label_smoothing)
        return y_true * (1 - ls) + ls / y_true.dtype.type(y_pred.shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy with integer class labels (shape ``(N,)`` or ``(N, 1)``).

    Without logits Keras clips the probabilities to [1e-7, 1 - 1e-7] and takes a softmax
    cross-entropy of their logs, which renormalises them: ``log(sum p) - log(p[y])``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> scce = mc.losses.SparseCategoricalCrossentropy()
        >>> round(float(scce(np.array([1]), np.array([[0.5, 0.5]])).data), 4)
        0.6931
    """

    fn = SparseCategoricalCrossentropyFn
    logits_of = "softmax"
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None):
        if ignore_class is not None:
            raise ValueError("SparseCategoricalCrossentropy: minicnn does not support "
                             f"`ignore_class`. Received: ignore_class={ignore_class!r}")
        super().__init__(name=name, reduction=reduction, from_logits=from_logits, axis=axis,
                         dtype=dtype)


class MeanSquaredError(Loss):
    """Mean of ``(y_true - y_pred) ** 2`` over the last axis, then over the batch.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> float(mc.losses.MeanSquaredError()(np.array([[1.0, 2.0]]), np.zeros((1, 2))).data)
        2.5
    """

    fn = MeanSquaredErrorFn
    default_name = "mean_squared_error"

    def __init__(self, reduction: str = "sum_over_batch_size",
                 name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}


def _per_sample(cls: type[Loss], y_true: Any, y_pred: Any, **kwargs: Any) -> Tensor:
    return cls(reduction="none", **kwargs)(y_true, y_pred)


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Per-sample binary cross-entropy (no batch reduction), as ``keras.losses``'s function.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.losses.binary_crossentropy(np.ones((2, 1)), np.full((2, 1), 0.5)).shape
        (2,)
    """
    return _per_sample(BinaryCrossentropy, y_true, y_pred, from_logits=from_logits,
                       label_smoothing=label_smoothing, axis=axis)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> Tensor:
    """Per-sample categorical cross-entropy.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.losses.categorical_crossentropy(np.eye(2), np.full((2, 2), 0.5)).shape
        (2,)
    """
    return _per_sample(CategoricalCrossentropy, y_true, y_pred, from_logits=from_logits,
                       label_smoothing=label_smoothing, axis=axis)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> Tensor:
    """Per-sample sparse categorical cross-entropy.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.losses.sparse_categorical_crossentropy([0, 1], np.full((2, 2), 0.5)).shape
        (2,)
    """
    return _per_sample(SparseCategoricalCrossentropy, y_true, y_pred, from_logits=from_logits,
                       ignore_class=ignore_class, axis=axis)


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """Per-sample mean squared error.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.losses.mean_squared_error(np.zeros((3, 2)), np.ones((3, 2))).data
        array([1., 1., 1.])
    """
    return _per_sample(MeanSquaredError, y_true, y_pred)


mse = mean_squared_error

_BY_NAME: dict[str, type[Loss]] = {
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}
_CLASSES = {cls.__name__: cls for cls in set(_BY_NAME.values())}


def get(identifier: Any) -> Loss:
    """Resolve a Keras loss name, a ``Loss`` instance or a ``Loss`` class to a ``Loss``.

    Example:
        >>> import minicnn as mc
        >>> mc.losses.get("mse")
        <MeanSquaredError from_logits=False>
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        loss = _BY_NAME[identifier.lower()]()
        loss.name = identifier.lower() if identifier.lower() != "mse" else loss.name
        return loss
    if isinstance(identifier, str) and identifier in _CLASSES:  # Keras takes class names too
        return _CLASSES[identifier]()
    raise ValueError(
        f"Unknown loss. Expected a Loss instance or one of {sorted(_BY_NAME)}. "
        f"Received: loss={identifier!r}"
    )


def serialize(loss: Loss) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for saving.

    Example:
        >>> import minicnn as mc
        >>> mc.losses.serialize(mc.losses.get("binary_crossentropy"))["class_name"]
        'BinaryCrossentropy'
    """
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(spec: dict[str, Any]) -> Loss:
    """Inverse of ``serialize`` (only minicnn's own loss classes).

    Example:
        >>> import minicnn as mc
        >>> spec = mc.losses.serialize(mc.losses.BinaryCrossentropy(from_logits=True))
        >>> mc.losses.deserialize(spec)
        <BinaryCrossentropy from_logits=True>
    """
    cls = _CLASSES.get(spec.get("class_name", ""))
    if cls is None:
        raise ValueError(f"Unknown loss class. Received: {spec.get('class_name')!r}")
    return cls.from_config(spec["config"])
