"""Activation functions by Keras name: "relu", "sigmoid", "tanh", "softmax", "linear"."""

from __future__ import annotations

from collections.abc import Callable

from minicnn.tensor import Tensor

Activation = Callable[[Tensor], Tensor]


def tag_logits(y: Tensor, kind: str, logits: Tensor) -> Tensor:
    """Record on ``y`` that it is ``kind(logits)``, as Keras 3 does (``_keras_logits``).

    Keras's cross-entropies on TensorFlow then compute from the logits instead of the clipped
    probabilities (binary cross-entropy of a sigmoid output, categorical and sparse categorical
    cross-entropy of a softmax output), in eager and graph mode, ``fit`` and ``evaluate`` alike.
    minicnn's losses read this tag (``Loss.logits_of``) to do the same; it changes values only
    where probabilities saturate. See docs/keras-parity.md.

    Example:
        >>> import minicnn as mc
        >>> y = mc.activations.sigmoid(mc.Tensor([40.0]))
        >>> y.keras_logits[0], y.keras_logits[1].data
        ('sigmoid', array([40.], dtype=float32))
    """
    y.keras_logits = (kind, logits)
    return y


def linear(x: Tensor) -> Tensor:
    """The identity, Keras's "linear" (also what ``activation=None`` means).

    Example:
        >>> import minicnn as mc
        >>> mc.activations.linear(mc.Tensor([-1.0, 2.0]))
        Tensor([-1.,  2.])
    """
    return x


def relu(x: Tensor) -> Tensor:
    """``max(x, 0)`` elementwise.

    Example:
        >>> import minicnn as mc
        >>> mc.activations.relu(mc.Tensor([-1.0, 2.0]))
        Tensor([0., 2.])
    """
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))`` elementwise (computed stably for large ``|x|``).

    Example:
        >>> import minicnn as mc
        >>> mc.activations.sigmoid(mc.Tensor([0.0]))
        Tensor([0.5])
    """
    return tag_logits(x.sigmoid(), "sigmoid", x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent elementwise.

    Example:
        >>> import minicnn as mc
        >>> mc.activations.tanh(mc.Tensor([0.0]))
        Tensor([0.])
    """
    return x.tanh()


def softmax(x: Tensor) -> Tensor:
    """Softmax over the last axis: non-negative values that sum to 1 per sample.

    Shape: (N, ..., K) -> (N, ..., K)

    Example:
        >>> import minicnn as mc
        >>> mc.activations.softmax(mc.Tensor([[0.0, 0.0]]))
        Tensor([[0.5, 0.5]])
    """
    return tag_logits(x.softmax(axis=-1), "softmax", x)


_REGISTRY: dict[str, Activation] = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
}


def get(identifier: str | Activation | None) -> Activation:
    """Return the activation for a Keras name (None means "linear") or a callable as is.

    Args:
        identifier: "relu", "sigmoid", "tanh", "softmax", "linear", None, or a callable
            ``Tensor -> Tensor``.

    Raises:
        ValueError: an unknown name, listing the known ones.

    Example:
        >>> import minicnn as mc
        >>> mc.activations.get("ReLU") is mc.activations.relu
        True
    """
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    key = str(identifier).lower()
    if key not in _REGISTRY:
        raise ValueError(
            f"Unknown activation. Expected one of {sorted(_REGISTRY)}. Received: {identifier!r}"
        )
    return _REGISTRY[key]


def name_of(fn: Activation) -> str:
    """The Keras name of a registered activation (for configs and summaries).

    Example:
        >>> import minicnn as mc
        >>> mc.activations.name_of(mc.activations.get(None))
        'linear'
    """
    for key, value in _REGISTRY.items():
        if value is fn:
            return key
    raise ValueError(f"Cannot serialise a custom activation. Received: {fn!r}")
