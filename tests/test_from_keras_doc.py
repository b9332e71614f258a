"""docs/from-keras.md lists names that exist: each Keras path below resolves in minicnn and is
named on the page."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import minicnn

DOC = Path(__file__).parents[1] / "docs" / "from-keras.md"

PROVIDED = [
    "Sequential", "Input", "models.Sequential", "models.load_model",
    "layers.Dense", "layers.Conv2D", "layers.MaxPooling2D", "layers.MaxPool2D",
    "layers.AveragePooling2D", "layers.AvgPool2D", "layers.Flatten", "layers.Dropout",
    "layers.Activation", "layers.InputLayer", "layers.Rescaling", "layers.Resizing",
    "layers.CenterCrop", "layers.RandomFlip", "layers.RandomRotation", "layers.RandomZoom",
    "layers.RandomTranslation", "layers.RandomContrast", "layers.RandomBrightness",
    "layers.RandomCrop",
    "optimizers.SGD", "optimizers.Adam", "optimizers.AdamW", "optimizers.RMSprop",
    "optimizers.get", "optimizers.serialize", "optimizers.deserialize",
    "optimizers.schedules.ExponentialDecay", "optimizers.schedules.PiecewiseConstantDecay",
    "optimizers.schedules.CosineDecay", "optimizers.schedules.LearningRateSchedule",
    "losses.BinaryCrossentropy", "losses.CategoricalCrossentropy",
    "losses.SparseCategoricalCrossentropy", "losses.MeanSquaredError",
    "losses.binary_crossentropy", "losses.categorical_crossentropy",
    "losses.sparse_categorical_crossentropy", "losses.mean_squared_error",
    "metrics.Accuracy", "metrics.BinaryAccuracy", "metrics.CategoricalAccuracy",
    "metrics.SparseCategoricalAccuracy", "metrics.TopKCategoricalAccuracy",
    "metrics.SparseTopKCategoricalAccuracy", "metrics.Precision", "metrics.Recall",
    "metrics.AUC", "metrics.MeanSquaredError", "metrics.MeanAbsoluteError", "metrics.Mean",
    "metrics.Metric",
    "callbacks.Callback", "callbacks.CallbackList", "callbacks.History",
    "callbacks.ProgbarLogger", "callbacks.ModelCheckpoint", "callbacks.EarlyStopping",
    "callbacks.ReduceLROnPlateau", "callbacks.CSVLogger", "callbacks.LearningRateScheduler",
    "callbacks.TerminateOnNaN", "callbacks.LambdaCallback",
    "utils.image_dataset_from_directory", "utils.set_random_seed", "utils.load_img",
    "utils.img_to_array", "utils.array_to_img", "utils.to_categorical",
    "Model", "models.Model", "layers.BatchNormalization", "layers.DepthwiseConv2D",
    "layers.SeparableConv2D", "layers.GlobalAveragePooling2D", "layers.GlobalMaxPooling2D",
    "layers.ZeroPadding2D", "layers.ReLU", "layers.LeakyReLU", "layers.Reshape", "layers.Add",
    "layers.Subtract", "layers.Multiply", "layers.Average", "layers.Maximum",
    "layers.Concatenate", "layers.add",
    "ops.expand_dims", "ops.squeeze", "ops.sigmoid", "ops.softmax", "ops.argmax",
    "ops.convert_to_numpy", "ops.convert_to_tensor",
]


@pytest.mark.parametrize("path", PROVIDED)
def test_listed_name_exists_in_minicnn(path):
    assert functools.reduce(getattr, path.split("."), minicnn) is not None


@pytest.mark.parametrize("path", PROVIDED)
def test_name_is_on_the_page(path):
    assert path.split(".")[-1] in DOC.read_text()
