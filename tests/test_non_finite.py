"""Non-finite data (issue 13, item 2): NaN propagates through every ReLU route as in TensorFlow,
no optimiser step writes a non-finite weight, and a refused step names the epoch, the batch and
what was not finite."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.fast import winograd
from minicnn.fast.parallel import parallel_build
from minicnn.kernels import jit as K
from minicnn.models import training
from minicnn.models.guards import NonFiniteStepError
from minicnn.ops.conv import conv2d
from minicnn.ops.nn import linear


def _with_nan(shape, at, dtype=np.float32):
    a = np.linspace(-1, 1, int(np.prod(shape)), dtype=dtype).reshape(shape)
    a[at] = np.nan
    return a


# one row per ReLU route: (name, function of an input holding NaN at `at` -> output that must
# hold NaN). The NaN sits where the linear part would otherwise be negative or positive alike.
def _kernel_bias_relu(kernel):
    y = _with_nan((3, 4), (1, 2))
    kernel(y, np.full(4, -5.0, np.float32))  # the bias makes every finite value negative
    return y


def _kernel_relu(kernel):
    y = _with_nan((3, 4), (2, 1))
    kernel(y)
    return y


def _winograd_output(relu):
    M = np.zeros((16, 1, 2), np.float32)
    M[5, 0, 1] = np.nan  # one tile, channel 1
    y = np.empty((1, 2, 2, 2), np.float32)
    winograd.transform_output(M, np.full(2, -1.0, np.float32), relu, 1, 1, y)
    return y[..., 1]


RELU_ROUTES = [
    ("Tensor.relu", lambda: mc.Tensor(_with_nan((4,), 0)).relu().data),
    ("activations.relu", lambda: mc.activations.relu(mc.Tensor(_with_nan((2, 3), (1, 1)))).data),
    ("bias_relu_ (parallel)", lambda: _kernel_bias_relu(parallel_build(K.bias_relu_))),
    ("bias_relu_ (serial)", lambda: _kernel_bias_relu(K.bias_relu_)),
    ("relu_ (parallel)", lambda: _kernel_relu(parallel_build(K.relu_))),
    ("relu_ (serial)", lambda: _kernel_relu(K.relu_)),
    ("winograd output + relu", lambda: _winograd_output(True)),
    ("linear relu, bias", lambda: linear(mc.Tensor(_with_nan((2, 3), (0, 0))),
                                         mc.Tensor(np.ones((3, 2), np.float32)),
                                         mc.Tensor(np.full(2, -9.0, np.float32)),
                                         activation="relu").data),
    ("conv2d relu 2x2", lambda: conv2d(mc.Tensor(_with_nan((2, 5, 5, 3), (1, 2, 2, 0))),
                                       mc.Tensor(np.ones((2, 2, 3, 4), np.float32)),
                                       mc.Tensor(np.full(4, -99.0, np.float32)),
                                       activation="relu").data),
    ("Dense(relu) layer", lambda: mc.Dense(3, activation="relu", bias_initializer="zeros")(
        mc.Tensor(_with_nan((2, 4), (1, 3)))).data),
    ("Conv2D(relu) layer", lambda: mc.Conv2D(8, 3, activation="relu")(
        mc.Tensor(_with_nan((2, 6, 6, 8), (0, 3, 3, 5)))).data),
]


@pytest.mark.parametrize("route", [r[1] for r in RELU_ROUTES], ids=[r[0] for r in RELU_ROUTES])
def test_relu_propagates_nan_like_tensorflow(route):
    y = route()
    assert np.isnan(y).any(), "a NaN input vanished in the ReLU (TensorFlow keeps it)"
    assert not (y[~np.isnan(y)] < 0).any()


def test_relu_gradient_at_nan_is_zero():
    x = mc.Tensor(np.array([np.nan, -1.0, 2.0], np.float32), requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


def small_model(activation="relu"):
    model = mc.Sequential([mc.Input((4,)), mc.Dense(3, activation=activation),
                           mc.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def state(model):
    return [w.copy() for w in model.get_weights()], model.optimizer.get_state()


def assert_same_state(model, before):
    weights, opt = before
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    now = model.optimizer.get_state()
    assert now["iterations"] == opt["iterations"]
    for name in opt:
        if name != "iterations":
            for a, b in zip(opt[name], now[name]):
                np.testing.assert_array_equal(a, b)


def data(n=16):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype(np.float32), (rng.random(n) > 0.5).astype(np.float32)


@pytest.mark.parametrize("bad, what", [
    (np.nan, "the input x holds 1 NaN value"),
    (np.inf, "the input x holds 1 infinite value"),
])
def test_train_step_refuses_non_finite_input_and_keeps_weights(bad, what):
    model = small_model()
    x, y = data()
    training.train_step(model, x[:8], y[:8])  # optimizer built, slots non-zero
    before = state(model)
    x[3, 2] = bad
    with pytest.raises(NonFiniteStepError) as info:
        training.train_step(model, x[:8], y[:8])
    assert str(info.value) == what
    assert_same_state(model, before)


def sqrt(t):  # d sqrt(t)/dt is infinite at 0: a finite loss with a non-finite gradient
    return t ** 0.5


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_train_step_names_the_layer_whose_gradient_is_not_finite():
    model = mc.Sequential([mc.Input((2,)), mc.Dense(1, activation=sqrt, name="root",
                                                    bias_initializer="zeros")])
    model.compile(optimizer="sgd", loss="mse")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(NonFiniteStepError,
                       match=r"^the gradient of layer 'root' weight 'kernel' holds 2 NaN values$"):
        training.train_step(model, np.zeros((4, 2), np.float32), np.ones((4, 1), np.float32))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == 0


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_fit_stops_on_a_non_finite_gradient_with_epoch_and_batch(capsys):
    model = mc.Sequential([mc.Input((2,)), mc.Dense(1, activation=sqrt, name="root",
                                                    use_bias=False, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((12, 2), np.float32)
    x[9:] = 0  # batch 3: the output is 0 exactly, where sqrt's derivative is infinite
    history = model.fit(x, np.zeros((12, 1), np.float32), batch_size=3, epochs=2, verbose=0,
                        shuffle=False)
    out = capsys.readouterr().out
    assert out == ("Epoch 1, batch 3: the gradient of layer 'root' weight 'kernel' holds 2 NaN "
                   "values; the step was refused and the weights left as they were, terminating "
                   "training.\n")
    assert model.refused_step == out.strip()
    assert history.epoch == [0] and model.optimizer.iterations == 3
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_one_nan_pixel_never_reaches_the_weights_and_is_reported(capsys):
    """The issue's scenario: one NaN pixel among the images of a conv net."""
    model = mc.Sequential([mc.Input((6, 6, 1)), mc.Conv2D(2, 3, activation="relu"),
                           mc.Flatten(), mc.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    rng = np.random.default_rng(1)
    x = rng.random((16, 6, 6, 1)).astype(np.float32)
    x[13, 2, 4, 0] = np.nan
    model.fit(x, (rng.random(16) > 0.5).astype(np.float32), batch_size=4, epochs=2,
              shuffle=False, verbose=0)
    assert capsys.readouterr().out.startswith(
        "Epoch 1, batch 3: the input x holds 1 NaN value; the step was refused")
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert model.optimizer.iterations == 3


def test_finite_check_catches_sums_that_overflow_only_when_a_value_is_not_finite():
    from minicnn.models.guards import _all_finite

    big = np.full(10, 3e38, np.float32)  # finite, but its float32 sum overflows
    assert _all_finite(big)
    big[4] = np.inf
    assert not _all_finite(big)
    assert _all_finite(np.arange(3))  # integers are always finite
