"""Models: ``Sequential``, ``load_model`` and the cat-dog network builder."""

from minicnn.models.catdog import catdog_layers, catdog_network
from minicnn.models.saving import load_model
from minicnn.models.sequential import Sequential

__all__ = ["Sequential", "catdog_layers", "catdog_network", "load_model"]
from minicnn.models.model import Model  # noqa: E402

__all__ += ["Model"]
