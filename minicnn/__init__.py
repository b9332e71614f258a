"""minicnn: a deep-learning library written from scratch on NumPy, shaped like Keras."""

__version__ = "0.1.0"
