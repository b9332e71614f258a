"""Activation functions by Keras name: "relu", "sigmoid", "tanh", "softmax", "linear"."""

from __future__ import annotations

from collections.abc import Callable

from minicnn.tensor import Tensor

Activation = Callable[[Tensor], Tensor]


def linear(x: Tensor) -> Tensor:
    return x


def relu(x: Tensor) -> Tensor:
    return x.relu()


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def softmax(x: Tensor) -> Tensor:
    return x.softmax(axis=-1)


_REGISTRY: dict[str, Activation] = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
}


def get(identifier: str | Activation | None) -> Activation:
    """Return the activation for a Keras name (None means "linear") or a callable as is."""
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
    """The Keras name of a registered activation (for configs and summaries)."""
    for key, value in _REGISTRY.items():
        if value is fn:
            return key
    raise ValueError(f"Cannot serialise a custom activation. Received: {fn!r}")
