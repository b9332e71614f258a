"""keras.io's "Image classification from scratch", shrunk: a cats-vs-dogs image folder, an
augmentation Sequential inside a small residual network of separable convolutions, Adam on a
schedule, checkpoints, a CSV log, early stopping, class weights, one prediction from a file,
and a saved model loaded back.

Run as ``run(keras)`` in a scratch directory, with ``keras`` the real Keras or minicnn.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def make_image_folder(root: str, n_cat: int = 12, n_dog: int = 8, size: int = 20) -> None:
    """A tiny PetImages-like folder: Cat/ and Dog/ JPEGs (darker cats, brighter dogs), and one
    corrupt file Keras scripts skip. Harness, not script: no Keras call here."""
    rng = np.random.default_rng(0)
    for label, (name, n) in enumerate((("Cat", n_cat), ("Dog", n_dog))):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(n):
            pixels = rng.integers(0, 140, (size, size + 4, 3)) + 100 * label
            Image.fromarray(pixels.astype(np.uint8)).save(os.path.join(root, name, f"{i}.jpg"))


def run(keras) -> dict:
    layers = keras.layers
    make_image_folder("PetImages")

    keras.utils.set_random_seed(1337)
    image_size = (16, 16)
    batch_size = 8
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        "PetImages",
        validation_split=0.25,
        subset="both",
        seed=1337,
        image_size=image_size,
        batch_size=batch_size,
    )

    data_augmentation = keras.Sequential(
        [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)],
        name="data_augmentation",
    )

    def make_model(input_shape, num_classes):
        inputs = keras.Input(shape=input_shape)
        x = data_augmentation(inputs)
        x = layers.Rescaling(1.0 / 255)(x)
        x = layers.Conv2D(8, 3, strides=2, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)

        previous_block_activation = x  # set aside residual
        for size in [16, 32]:
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(size, 3, padding="same")(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
            x = layers.SeparableConv2D(size, 3, padding="same")(x)
            x = layers.BatchNormalization()(x)
            x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
            # project residual
            residual = layers.Conv2D(size, 1, strides=2, padding="same")(
                previous_block_activation)
            x = layers.add([x, residual])  # add back residual
            previous_block_activation = x  # set aside next residual

        x = layers.SeparableConv2D(48, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.GlobalAveragePooling2D()(x)
        units = 1 if num_classes == 2 else num_classes
        x = layers.Dropout(0.25)(x)
        # We specify activation=None so as to return logits
        outputs = layers.Dense(units, activation=None)(x)
        return keras.Model(inputs, outputs)

    model = make_model(input_shape=image_size + (3,), num_classes=2)
    model.summary()

    epochs = 2
    callbacks = [
        keras.callbacks.ModelCheckpoint("save_at_{epoch}.keras"),
        keras.callbacks.CSVLogger("training_log.csv"),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5),
    ]
    lr_schedule = keras.optimizers.schedules.ExponentialDecay(
        3e-4, decay_steps=10, decay_rate=0.9)
    model.compile(
        optimizer=keras.optimizers.Adam(lr_schedule),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy(name="acc")],
    )
    history = model.fit(
        train_ds,
        epochs=epochs,
        callbacks=callbacks,
        validation_data=val_ds,
        class_weight={0: 1.0, 1: 1.5},
        verbose=2,
    )

    img = keras.utils.load_img("PetImages/Cat/6.jpg", target_size=image_size)
    img_array = keras.utils.img_to_array(img)
    img_array = keras.ops.expand_dims(img_array, 0)  # Create batch axis

    predictions = model.predict(img_array, verbose=0)
    score = float(keras.ops.sigmoid(predictions[0][0]))
    print(f"This image is {100 * (1 - score):.2f}% cat and {100 * score:.2f}% dog.")

    model.save("model.keras")
    restored = keras.models.load_model("model.keras")
    again = restored.predict(img_array, verbose=0)
    return {
        "params": model.count_params(),
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "layers": [type(layer).__name__ for layer in model.layers],
        "history_keys": sorted(history.history),
        "epochs_run": len(history.history["loss"]),
        "files": sorted(os.listdir(".")),
        "csv_header": open("training_log.csv").readline().strip(),
        "prediction_shape": tuple(np.shape(predictions)),
        "score": score,
        "reloaded_same": bool(np.allclose(np.asarray(again), np.asarray(predictions),
                                          atol=1e-5)),
        "restored_layers": [type(layer).__name__ for layer in restored.layers],
        "restored_params": restored.count_params(),
    }
