"""Read minicnn's switches from the environment: one helper, one spelling of true and false."""

from __future__ import annotations

import os

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def env_flag(name: str, default: bool | None) -> bool | None:
    """The boolean environment variable ``name``, or ``default`` when unset, empty or "auto".

    "1", "true", "yes", "on" are True and "0", "false", "no", "off" False, in any case. Anything
    else is an error naming the variable, so a typo never silently means the default.

    Args:
        name: the variable, e.g. "MINICNN_FAST".
        default: what an unset variable means (None for a tri-state "auto").

    Example:
        >>> from minicnn._env import env_flag
        >>> env_flag("MINICNN_SURELY_UNSET_FLAG", True)
        True
    """
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "auto"):
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(f"{name} must be one of 0/1, false/true, no/yes, off/on or auto. "
                     f"Received: {name}={os.environ[name]!r}")
