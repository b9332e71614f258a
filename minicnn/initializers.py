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
    """Keras's fan rule: the last two axes are (in, out), the rest is the receptive field.

    Args:
        shape: a weight shape: (in, out) for Dense, (KH, KW, Cin, Cout) for Conv2D.

    Returns:
        ``(fan_in, fan_out)``.

    Example:
        >>> from minicnn.initializers import compute_fans
        >>> compute_fans((3, 3, 16, 32))    # 3*3*16, 3*3*32
        (144, 288)
    """
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def zeros(shape, dtype=np.float32):
    """All zeros (the default bias initialiser).

    Example:
        >>> from minicnn.initializers import zeros
        >>> zeros((2,))
        array([0., 0.], dtype=float32)
    """
    return np.zeros(shape, dtype=dtype)


def ones(shape, dtype=np.float32):
    """All ones.

    Example:
        >>> from minicnn.initializers import ones
        >>> ones((2,))
        array([1., 1.], dtype=float32)
    """
    return np.ones(shape, dtype=dtype)


def glorot_uniform(shape, dtype=np.float32):
    """U(-l, l) with l = sqrt(6 / (fan_in + fan_out)): Keras's default kernel initialiser.

    Args:
        shape: the weight's shape (fans from `compute_fans`).
        dtype: the array's dtype.

    Draws from minicnn's seeded generator (``minicnn.set_seed``).

    Example:
        >>> import minicnn as mc
        >>> from minicnn.initializers import glorot_uniform
        >>> mc.set_seed(0)
        >>> w = glorot_uniform((3, 3, 1, 8))     # l = sqrt(6 / (9 + 72)) = 0.272...
        >>> w.shape, bool(abs(w).max() <= (6 / 81) ** 0.5)
        ((3, 3, 1, 8), True)
    """
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
    """Truncated normal (at 2 standard deviations) with stddev sqrt(2 / (fan_in + fan_out)).

    Example:
        >>> from minicnn.initializers import glorot_normal
        >>> glorot_normal((4, 2)).shape
        (4, 2)
    """
    fan_in, fan_out = compute_fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / (fan_in + fan_out)), dtype)


def he_uniform(shape, dtype=np.float32):
    """U(-l, l) with l = sqrt(6 / fan_in), for ReLU networks.

    Example:
        >>> from minicnn.initializers import he_uniform
        >>> bool(abs(he_uniform((6, 3))).max() <= 1.0)      # l = sqrt(6 / 6)
        True
    """
    fan_in, _ = compute_fans(shape)
    limit = math.sqrt(6.0 / fan_in)
    return get_rng().uniform(-limit, limit, size=shape).astype(dtype)


def he_normal(shape, dtype=np.float32):
    """Truncated normal (at 2 standard deviations) with stddev sqrt(2 / fan_in).

    Example:
        >>> from minicnn.initializers import he_normal
        >>> he_normal((3, 3, 2, 4)).dtype
        dtype('float32')
    """
    fan_in, _ = compute_fans(shape)
    return _truncated_normal(shape, math.sqrt(2.0 / fan_in), dtype)


def random_normal(shape, dtype=np.float32):
    """Normal with mean 0 and stddev 0.05 (Keras's ``RandomNormal()`` defaults).

    Example:
        >>> from minicnn.initializers import random_normal
        >>> random_normal((2, 2)).shape
        (2, 2)
    """
    return get_rng().normal(0.0, 0.05, size=shape).astype(dtype)


def random_uniform(shape, dtype=np.float32):
    """U(-0.05, 0.05) (Keras's ``RandomUniform()`` defaults).

    Example:
        >>> from minicnn.initializers import random_uniform
        >>> bool(abs(random_uniform((100,))).max() <= 0.05)
        True
    """
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
    """Look an initialiser up by Keras name, or pass a callable ``(shape, dtype) -> array``.

    Raises:
        ValueError: an unknown name, listing the known ones.

    Example:
        >>> from minicnn import initializers
        >>> initializers.get("he_normal") is initializers.he_normal
        True
    """
    if callable(identifier):
        return identifier
    key = str(identifier).lower()
    if key not in _REGISTRY:
        raise ValueError(
            f"Unknown initializer. Expected one of {sorted(_REGISTRY)}. Received: {identifier!r}"
        )
    return _REGISTRY[key]


def name_of(init: str | Initializer) -> str:
    """The registry name of an initialiser (for configs).

    Example:
        >>> from minicnn import initializers
        >>> initializers.name_of(initializers.zeros)
        'zeros'
    """
    if isinstance(init, str):
        return init.lower()
    for key, fn in _REGISTRY.items():
        if fn is init:
            return key
    raise ValueError(f"Cannot serialise a custom initializer. Received: {init!r}")
