import numpy as np
import pytest

import minicnn as mc
from minicnn import metrics


def test_binary_accuracy_threshold_is_strict_and_flat_labels_fit():
    m = metrics.BinaryAccuracy()
    m.update_state(np.array([1.0, 0.0, 1.0]), np.array([[0.5], [0.5], [0.51]]))
    assert m.result() == pytest.approx(2 / 3)  # 0.5 is not > 0.5


def test_running_mean_is_weighted_by_samples():
    m = metrics.SparseCategoricalAccuracy()
    m.update_state([0, 1, 1], np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]))  # 2/3
    m.update_state([1], np.array([[0.1, 0.9]]))  # 1/1
    assert m.result() == pytest.approx(3 / 4)
    m.reset_state()
    assert m.result() == 0.0
    loss = metrics.Mean("loss")
    loss.update_state(2.0, sample_weight=3)
    loss.update_state(6.0, sample_weight=1)
    assert loss.result() == 3.0


def test_accuracy_resolves_from_shapes_like_keras():
    cases = [
        (np.array([1, 0]), np.array([[0.9], [0.2]]), metrics.BinaryAccuracy),
        (np.array([1, 0]), np.array([[0.1, 0.9], [0.8, 0.2]]), metrics.SparseCategoricalAccuracy),
        (np.array([[1], [0]]), np.array([[0.1, 0.9], [0.8, 0.2]]),
         metrics.SparseCategoricalAccuracy),
        (np.eye(2), np.array([[0.9, 0.1], [0.8, 0.2]]), metrics.CategoricalAccuracy),
    ]
    for y, p, cls in cases:
        m = metrics.get("accuracy")
        m.update_state(y, p)
        assert isinstance(m.inner, cls)
    assert metrics.get("acc").name == "acc"
    with pytest.raises(ValueError, match="Received: metric='f1'"):  # "auc" exists now
        metrics.get("f1")


def test_fit_logs_use_the_resolved_accuracy():
    mc.set_seed(0)
    model = mc.Sequential([mc.Input((2,)), mc.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    x = np.eye(3, 2, dtype=np.float32)
    y = np.eye(3)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    assert logs["accuracy"] == pytest.approx((pred.argmax(1) == np.arange(3)).mean())
