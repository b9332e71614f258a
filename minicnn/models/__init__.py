"""Models: ``Model`` (functional), ``Sequential``, ``load_model`` and the cat-dog networks."""

from minicnn.models.catdog import catdog_layers, catdog_network
from minicnn.models.model import Model
from minicnn.models.residual import catdog_residual_network
from minicnn.models.saving import load_model
from minicnn.models.sequential import Sequential

__all__ = [
    "Model",
    "Sequential",
    "catdog_layers",
    "catdog_network",
    "catdog_residual_network",
    "load_model",
]
