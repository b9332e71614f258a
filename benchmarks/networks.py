"""The benchmark's networks other than the seed one, built once in minicnn.

Both framework children call ``build``; the Keras child converts the model with
``minicnn.keras_compat.to_keras``, so both train the same network (same layers, shapes and
initial weights).

- ``xception``: keras.io's mini-Xception (benchmarks/xception.py), one logit;
- ``residual``: the residual cat-dog network ``minicnn.models.catdog_residual_network``
  (examples/weights/catdog_residual.npz's architecture), a sigmoid output.
"""

from __future__ import annotations

#: --network choices besides "catdog" (the seed network, built by each framework itself).
SECOND_NETWORKS = ("xception", "residual")


def build(network: str, size: int, widths: str = ""):
    """(the minicnn model of ``network`` for ``size`` px RGB images, whether its output is a
    logit rather than a probability)."""
    import minicnn as mc

    if network == "xception":
        from benchmarks.xception import WIDTHS, parse_widths
        from benchmarks.xception import build as build_xception

        return build_xception(size, parse_widths(widths) if widths else WIDTHS), True
    if network == "residual":
        from minicnn.models import catdog_residual_network

        mc.set_seed(0)
        return catdog_residual_network((size, size, 3)), False
    raise ValueError(f"unknown network {network!r}; choose from {SECOND_NETWORKS}")
