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
