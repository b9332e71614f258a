"""Per-operation timing, switched on with ``MINICNN_PROFILE=1``.

With profiling on, every Function's forward and backward (and any block wrapped in ``timed``)
adds its wall time to a table that is printed when the process exits, so a slow epoch explains
itself; a second table counts which route each op took (``plain``, or a fast route from
``minicnn/fast/routes.py``). With it off, ``timed`` returns a shared no-op context and costs
next to nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import TextIO

from minicnn._env import env_flag

_NULL = contextlib.nullcontext()
_totals: defaultdict[str, float] = defaultdict(float)
_counts: defaultdict[str, int] = defaultdict(int)
_routes: defaultdict[tuple[str, str], int] = defaultdict(int)
_enabled = bool(env_flag("MINICNN_PROFILE", False))


def enabled() -> bool:
    """Whether per-op timings are being collected.

    Example:
        >>> from minicnn import profiler
        >>> isinstance(profiler.enabled(), bool)
        True
    """
    return _enabled


def enable(on: bool = True) -> None:
    """Switch collection on or off at run time (the environment variable sets the default).

    Args:
        on: True to collect timings, False to stop.

    Example:
        >>> from minicnn import profiler
        >>> was = profiler.enabled()
        >>> profiler.enable(False); profiler.enabled()
        False
        >>> profiler.enable(was)
    """
    global _enabled
    _enabled = on


@contextlib.contextmanager
def _timer(name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        _totals[name] += time.perf_counter() - start
        _counts[name] += 1


def timed(name: str) -> AbstractContextManager[None]:
    """Time the enclosed block under ``name`` when profiling is on.

    Args:
        name: the row of the table the time is added to.

    Example:
        >>> from minicnn import profiler
        >>> was = profiler.enabled(); profiler.enable(True)
        >>> with profiler.timed("my block"):
        ...     pass
        >>> "my block" in profiler.report(); profiler.reset(); profiler.enable(was)
        True
    """
    return _timer(name) if _enabled else _NULL


def reset() -> None:
    """Forget every timing collected so far.

    Example:
        >>> from minicnn import profiler
        >>> profiler.reset(); profiler.report()
        ''
    """
    _totals.clear()
    _counts.clear()
    _routes.clear()


def count_route(op: str, route: str) -> None:
    """Count one call of ``op`` by ``route`` when profiling is on.

    Example:
        >>> from minicnn import profiler
        >>> was = profiler.enabled(); profiler.reset(); profiler.enable(True)
        >>> profiler.count_route("conv2d", "plain")
        >>> profiler.routes(); profiler.reset(); profiler.enable(was)
        {('conv2d', 'plain'): 1}
    """
    if _enabled:
        _routes[op, route] += 1


def routes() -> dict[tuple[str, str], int]:
    """How many calls of each op took each route, as counted so far: {(op, route): calls}."""
    return dict(_routes)


def report(file: TextIO | None = None) -> str:
    """Format the table of totals, slowest first; also print it to ``file`` if given.

    Args:
        file: a text stream to print the table to, or None to only return it.

    Returns:
        The table (op, calls, total ms, ms/call, share), or "" when nothing was timed.

    Example:
        >>> from minicnn import profiler
        >>> was = profiler.enabled(); profiler.reset(); profiler.enable(True)
        >>> with profiler.timed("step"):
        ...     pass
        >>> profiler.report().splitlines()[1].split(); profiler.reset(); profiler.enable(was)
        ['op', 'calls', 'total', 'ms', 'ms/call', 'share']
    """
    if not _totals and not _routes:
        return ""
    grand = sum(_totals.values()) or 1.0
    lines = [f"{'op':<32}{'calls':>8}{'total ms':>12}{'ms/call':>10}{'share':>8}"]
    for name, total in sorted(_totals.items(), key=lambda kv: -kv[1]):
        calls = _counts[name]
        lines.append(
            f"{name:<32}{calls:>8}{total * 1e3:>12.1f}{total * 1e3 / calls:>10.3f}"
            f"{total / grand:>8.1%}"
        )
    if _routes:
        lines.append("")
        lines.append(f"{'op':<24}{'route':<24}{'calls':>8}")
        for (op, name), calls in sorted(_routes.items()):
            lines.append(f"{op:<24}{name:<24}{calls:>8}")
    text = "minicnn profile (MINICNN_PROFILE=1)\n" + "\n".join(lines)
    if file is not None:
        print(text, file=file)
    return text


@atexit.register
def _report_at_exit() -> None:
    if _enabled and (_totals or _routes):
        report(sys.stderr)
