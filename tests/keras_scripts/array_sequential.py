"""An array-based Keras Sequential script: NumPy arrays, to_categorical, sample weights,
validation_split, ReduceLROnPlateau with a CSV log and a best-weights checkpoint, evaluate with
return_dict, and class predictions with keras.ops.argmax.

Run as ``run(keras)`` in a scratch directory, with ``keras`` the real Keras or minicnn.
"""

from __future__ import annotations

import os

import numpy as np


def run(keras) -> dict:
    layers = keras.layers
    keras.utils.set_random_seed(7)

    # a three-class toy problem: which quadrant is brightest
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (120, 8, 8, 1)).astype("float32")
    labels = rng.integers(0, 3, 120)
    for i, label in enumerate(labels):
        x[i, 4 * (label % 2):4 * (label % 2) + 4, 4 * (label // 2):4 * (label // 2) + 4] += 0.5
    x_train, x_test = x[:96], x[96:]
    y_train = keras.utils.to_categorical(labels[:96], num_classes=3)
    y_test = keras.utils.to_categorical(labels[96:], num_classes=3)
    sample_weight = np.where(labels[:96] == 2, 2.0, 1.0)  # class 2 matters twice as much

    model = keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.summary()

    model.compile(
        loss="categorical_crossentropy",
        optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        metrics=["accuracy", keras.metrics.Precision(name="precision")],
    )
    callbacks = [
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1,
                                          min_lr=1e-4),
        keras.callbacks.CSVLogger("training.csv"),
        keras.callbacks.ModelCheckpoint("best.weights.h5", monitor="val_loss",
                                        save_best_only=True, save_weights_only=True),
    ]
    history = model.fit(
        x_train,
        y_train,
        batch_size=16,
        epochs=3,
        validation_split=0.25,
        sample_weight=sample_weight,
        callbacks=callbacks,
        verbose=2,
    )
    results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    print("Test loss:", results["loss"])
    print("Test accuracy:", results["accuracy"])

    probabilities = model.predict(x_test[:5], verbose=0)
    classes = keras.ops.convert_to_numpy(keras.ops.argmax(probabilities, axis=-1))
    model.load_weights("best.weights.h5")
    return {
        "params": model.count_params(),
        "history_keys": sorted(history.history),
        "epochs_run": len(history.history["loss"]),
        "learning_rates": [round(float(v), 8) for v in history.history["learning_rate"]],
        "files": sorted(os.listdir(".")),
        "csv_header": open("training.csv").readline().strip(),
        "result_keys": sorted(results),
        "classes_shape": tuple(classes.shape),
        "classes_in_range": bool(((classes >= 0) & (classes < 3)).all()),
        "probabilities_sum": np.asarray(probabilities).sum(axis=-1).round(4).tolist(),
    }
