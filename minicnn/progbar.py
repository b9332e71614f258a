"""Keras 3's progress output: the live bar on a terminal, one line per epoch otherwise.

Formats follow ``keras.utils.Progbar``: ``12/250 ━━━━━━━━━━━━━━━━━━━━ 3s 164ms/step - loss: ...``
(bold counter, green/grey bar, ETA, time per step) and, for ``verbose=2``,
``250/250 - 41s - 164ms/step - loss: ...``. Values print as ``.4f``, or ``.4e`` when small.
One deliberate difference: Keras 3 draws the ``\\r`` bar even when stdout is not a terminal;
minicnn then prints the ``verbose=2`` line instead, which reads well in log files.

The clock and the stream are injectable so tests can pin the output exactly.

Example:
    >>> import io, minicnn as mc
    >>> out = io.StringIO()
    >>> bar = mc.progbar.Progbar(2, verbose=2, stream=out, clock=iter([0.0, 0.5]).__next__)
    >>> bar.update(2, [("loss", 0.25)], finalize=True)
    >>> out.getvalue()
    '2/2 - 0s - 250ms/step - loss: 0.2500\\n'
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

BOLD, END, GREEN, GREY = "\x1b[1m", "\x1b[0m", "\33[32m", "\33[37m"


def format_time_per_unit(seconds: float, unit: str = "step") -> str:
    """`` 164ms/step``: seconds, milliseconds or microseconds, as Keras.

    Args:
        seconds: the time per unit.  unit: the unit's name.

    Example:
        >>> from minicnn.progbar import format_time_per_unit
        >>> format_time_per_unit(0.164), format_time_per_unit(2e-5, "sample")
        (' 164ms/step', ' 20us/sample')
    """
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


def format_value(value: float, signed: bool = True) -> str:
    """``.4f``, or ``.4e`` for small values (Keras tests ``abs(v)`` on the bar, ``v`` in
    the verbose=2 line; ``signed=False`` reproduces the latter).

    Example:
        >>> from minicnn.progbar import format_value
        >>> format_value(0.25), format_value(-0.5), format_value(-0.5, signed=False)
        ('0.2500', '-0.5000', '-5.0000e-01')
    """
    big = abs(value) > 1e-3 if signed else value > 1e-3
    return f"{value:.4f}" if big else f"{value:.4e}"


def is_tty(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal (where the live bar is drawn).

    Example:
        >>> import io
        >>> from minicnn.progbar import is_tty
        >>> is_tty(io.StringIO())
        False
    """
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


class Progbar:
    """A Keras-style progress bar.

    Args:
        target: total number of steps, or None when unknown (``  7/Unknown``).
        width: bar width in characters.
        verbose: 1 (live bar, or one line per epoch off a terminal) or 2 (one line).
        interval: minimum seconds between redraws of the live bar.
        stream: where to write (default ``sys.stdout``, looked up at creation).
        clock: a function returning seconds (default ``time.time``).
        dynamic: force the live bar on/off (default: whether ``stream`` is a TTY).
        unit_name: the unit in the time-per-unit field ("step").

    Example:
        >>> import io
        >>> from minicnn.progbar import Progbar
        >>> out = io.StringIO()
        >>> Progbar(3, verbose=2, stream=out, clock=iter([0.0, 3.0]).__next__).update(3)
        >>> out.getvalue()
        '3/3 - 3s - 1s/step\\n'
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1,
                 interval: float = 0.05, stream: TextIO | None = None,
                 clock: Callable[[], float] | None = None, dynamic: bool | None = None,
                 unit_name: str = "step"):
        self.target = target
        self.width = width
        self.interval = interval
        self.unit_name = unit_name
        self.stream = stream if stream is not None else sys.stdout
        self.clock = clock or time.time
        self.dynamic = is_tty(self.stream) if dynamic is None else dynamic
        self.verbose = 2 if (verbose == 1 and not self.dynamic) else verbose
        self._values: dict[str, float] = {}
        self._start = self.clock()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    def _step_time(self, current: int, now: float) -> float:
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            per = (now - self._time_after_first_step) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return per

    def update(self, current: int, values: Sequence[tuple[str, float]] | None = None,
               finalize: bool | None = None) -> None:
        """Show progress at step ``current`` with the given (already averaged) values.

        Args:
            current: the step just finished (1-based).
            values: (name, value) pairs shown after the time, kept for later lines.
            finalize: whether this is the last update (default: ``current >= target``).

        Example:
            >>> import io
            >>> from minicnn.progbar import Progbar
            >>> out = io.StringIO()
            >>> bar = Progbar(2, verbose=2, stream=out, clock=iter([0.0, 1.0, 2.0]).__next__)
            >>> bar.update(1, [("acc", 0.5)]); bar.update(2); out.getvalue()
            '2/2 - 2s - 1s/step - acc: 0.5000\\n'
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or ():
            self._values[k] = float(v)
        now = self.clock()
        per_step = self._step_time(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw(current, now, per_step, finalize)
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -"
            line += format_time_per_unit(per_step, self.unit_name)
            for k, v in self._values.items():
                line += f" - {k}: {format_value(v, signed=False)}"
            self.stream.write(line + "\n")
            self.stream.flush()
        self._last_update = now

    def _draw(self, current: int, now: float, per_step: float, finalize: bool) -> None:
        message = "\b" * self._prev_total_width + "\r"
        special = 0
        if self.target:
            digits = int(math.log10(self.target)) + 1
            bar = f"{BOLD}{current:{digits}d}/{self.target}{END} "
            special += 8
            filled = int(self.width * current / self.target)
            if filled > 0:
                bar += f"{GREEN}{'━' * filled}{END}"
                special += 9
            bar += f"{GREY}{'━' * (self.width - filled)}{END}"
            special += 9
        else:
            bar = f"{current:7d}/Unknown"
        if self.target and not finalize:
            eta = per_step * (self.target - current)
            if eta > 3600:
                eta_text = f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_text = f"{int(eta)}s"
            info = f" {BOLD}{eta_text}{END}"
        else:
            info = f" {BOLD}{now - self._start:.0f}s{END}"
        special += 8
        info += format_time_per_unit(per_step, self.unit_name)
        for k, v in self._values.items():
            info += f" - {k}: {format_value(v)}"
        total_width = len(bar) + len(info) - special
        message += bar + info
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        if finalize:
            message += "\n"
        self.stream.write(message)
        self.stream.flush()
        self._prev_total_width = total_width


class Progress:
    """A counter bar for loops over items (decoding images, the Face++ CLI's photos):
    ``label [########------] done/total note  rate img/s``.

    On a terminal the line is redrawn in place (at most every ``interval`` seconds, and at the
    last item, which ends the line). Elsewhere (CI logs, pipes) ``each=True`` prints one line
    per item, otherwise one summary line at ``close()``, so logs stay short. Training output
    is ``Progbar``'s (Keras's format); this is minicnn's one bar for everything else.

    Args:
        total: number of items expected.
        stream: where to write (default ``sys.stderr``, looked up at creation).
        label: text in front of the bar.  width: bar width in characters.
        enabled: False turns every method into a no-op.
        each: off a terminal, one line per item instead of a summary at the end.
        unit: with a unit, the rate (``120 img/s``) ends the line.
        interval: minimum seconds between redraws on a terminal.

    Example:
        >>> import io
        >>> from minicnn.progbar import Progress
        >>> p = Progress(10, io.StringIO(), each=True); p.update(note="a.jpg"); p.stream.getvalue()
        '[###-------------------------] 1/10 a.jpg\\n'
    """

    def __init__(self, total: int, stream: TextIO | None = None, label: str = "",
                 width: int = 28, enabled: bool = True, each: bool = False,
                 unit: str | None = None, interval: float = 0.1) -> None:
        self.total, self.label, self.width = total, label, width
        self.stream = stream if stream is not None else sys.stderr
        self.enabled, self.each, self.unit, self.interval = enabled, each, unit, interval
        self.tty = is_tty(self.stream)
        self.done = 0
        self._note = ""
        self._start = time.perf_counter()
        self._last_draw = -math.inf
        self._ended = False

    def update(self, n: int = 1, note: str = "") -> None:
        """Record ``n`` more finished items (``note`` names the last one)."""
        self.done += n
        self._note = note
        if not self.enabled:
            return
        now = time.perf_counter()
        last = self.done >= self.total
        if self.tty and (last or now - self._last_draw >= self.interval):
            self._last_draw = now
            self._write("\r\x1b[K" + self._line(now) + ("\n" if last else ""))
            self._ended = last
        elif not self.tty and self.each:
            self._write(self._line(now) + "\n")
            self._ended = last

    def close(self) -> None:
        """End the bar: its final line, unless the last update already wrote it."""
        if self.enabled and not self._ended:
            prefix = "\r\x1b[K" if self.tty else ""
            self._write(prefix + self._line(time.perf_counter()) + "\n")
            self._ended = True

    def _line(self, now: float) -> str:
        frac = self.done / self.total if self.total else 1.0
        filled = min(self.width, round(self.width * frac))
        line = f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total}"
        line = f"{self.label} {line}" if self.label else line
        if self._note:
            line += f" {self._note}"
        if self.unit:
            line += f"  {self.done / max(now - self._start, 1e-9):.0f} {self.unit}/s"
        return line

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
