"""Weight initialisers with Keras's names and fan rules.

For a conv kernel of shape (KH, KW, Cin, Cout) Keras counts the receptive field in both fans:
fan_in = KH*KW*Cin, fan_out = KH*KW*Cout. A dense kernel (in, out) has fan_in=in, fan_out=out.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from minicnn.random import get_rng

Initializer = Callable[[tuple[int, ...], np.dtype], np.ndarray]


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's fan rule: the last two axes are (in, out), the rest is the receptive field."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype=np.float32):
    return np.zeros(shape, dtype=dtype)


def ones(shape, dtype=np.float32):
    return np.ones(shape, dtype=dtype)


def glorot_uniform(shape, dtype=np.float32):
    """U(-l, l) with l = sqrt(6 / (fan_in + fan_out)): Keras's default kernel initialiser."""
    fan_in, fan_out = compute_fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return get_rng().uniform(-limit, limit, size=shape).astype(dtype)


def _truncated_normal(shape, stddev, dtype):
    # Keras truncates at two standard deviations; 0.8796... restores the requested stddev.
    std = stddev / 0.87962566103423978
    out = get_rng().normal(0.0, std, size=shape)
    bad = np.abs(out) > 2 * std
    while bad.any():
        out[bad] = get_rng().normal(0.0, std, size=int(bad.sum()))
        bad = np.abs(out) > 2 * std
    return out.astype(dtype)


def glorot_normal(shape, dtype=np.float32):
    fan_in, fan_out = compute_fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / (fan_in + fan_out)), dtype)


def he_uniform(shape, dtype=np.float32):
    fan_in, _ = compute_fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return get_rng().uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, dtype=np.float32):
    fan_in, _ = compute_fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / fan_in), dtype)


def random_normal(shape, dtype=np.float32):
    return get_rng().normal(0.0, 0.05, size=shape).astype(dtype)


def random_uniform(shape, dtype=np.float32):
    return get_rng().uniform(-0.05, 0.05, size=shape).astype(dtype)


_REGISTRY: dict[str, Initializer] = {
    "zeros": zeros,
    "ones": ones,
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "random_normal": random_normal,
    "random_uniform": random_uniform,
}


def get(identifier: str | Initializer) -> Initializer:
    """Look an initialiser up by Keras name, or pass a callable ``(shape, dtype) -> array``."""
    if callable(identifier):
        return identifier
    key = str(identifier).lower()
    if key not in _REGISTRY:
        raise ValueError(
            f"Unknown initializer. Expected one of {sorted(_REGISTRY)}. Received: {identifier!r}"
        )
    return _REGISTRY[key]


def name_of(init: str | Initializer) -> str:
    """The registry name of an initialiser (for configs)."""
    if isinstance(init, str):
        return init.lower()
    for key, fn in _REGISTRY.items():
        if fn is init:
            return key
    raise ValueError(f"Cannot serialise a custom initializer. Received: {init!r}")
