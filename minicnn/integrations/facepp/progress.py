"""A minimal progress bar on stderr for the CLI's many-image runs."""

from __future__ import annotations

from typing import TextIO

MANY = 10  # at least this many images shows progress even when stderr is not a terminal


class Progress:
    """``[#####-----] 5/10 name`` redrawn in place on a TTY, one line per step otherwise.

    Shown when ``stream`` is a TTY or ``total >= MANY``; silent otherwise.

    Example:
        >>> import io
        >>> p = Progress(10, io.StringIO()); p.step("a.jpg"); p.stream.getvalue()
        '[###-------------------------] 1/10 a.jpg\\n'
    """

    def __init__(self, total: int, stream: TextIO, width: int = 28) -> None:
        self.total, self.stream, self.width, self.done = total, stream, width, 0
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.enabled = self.tty or total >= MANY

    def step(self, name: str = "") -> None:
        """Mark one more item done."""
        self.done += 1
        if not self.enabled:
            return
        filled = round(self.width * self.done / self.total)
        bar = f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total} {name}"
        if self.tty:
            end = "\n" if self.done == self.total else ""
            self.stream.write(f"\r\x1b[K{bar}{end}")
        else:
            self.stream.write(bar + "\n")
        self.stream.flush()
