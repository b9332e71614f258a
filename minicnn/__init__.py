"""minicnn: a deep-learning library written from scratch on NumPy, shaped like Keras.

``import minicnn as keras`` gives a Keras 3 script the names it uses at Keras's paths
(``keras.layers``, ``keras.utils``, ``keras.optimizers``... see docs/from-keras.md).
Importing it changes nothing in the process's environment.
"""

from minicnn import (
    callbacks,
    explain,
    functional,
    io,
    layers,
    losses,
    metrics,
    optimizers,
    progbar,
    utils,
)
from minicnn.layers import (
    Activation,
    AveragePooling2D,
    AvgPool2D,
    BatchNormalization,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    Input,
    LeakyReLU,
    MaxPool2D,
    MaxPooling2D,
    ReLU,
    Rescaling,
    Reshape,
    SeparableConv2D,
    ZeroPadding2D,
    clear_session,
)
from minicnn.models import Model, Sequential, load_model
from minicnn.random import set_seed
from minicnn.tensor import Parameter, Tensor, concatenate, is_grad_enabled, no_grad

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Conv2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling2D",
    "Input",
    "LeakyReLU",
    "MaxPool2D",
    "MaxPooling2D",
    "Model",
    "Parameter",
    "ReLU",
    "Rescaling",
    "Reshape",
    "SeparableConv2D",
    "Sequential",
    "Tensor",
    "ZeroPadding2D",
    "callbacks",
    "clear_session",
    "concatenate",
    "explain",
    "functional",
    "is_grad_enabled",
    "io",
    "layers",
    "load_model",
    "losses",
    "metrics",
    "no_grad",
    "optimizers",
    "progbar",
    "set_seed",
    "utils",
]
