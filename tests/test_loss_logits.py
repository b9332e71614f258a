"""Cross-entropies of a tagged sigmoid/softmax output use its logits, as Keras on TensorFlow."""

import numpy as np
import pytest

import minicnn as mc


@pytest.mark.parametrize("z,y,expected", [(30.0, 0.0, 30.0), (-30.0, 1.0, 30.0), (0.0, 1.0,
                                                                                  np.log(2))])
def test_bce_of_a_sigmoid_output_uses_the_logits(z, y, expected):
    logits = mc.Tensor([[z]], requires_grad=True)
    loss = mc.losses.BinaryCrossentropy()(np.array([[y]]), mc.activations.sigmoid(logits))
    assert float(loss.data) == pytest.approx(expected, rel=1e-6)
    loss.backward()  # d/dz = sigmoid(z) - y, exact even where the probability saturates
    assert logits.grad[0, 0] == pytest.approx(1 / (1 + np.exp(-z)) - y, abs=1e-7)


def test_plain_probabilities_are_still_clipped():
    p = mc.activations.sigmoid(mc.Tensor([[30.0]])).data  # an array: the tag is gone
    loss = mc.losses.BinaryCrossentropy()(np.array([[0.0]]), p)
    assert float(loss.data) == pytest.approx(-np.log(np.float32(2.0**-23)), rel=1e-6)


def test_softmax_tag_serves_categorical_losses_only():
    logits = mc.Tensor([[40.0, 0.0, -40.0]])
    probs = mc.activations.softmax(logits)
    cce = mc.losses.CategoricalCrossentropy()(np.array([[0.0, 0.0, 1.0]]), probs)
    assert float(cce.data) == pytest.approx(80.0, rel=1e-6)  # unclipped: log-sum-exp
    sparse = mc.losses.SparseCategoricalCrossentropy()(np.array([2]), probs)
    assert float(sparse.data) == pytest.approx(80.0, rel=1e-6)
    bce = mc.losses.BinaryCrossentropy()(np.array([[0.0, 0.0, 1.0]]), probs)
    clipped = mc.losses.BinaryCrossentropy()(np.array([[0.0, 0.0, 1.0]]), probs.data)
    assert float(bce.data) == float(clipped.data)  # the softmax tag is ignored by BCE


def test_dense_sigmoid_model_trains_on_the_logits():
    model = mc.Sequential([mc.Input((1,)), mc.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.ones((1, 1), np.float32), np.array([30.0], np.float32)])
    model.compile(optimizer=mc.optimizers.SGD(0.0), loss="binary_crossentropy")
    x, y = np.zeros((2, 1), np.float32), np.zeros((2, 1), np.float32)
    assert model.train_on_batch(x, y) == pytest.approx(30.0)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(30.0)
