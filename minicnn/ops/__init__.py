"""Differentiable functions beyond the core arithmetic in ``minicnn.tensor``."""
