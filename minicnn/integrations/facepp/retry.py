"""Capped exponential backoff with full jitter, injectable so tests never sleep."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays between attempts: attempt ``n`` (0-based) waits a uniform random time in
    ``[w/2, w]`` with ``w = min(cap, base * 2**n)`` ("equal jitter": spread out, never zero).

    Args:
        base: seconds of the first window.
        cap: the longest window in seconds.
        seed: seed for the jitter (``None``: unpredictable).

    Example:
        >>> b = Backoff(base=1.0, cap=4.0, seed=0)
        >>> [min(4.0, 2**n) / 2 <= b.delay(n) <= min(4.0, 2**n) for n in range(4)]
        [True, True, True, True]
    """

    base: float = 1.0
    cap: float = 8.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0:
            raise ValueError(
                f"base and cap must be >= 0. Received: base={self.base}, cap={self.cap}"
            )
        self._rng = random.Random(self.seed)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        window = min(self.cap, self.base * (2**attempt))
        return self._rng.uniform(window / 2, window)
