"""Run a test on each of minicnn's paths: the plain ops, and the fast path with each switch.

``use_path(name, monkeypatch)`` switches in-process (the same attributes the environment
variables set at import), so one test run covers every setting without a subprocess each:

    fast          the fast path, its switches as the environment set them
    defaults      the fast path with every switch at its default (for tests of the routes)
    plain         MINICNN_FAST=0: the plain Functions only
    winograd-off  MINICNN_WINOGRAD=0
    winograd-on   MINICNN_WINOGRAD=1 (whole batches and single images too)
    fuse-off      MINICNN_FUSE=0
    fold-off      MINICNN_FOLD=0 (not in PATHS: inference folding has its own tests,
                  tests/test_folding.py, and PATHS runs with it on and on the plain path)
"""

from __future__ import annotations

PATHS = ("fast", "plain", "winograd-off", "winograd-on", "fuse-off")


def use_path(name: str, monkeypatch) -> None:
    from minicnn.ops import route

    monkeypatch.setattr(route, "FAST", name != "plain")
    if name == "plain":
        return
    from minicnn.fast import routes

    if name == "defaults":
        monkeypatch.setattr(routes, "WINOGRAD", None)
        monkeypatch.setattr(routes, "FUSE", True)
        monkeypatch.setattr(routes, "FOLD", True)
    elif name == "winograd-off":
        monkeypatch.setattr(routes, "WINOGRAD", False)
    elif name == "winograd-on":
        monkeypatch.setattr(routes, "WINOGRAD", True)
    elif name == "fuse-off":
        monkeypatch.setattr(routes, "FUSE", False)
    elif name == "fold-off":
        monkeypatch.setattr(routes, "FOLD", False)


def record_calls(monkeypatch, module, name: str) -> list[bool]:
    """Replace ``module.name`` (a fast-path entry that returns a value or None) by a spy; the
    returned list gets one entry per call: whether it returned a value (ran) or None
    (declined, so the layers ran on their own)."""
    seen: list[bool] = []
    real = getattr(module, name)

    def spy(*args):
        out = real(*args)
        seen.append(out is not None)
        return out

    monkeypatch.setattr(module, name, spy)
    return seen

