import numpy as np
import pytest

import minicnn as mc

SUMMARY_76 = """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                 │ (None, 6, 6, 4)        │            40 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d (MaxPooling2D)    │ (None, 3, 3, 4)        │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ (None, 36)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 1)              │            37 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 77 (308.00 B)
 Trainable params: 77 (308.00 B)
 Non-trainable params: 0 (0.00 B)"""  # Keras 3.15's output for the same model (80 columns)


def small_cnn():
    mc.clear_session()
    return mc.Sequential([mc.Input((8, 8, 1)), mc.Conv2D(4, 3, activation="relu"),
                          mc.MaxPooling2D(), mc.Flatten(), mc.Dense(1, activation="sigmoid")])


def test_summary_matches_keras(monkeypatch):
    lines = []
    monkeypatch.setenv("COLUMNS", "80")
    small_cnn().summary(print_fn=lines.append)
    assert "\n".join(lines) == SUMMARY_76


def test_summary_wide_terminal_thousands_and_optimizer(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    mc.clear_session()
    model = mc.Sequential([mc.Input((128, 128, 3)), mc.Conv2D(32, 3, activation="relu"),
                           mc.MaxPooling2D(), mc.Flatten(), mc.Dense(10, activation="softmax")],
                          name="catdog")
    model.summary()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Model: "catdog"'
    assert out[1] == "┏" + "━" * 38 + "┳" + "━" * 29 + "┳" + "━" * 17 + "┓"  # Keras at 88
    assert out[4] == "│ conv2d (Conv2D)" + " " * 22 + "│ (None, 126, 126, 32)" + " " * 8 + \
        "│" + " " * 13 + "896 │"
    assert "│ dense (Dense)" in out[10] and "1,270,090 │" in out[10]
    assert out[-3:] == [" Total params: 1,270,986 (4.85 MB)",
                        " Trainable params: 1,270,986 (4.85 MB)",
                        " Non-trainable params: 0 (0.00 B)"]
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.train_on_batch(np.zeros((1, 128, 128, 3)), np.eye(10)[:1])
    model.summary(line_length=76)
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == " Optimizer params: 2 (12.00 B)"  # iterations + learning rate, as Keras


def test_unbuilt_summary_and_lazy_build():
    model = mc.Sequential([mc.Dense(3), mc.Dense(1)])
    lines = []
    model.summary(line_length=76, print_fn=lines.append)
    assert "│ ?" in lines[4] and "0 (unbuilt) │" in lines[4]
    out = model(np.ones((2, 5)))
    assert isinstance(out, mc.Tensor) and out.shape == (2, 1)
    assert model.built and model.count_params() == 5 * 3 + 3 + 3 + 1


def test_layers_input_shape_kwarg_get_layer_and_pop():
    mc.clear_session()
    model = mc.Sequential()
    model.add(mc.Dense(4, input_shape=(3,)))
    model.add(mc.Dense(2, name="head"))
    assert model.built and model.output_shape == (None, 2)
    assert [lay.name for lay in model.layers] == ["dense", "head"]
    assert model.layers[0] is model.get_layer("dense") is model.get_layer(index=0)
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        model.get_layer("nope")
    assert model.pop().name == "head"
    assert len(model.layers) == 1
    with pytest.raises(TypeError, match="expects a minicnn layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="unique names"):
        model.add(mc.Dense(1, name="dense"))


def test_config_round_trip_and_weights():
    model = small_cnn()
    clone = mc.Sequential.from_config(model.get_config())
    assert clone.built and clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(3, 8, 8, 1))
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [w.name for w in model.trainable_weights] == [
        "conv2d/kernel", "conv2d/bias", "dense/kernel", "dense/bias"]
    with pytest.raises(ValueError, match="4 weight arrays. Received: 3"):
        model.set_weights(model.get_weights()[:3])


def test_argument_errors_name_the_thing():
    model = small_cnn()
    x, y = np.zeros((4, 8, 8, 1)), np.zeros(4)
    with pytest.raises(RuntimeError, match=r"compile\(\) before fit\(\)"):
        model.fit(x, y)
    with pytest.raises(ValueError, match="Received: optimizer='foo'"):
        model.compile(optimizer="foo", loss="mse")
    with pytest.raises(ValueError, match="Received: loss='bar'"):
        model.compile(loss="bar")
    with pytest.raises(ValueError, match="Received: metric='f1'"):
        model.compile(loss="mse", metrics=["f1"])
    model.compile(loss="binary_crossentropy")
    with pytest.raises(ValueError, match="x has 4 samples, y has 3 samples"):
        model.fit(x, y[:3], verbose=0)
    with pytest.raises(ValueError, match="verbose=3"):
        model.fit(x, y, verbose=3)
    with pytest.raises(ValueError, match="batch_size=0"):
        model.fit(x, y, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="only supported for NumPy arrays"):
        model.fit(iter([(x, y)]), validation_split=0.5, verbose=0)
    with pytest.raises(ValueError, match="not sufficient to split"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)


def test_evaluate_return_forms_and_batch_methods():
    mc.set_seed(0)
    model = mc.Sequential([mc.Input((3,)), mc.Dense(2, activation="softmax")])
    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    y = np.arange(10) % 2
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, y, verbose=0), float)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"])
    loss, acc = model.evaluate(x, y, batch_size=3, verbose=0)
    assert model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True) == \
        {"loss": loss, "acc": acc}
    probs = model.predict(x, verbose=0)
    expected = -np.log(probs[np.arange(10), y]).mean()
    assert loss == pytest.approx(expected, rel=1e-5)
    assert acc == pytest.approx((probs.argmax(1) == y).mean())
    assert model.test_on_batch(x, y) == pytest.approx([loss, acc], rel=1e-5)
    before = model.get_weights()
    model.train_on_batch(x, y)
    assert not np.array_equal(before[0], model.get_weights()[0])
    out = model.predict_on_batch(x[:1])
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, model.predict(x[:1], verbose=0))


def test_predict_accepts_iterables():
    model = small_cnn()
    x = np.random.default_rng(1).normal(size=(6, 8, 8, 1))
    want = model.predict(x, batch_size=4, verbose=0)
    assert want.shape == (6, 1)
    np.testing.assert_allclose(model.predict([x[:4], x[4:]], verbose=0), want, rtol=1e-6)
    pairs = ((x[i:i + 2], np.zeros(2)) for i in range(0, 6, 2))
    np.testing.assert_allclose(model.predict(pairs, verbose=0), want, rtol=1e-6)


class Batches:
    """A dataset object with len(), re-iterable each epoch."""

    def __init__(self, x, y, size):
        self.x, self.y, self.size = x, y, size
        self.iterations = 0

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __iter__(self):
        self.iterations += 1
        for i in range(0, len(self.x), self.size):
            yield self.x[i:i + self.size], self.y[i:i + self.size]


def test_fit_on_dataset_object_and_generator_with_steps():
    x = np.random.default_rng(2).normal(size=(12, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    mc.set_seed(0)
    model = mc.Sequential([mc.Input((3,)), mc.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    ds = Batches(x, y, 5)
    history = model.fit(ds, epochs=3, verbose=0, validation_data=Batches(x, y, 6))
    assert ds.iterations == 3 and len(history.history["val_loss"]) == 3
    assert model.optimizer.iterations == 9

    def endless():
        while True:
            yield x[:4], y[:4]

    model.fit(endless(), epochs=2, steps_per_epoch=3, verbose=0)
    assert model.optimizer.iterations == 15
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(iter([(x, y)]), epochs=3, verbose=0)
    assert history.epoch == [0]


def test_validation_split_takes_last_fraction_before_shuffling():
    x = np.random.default_rng(3).normal(size=(20, 3)).astype(np.float32)
    y = (x[:, 1] > 0).astype(np.float32)
    histories = []
    for kwargs in ({"validation_split": 0.25}, {"validation_data": (x[15:], y[15:])}):
        mc.set_seed(0)
        model = mc.Sequential([mc.Input((3,)), mc.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy")
        data = (x, y) if "validation_split" in kwargs else (x[:15], y[:15])
        histories.append(model.fit(*data, epochs=3, batch_size=4, verbose=0, **kwargs).history)
    assert histories[0] == histories[1]


def test_shuffling_is_seeded():
    x = np.random.default_rng(4).normal(size=(16, 3)).astype(np.float32)
    y = (x[:, 2] > 0).astype(np.float32)

    def train(seed):
        mc.set_seed(seed)
        model = mc.Sequential([mc.Input((3,)), mc.Dense(1, activation="sigmoid")])
        model.compile(optimizer="sgd", loss="binary_crossentropy")
        model.fit(x, y, epochs=2, batch_size=4, verbose=0)
        return model.get_weights()[0]

    np.testing.assert_array_equal(train(7), train(7))
    assert not np.array_equal(train(7), train(8))


def test_summary_wraps_long_names_like_keras():
    lines = []
    mc.models.catdog_network().summary(line_length=88, print_fn=lines.append)
    # Keras 3.15 (rich) wraps this cell at the space, the other cells stay blank
    i = next(k for k, line in enumerate(lines) if "average_pooling2d_1" in line)
    assert lines[i] == "│ average_pooling2d_1" + " " * 18 + "│ (None, 2, 2, 256)" + " " * 11 + \
        "│" + " " * 15 + "0 │"
    assert lines[i + 1] == "│ (AveragePooling2D)" + " " * 19 + "│" + " " * 29 + "│" + " " * 17 + "│"
    assert lines[-3] == " Total params: 798,657 (3.05 MB)"
