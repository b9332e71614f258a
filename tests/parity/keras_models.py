"""The reference network written directly in Keras, independent of minicnn's builder."""

from __future__ import annotations

BLOCKS = ((32, "max"), (64, "max"), (128, "avg"), (128, "max"), (256, "avg"))


def keras_catdog(keras, input_shape=(128, 128, 3), padding="valid", dropout=0.5):
    """Conv2D(32,3,relu) → MaxPool(2) → Conv2D(64,3,relu) → MaxPool(2) → Conv2D(128,3,relu) →
    AvgPool(2) → Conv2D(128,3,relu) → MaxPool(2) → Conv2D(256,3,relu) → AvgPool(2) → Flatten →
    Dropout → Dense(256,relu) → Dense(1,sigmoid). "valid" at 128x128, "same" at 64x64."""
    L = keras.layers
    layers = [keras.Input(tuple(input_shape))]
    for filters, pooling in BLOCKS:
        layers.append(L.Conv2D(filters, 3, padding=padding, activation="relu"))
        layers.append(L.MaxPooling2D(2) if pooling == "max" else L.AveragePooling2D(2))
    layers += [L.Flatten(), L.Dropout(dropout), L.Dense(256, activation="relu"),
               L.Dense(1, activation="sigmoid")]
    return keras.Sequential(layers, name="catdog")
