"""Differentiable functions beyond the core arithmetic in ``minicnn.tensor``.

The package's modules hold the autograd Functions (one op per module); the package itself also
offers the small public ``keras.ops`` subset Keras scripts use on arrays (``expand_dims``,
``squeeze``, ``sigmoid``, ``softmax``, ``argmax``, ``convert_to_numpy``,
``convert_to_tensor``; see ``minicnn.ops.keras_ops``), so ``keras.ops.sigmoid(x)`` runs with
``import minicnn as keras``.
"""

from minicnn.ops.keras_ops import (
    argmax,
    convert_to_numpy,
    convert_to_tensor,
    expand_dims,
    sigmoid,
    softmax,
    squeeze,
)

__all__ = ["argmax", "convert_to_numpy", "convert_to_tensor", "expand_dims", "sigmoid",
           "softmax", "squeeze"]
