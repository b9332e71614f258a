"""A minimal progress bar on stderr for building the decode cache.

On a terminal the bar redraws in place (at most ten times a second); elsewhere (CI logs, pipes)
only one summary line is printed at the end, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Count finished items and show ``label [=====>    ] done/total  rate img/s``.

    Args:
        total: number of items expected.
        label: text in front of the bar.
        stream: where to write; default ``sys.stderr``.
        enabled: False turns every method into a no-op.

    Example:
        >>> bar = Progress(3, "Caching", enabled=False)
        >>> for _ in range(3):
        ...     bar.update()
        >>> bar.close()
    """

    def __init__(
        self, total: int, label: str, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.done = 0
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, n: int = 1) -> None:
        """Record `n` more finished items and redraw if on a terminal."""
        self.done += n
        now = time.perf_counter()
        if self.enabled and self._tty and (now - self._last_draw > 0.1 or self.done >= self.total):
            self._last_draw = now
            self._draw(now, end="")

    def close(self) -> None:
        """Print the final state followed by a newline."""
        if self.enabled:
            self._draw(time.perf_counter(), end="\n")

    def _draw(self, now: float, end: str) -> None:
        width = 30
        frac = self.done / self.total if self.total else 1.0
        filled = int(width * frac)
        bar = "=" * filled + (">" if filled < width else "") + " " * (width - filled - 1)
        rate = self.done / max(now - self.start, 1e-9)
        prefix = "\r" if self._tty else ""
        self.stream.write(
            f"{prefix}{self.label} [{bar[:width]}] {self.done}/{self.total}  {rate:.0f} img/s{end}"
        )
        self.stream.flush()
