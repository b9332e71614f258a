"""Models: ``Sequential``, ``load_model`` and the cat-dog network builder."""

from minicnn.models.catdog import catdog_layers, catdog_network
from minicnn.models.saving import load_model
from minicnn.models.sequential import Sequential

__all__ = ["Sequential", "catdog_layers", "catdog_network", "load_model"]

from minicnn.models.residual import catdog_residual_network  # noqa: E402  (layers imported lazily)

__all__ += ["catdog_residual_network"]
