"""The cat-vs-dog network of the original Keras experiment, built from minicnn layers."""

from __future__ import annotations

from collections.abc import Sequence

from minicnn.kernels.geometry import output_size_and_padding
from minicnn.layers import (
    AveragePooling2D,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Input,
    Layer,
    MaxPooling2D,
    Rescaling,
)

#: (filters, pooling) of the five conv blocks: pooled max, max, avg, max, avg.
BLOCKS: tuple[tuple[int, str], ...] = ((32, "max"), (64, "max"), (128, "avg"), (128, "max"),
                                       (256, "avg"))


def choose_padding(input_shape: Sequence[int]) -> str:
    """"valid" when five valid 3x3-conv + 2x2-pool blocks fit the image, else "same".

    Args:
        input_shape: (H, W, C) of one image.

    Example:
        >>> from minicnn.models.catdog import choose_padding
        >>> choose_padding((128, 128, 3)), choose_padding((64, 64, 3))
        ('valid', 'same')
    """
    for size in input_shape[:2]:
        for _ in BLOCKS:
            size, _ = output_size_and_padding(size, 3, 1, "valid")
            if size < 2:
                return "same"
            size //= 2
    return "valid"


def catdog_layers(
    input_shape: Sequence[int] = (128, 128, 3),
    padding: str | None = None,
    dropout: float = 0.5,
    rescale: float | None = None,
) -> list[Layer]:
    """The layer list of the cat-dog network (see ``catdog_network`` for the arguments).

    Useful to build a variant: change or add layers, then ``Sequential(layers)``.

    Example:
        >>> from minicnn.models import catdog_layers
        >>> [type(layer).__name__ for layer in catdog_layers((64, 64, 3))][:4]
        ['InputLayer', 'Conv2D', 'MaxPooling2D', 'Conv2D']
    """
    padding = padding or choose_padding(input_shape)
    layers: list[Layer] = [Input(tuple(input_shape))]
    if rescale is not None:
        layers.append(Rescaling(rescale))
    for filters, pooling in BLOCKS:
        layers.append(Conv2D(filters, 3, padding=padding, activation="relu"))
        layers.append(MaxPooling2D(2) if pooling == "max" else AveragePooling2D(2))
    layers += [Flatten(), Dropout(dropout), Dense(256, activation="relu"),
               Dense(1, activation="sigmoid")]
    return layers


def catdog_network(
    input_shape: Sequence[int] = (128, 128, 3),
    padding: str | None = None,
    dropout: float = 0.5,
    rescale: float | None = None,
):
    """The original experiment's network: five conv blocks, then a two-layer dense head.

    Conv2D(32, 3, relu) → MaxPooling2D(2) → Conv2D(64, 3, relu) → MaxPooling2D(2) →
    Conv2D(128, 3, relu) → AveragePooling2D(2) → Conv2D(128, 3, relu) → MaxPooling2D(2) →
    Conv2D(256, 3, relu) → AveragePooling2D(2) → Flatten → Dropout(0.5) → Dense(256, relu) →
    Dense(1, sigmoid).

    Args:
        input_shape: (H, W, C) of one image.
        padding: "valid" or "same" for every conv; by default "valid" when five valid blocks
            fit (128x128: 798,657 parameters) and "same" when they do not (64x64).
        dropout: the dropout rate before the dense head (0 for exact comparisons).
        rescale: if given, a leading ``Rescaling(rescale)`` layer (``1/255`` lets the model
            take raw 0..255 pixels; no parameters, so the count is unchanged).

    Shape: (N, H, W, C) -> (N, 1), the probability of "dog" (class 1).

    Example:
        >>> from minicnn.models import catdog_network
        >>> catdog_network((128, 128, 3)).count_params()
        798657
    """
    from minicnn.models.sequential import Sequential

    return Sequential(catdog_layers(input_shape, padding, dropout, rescale), name="catdog")
