"""Run a test on each of minicnn's paths: the plain ops, and the fast path with each switch.

``use_path(name, monkeypatch)`` switches in-process (the same attributes the environment
variables set at import), so one test run covers every setting without a subprocess each:

    fast          the default: routes chosen by minicnn/fast/routes.py
    plain         MINICNN_FAST=0: the plain Functions only
    winograd-off  MINICNN_WINOGRAD=0
    winograd-on   MINICNN_WINOGRAD=1 (whole batches and single images too)
    fuse-off      MINICNN_FUSE=0
"""

from __future__ import annotations

PATHS = ("fast", "plain", "winograd-off", "winograd-on", "fuse-off")


def use_path(name: str, monkeypatch) -> None:
    from minicnn.ops import route

    monkeypatch.setattr(route, "FAST", name != "plain")
    if name == "plain":
        return
    from minicnn.fast import routes

    if name == "winograd-off":
        monkeypatch.setattr(routes, "WINOGRAD", False)
    elif name == "winograd-on":
        monkeypatch.setattr(routes, "WINOGRAD", True)
    elif name == "fuse-off":
        monkeypatch.setattr(routes, "FUSE", False)
