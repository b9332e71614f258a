"""A small CNN must actually learn: horizontal vs vertical bright stripes on 8x8 images."""


import numpy as np

import minicnn as mc


def stripes(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.2, (n, 8, 8, 1)).astype(np.float32)
    y = (np.arange(n) % 2).astype(np.float32)  # 1 = vertical
    pos = rng.integers(0, 8, n)
    for i in range(n):
        if y[i]:
            x[i, :, pos[i], 0] += 1.0
        else:
            x[i, pos[i], :, 0] += 1.0
    return x, y


def model():
    mc.set_seed(0)
    net = mc.Sequential([
        mc.Input((8, 8, 1)),
        mc.Conv2D(8, 3, activation="relu"),
        mc.MaxPooling2D(),
        mc.Flatten(),
        mc.Dense(1, activation="sigmoid"),
    ])
    net.compile(optimizer=mc.optimizers.Adam(0.02), loss="binary_crossentropy",
                metrics=["accuracy"])
    return net


def test_cnn_learns_stripes_with_validation_split():
    x, y = stripes(160, seed=0)
    net = model()
    history = net.fit(x, y, epochs=20, batch_size=16, validation_split=0.25, verbose=0)
    assert history.history["accuracy"][-1] >= 0.95
    assert history.history["val_accuracy"][-1] >= 0.95
    assert history.history["loss"][-1] < history.history["loss"][0]
    x_test, y_test = stripes(64, seed=1)
    loss, acc = net.evaluate(x_test, y_test, verbose=0)
    assert acc >= 0.95
    preds = net.predict(x_test, verbose=0)
    assert (((preds[:, 0] > 0.5) == y_test).mean()) == acc


def test_cnn_learns_from_an_iterable_of_batches():
    x, y = stripes(160, seed=2)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 160, 16)]
    net = model()
    history = net.fit(batches, epochs=20, verbose=0)
    assert history.history["accuracy"][-1] >= 0.95
    x_test, y_test = stripes(64, seed=3)
    assert net.evaluate(x_test, y_test, verbose=0)[1] >= 0.95
