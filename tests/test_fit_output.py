"""Golden tests: fit/evaluate/predict print exactly Keras 3's lines (clock injected)."""

import io
import re

import numpy as np
import pytest

import minicnn as mc
from minicnn.callbacks import ProgbarLogger
from minicnn.progbar import Progbar, format_time_per_unit, format_value

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class FakeClock:
    def __init__(self, step=0.25):
        self.t, self.step = 1000.0, step

    def __call__(self):
        self.t += self.step
        return self.t


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def make_model():
    mc.set_seed(0)
    mc.clear_session()
    model = mc.Sequential([mc.Input((3,)), mc.Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[0.5], [-0.25], [0.125]], np.float32),
                       np.array([0.1], np.float32)])
    model.compile(optimizer=mc.optimizers.SGD(0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def data():
    x = np.linspace(-1, 1, 30, dtype=np.float32).reshape(10, 3)
    y = (x[:, 0] > 0).astype(np.float32)
    return x, y


def test_verbose2_lines_exact():
    model = make_model()
    out = io.StringIO()
    x, y = data()
    model.fit(x, y, batch_size=4, epochs=2, verbose=2, validation_split=0.2, shuffle=False,
              callbacks=[ProgbarLogger(stream=out, clock=FakeClock())])
    assert out.getvalue() == (
        "Epoch 1/2\n"
        "2/2 - 0s - 125ms/step - accuracy: 1.0000 - loss: 0.6240 - val_accuracy: 1.0000 - "
        "val_loss: 0.4901\n"
        "Epoch 2/2\n"
        "2/2 - 0s - 125ms/step - accuracy: 1.0000 - loss: 0.5981 - val_accuracy: 1.0000 - "
        "val_loss: 0.4629\n"
    )
    # keys sorted by name (val_ ones included), as Keras 3 prints them
    # verbose=2 only draws at the end: time per step = elapsed / steps (0.25 s / 2)


def test_verbose1_off_a_terminal_prints_one_line_per_epoch():
    model = make_model()
    out = io.StringIO()
    x, y = data()
    model.fit(x, y, batch_size=4, epochs=1, verbose=1, shuffle=False,
              callbacks=[ProgbarLogger(stream=out, clock=FakeClock(0.5))])
    # a single epoch prints no "Epoch 1/1" line, as Keras
    # per-step time skips the first step, as Keras: (2.0 - 0.5) s / 2 steps
    assert out.getvalue() == "3/3 - 2s - 750ms/step - accuracy: 1.0000 - loss: 0.5972\n"


def test_tty_bar_is_drawn_in_place():
    model = make_model()
    out = FakeTTY()
    x, y = data()
    model.fit(x, y, batch_size=4, epochs=2, verbose=1, shuffle=False,
              callbacks=[ProgbarLogger(stream=out, clock=FakeClock())])
    text = out.getvalue()
    assert "\x1b[1m1/3\x1b[0m \33[32m" + "━" * 6 + "\x1b[0m\33[37m" + "━" * 14 in text
    plain = ANSI.sub("", text)
    epochs = plain.split("Epoch ")[1:]
    assert len(epochs) == 2
    frames = [f.replace("\b", "") for f in epochs[0].split("\r")]
    assert frames[0] == "1/2\n"
    assert frames[1] == "1/3 " + "━" * 20 + " 0s 250ms/step - accuracy: 1.0000 - loss: 0.6179"
    assert frames[2].startswith("2/3 " + "━" * 20 +
                                " 0s 250ms/step - accuracy: 1.0000 - loss: 0.6240")
    assert frames[-1] == "3/3 " + "━" * 20 + " 1s 375ms/step - accuracy: 1.0000 - loss: 0.5972\n"
    # each redraw first backs over the previous frame
    assert "\b" * len(frames[1]) + "\r" in text


def test_unknown_length_iterable_shows_unknown_then_learns_target():
    model = make_model()
    out = FakeTTY()
    x, y = data()
    batches = ((x[i:i + 5], y[i:i + 5]) for i in range(0, 10, 5))
    model.fit(batches, epochs=1, verbose=1,
              callbacks=[ProgbarLogger(stream=out, clock=FakeClock())])
    plain = ANSI.sub("", out.getvalue()).replace("\b", "")
    assert "\r      1/Unknown 0s 250ms/step - accuracy:" in plain
    assert re.search(r"\r2/2 ━{20} 1s 500ms/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}", plain)


def test_evaluate_and_predict_lines():
    model = make_model()
    x, y = data()
    out = io.StringIO()
    result = model.evaluate(x, y, batch_size=5, verbose=2,
                            callbacks=[ProgbarLogger(stream=out, clock=FakeClock())])
    p = 1 / (1 + np.exp(-(x.astype(np.float64) @ [0.5, -0.25, 0.125] + 0.1)))
    loss = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    acc = ((p > 0.5) == y).mean()
    assert out.getvalue() == f"2/2 - 0s - 125ms/step - accuracy: {acc:.4f} - loss: {loss:.4f}\n"
    assert result == pytest.approx([loss, acc], abs=1e-6)  # the list: compile order
    out = io.StringIO()
    model.predict(x, batch_size=4, verbose=2,
                  callbacks=[ProgbarLogger(stream=out, clock=FakeClock())])
    assert out.getvalue() == "3/3 - 0s - 83ms/step\n"


def test_verbose0_is_silent(capsys):
    model = make_model()
    x, y = data()
    model.fit(x, y, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_default_logger_writes_to_stdout(capsys):
    model = make_model()
    x, y = data()
    model.fit(x, y, epochs=2, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2"
    assert re.fullmatch(r"1/1 - \d+s - \d+(ms|us|s)/step - accuracy: \d\.\d{4} - loss: "
                        r"\d\.\d{4}", lines[1])


def test_formatting_helpers():
    assert format_time_per_unit(0.164) == " 164ms/step"
    assert format_time_per_unit(2.4) == " 2s/step"
    assert format_time_per_unit(0) == " 0s/step"
    assert format_time_per_unit(5e-5) == " 50us/step"
    assert format_value(0.2073) == "0.2073"
    assert format_value(1e-4) == "1.0000e-04"
    assert format_value(-0.5) == "-0.5000"
    assert format_value(-0.5, signed=False) == "-5.0000e-01"  # Keras's verbose=2 quirk


def test_eta_formats():
    out = FakeTTY()
    times = iter([0.0, 10.0])
    bar = Progbar(100, stream=out, clock=lambda: next(times))
    bar.update(1, [("loss", 1.0)])
    assert "\x1b[1m16:30\x1b[0m 10s/step" in out.getvalue()  # 99 steps * 10 s left
