"""minicnn: a deep-learning library written from scratch on NumPy, shaped like Keras."""

from minicnn import (
    callbacks,
    functional,
    io,
    layers,
    losses,
    metrics,
    optimizers,
    progbar,
)
from minicnn.layers import (
    Activation,
    AveragePooling2D,
    AvgPool2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    MaxPool2D,
    MaxPooling2D,
    Rescaling,
    clear_session,
)
from minicnn.models import Sequential, load_model
from minicnn.random import set_seed
from minicnn.tensor import Parameter, Tensor, concatenate, is_grad_enabled, no_grad
from minicnn.models import Model

from minicnn import utils  # noqa: E402  (keras.utils: loader, seeding, image I/O)

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "AveragePooling2D",
    "AvgPool2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "MaxPool2D",
    "MaxPooling2D",
    "Parameter",
    "Rescaling",
    "Sequential",
    "Tensor",
    "callbacks",
    "clear_session",
    "concatenate",
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

__all__ += ["Model"]
from minicnn.layers import (  # noqa: E402  (issue 15's single-input layers)
    BatchNormalization,
    DepthwiseConv2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    LeakyReLU,
    ReLU,
    Reshape,
    SeparableConv2D,
    ZeroPadding2D,
)

__all__ += [
    "BatchNormalization",
    "DepthwiseConv2D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool2D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling2D",
    "LeakyReLU",
    "ReLU",
    "Reshape",
    "SeparableConv2D",
    "ZeroPadding2D",
]

from minicnn import explain  # noqa: E402
__all__ += ["explain"]
