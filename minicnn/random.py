"""The one source of randomness: initialisers, shuffling and dropout all draw from here.

``set_seed(n)`` makes a run reproducible; without it the generator is seeded from the OS.
"""

from __future__ import annotations

import numpy as np

_rng = np.random.default_rng()


def set_seed(seed: int) -> None:
    """Reseed minicnn's global generator (initialisation, shuffling, dropout).

    Example:
        >>> import minicnn as mc
        >>> mc.set_seed(42)
    """
    global _rng
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"set_seed() expects an integer seed. Received: seed={seed!r}")
    _rng = np.random.default_rng(int(seed))


def get_rng() -> np.random.Generator:
    """The generator every random choice in minicnn uses (replaced by ``set_seed``).

    Example:
        >>> import minicnn as mc
        >>> from minicnn.random import get_rng
        >>> mc.set_seed(3); a = get_rng().random()
        >>> mc.set_seed(3); a == get_rng().random()
        True
    """
    return _rng


def make_rng(seed: int | None) -> np.random.Generator:
    """A private generator for ``seed``, or the global one when ``seed`` is None.

    Example:
        >>> from minicnn.random import get_rng, make_rng
        >>> make_rng(None) is get_rng(), make_rng(5).random() == make_rng(5).random()
        (True, True)
    """
    return _rng if seed is None else np.random.default_rng(seed)
