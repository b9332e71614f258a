"""Keras-named layers over NHWC data."""

from minicnn.layers.base import Layer, clear_session
from minicnn.layers.conv import Conv2D
from minicnn.layers.core import (
    Activation,
    Dense,
    Dropout,
    Flatten,
    Input,
    InputLayer,
    Rescaling,
)
from minicnn.layers.pooling import AveragePooling2D, AvgPool2D, MaxPool2D, MaxPooling2D
from minicnn.layers.preprocessing import (
    CenterCrop,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Resizing,
)

__all__ = [
    "Activation",
    "AveragePooling2D",
    "AvgPool2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "MaxPool2D",
    "MaxPooling2D",
    "Rescaling",
    "clear_session",
    "CenterCrop",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Resizing",
]
from minicnn.layers.merge import (  # noqa: E402
    Add,
    Average,
    Concatenate,
    Maximum,
    Merge,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from minicnn.layers.node import SymbolicTensor  # noqa: E402

__all__ += [
    "Add",
    "Average",
    "Concatenate",
    "Maximum",
    "Merge",
    "Minimum",
    "Multiply",
    "Subtract",
    "SymbolicTensor",
    "add",
    "average",
    "concatenate",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]

# Modern CNN blocks (issue 15): normalisation, depthwise/separable convolutions, global pooling,
# padding, reshaping and the configurable ReLUs.
from minicnn.layers.activation_layers import LeakyReLU, ReLU  # noqa: E402
from minicnn.layers.depthwise import DepthwiseConv2D, SeparableConv2D  # noqa: E402
from minicnn.layers.global_pooling import (  # noqa: E402
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
)
from minicnn.layers.normalization import BatchNormalization  # noqa: E402
from minicnn.layers.reshaping import Reshape, ZeroPadding2D  # noqa: E402

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
