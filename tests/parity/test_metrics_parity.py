"""Metrics against live Keras: top-k accuracy, Precision, Recall and AUC accumulated over several
batches (with and without sample weights), and the names strings resolve to."""

from __future__ import annotations

import numpy as np
import pytest
from parity_tools import rel_err

import minicnn as mc

TOL = 1e-6


def _batches(kind, seed, n_batches=3, n=16, k=5):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_batches):
        w = rng.uniform(0, 2, n).astype(np.float32)
        if kind == "binary":
            y = rng.integers(0, 2, (n, 1)).astype(np.float32)
            p = np.clip(rng.normal(0.5 * y + 0.25, 0.25), 0, 1).astype(np.float32)
        elif kind == "multilabel":
            y = rng.integers(0, 2, (n, k)).astype(np.float32)
            p = rng.uniform(0, 1, (n, k)).astype(np.float32)
        else:  # categorical / sparse
            labels = rng.integers(0, k, n)
            y = np.eye(k, dtype=np.float32)[labels] if kind == "categorical" else labels
            p = rng.uniform(0, 1, (n, k)).astype(np.float32)
        out.append((y, p, w))
    return out


def _compare(keras, record, check, mine, theirs, batches, weighted):
    for i, (y, p, w) in enumerate(batches):
        sw = w if weighted else None
        mine.update_state(y, p, sample_weight=sw)
        theirs.update_state(y, p, sample_weight=sw)
        got, want = mine.result(), float(theirs.result())
        err = record(f"metric.{check}", rel_err(got, want))
        assert err <= TOL, f"batch {i}: {got} vs Keras {want}"
    mine.reset_state()
    theirs.reset_state()
    assert mine.result() == float(theirs.result()) == 0.0


CASES = {
    "top_k_k5": ("TopKCategoricalAccuracy", {}, "categorical"),
    "top_k_k2": ("TopKCategoricalAccuracy", dict(k=2), "categorical"),
    "sparse_top_k_k3": ("SparseTopKCategoricalAccuracy", dict(k=3), "sparse"),
    "precision": ("Precision", {}, "binary"),
    "precision_threshold": ("Precision", dict(thresholds=0.3), "binary"),
    "precision_top_k": ("Precision", dict(top_k=2), "multilabel"),
    "precision_class_id": ("Precision", dict(class_id=3), "multilabel"),
    "recall": ("Recall", {}, "binary"),
    "recall_threshold": ("Recall", dict(thresholds=0.7), "binary"),
    "recall_top_k_class_id": ("Recall", dict(top_k=3, class_id=1), "multilabel"),
    "auc_roc": ("AUC", {}, "binary"),
    "auc_roc_minoring": ("AUC", dict(summation_method="minoring"), "binary"),
    "auc_roc_majoring": ("AUC", dict(summation_method="majoring"), "binary"),
    "auc_pr": ("AUC", dict(curve="PR"), "binary"),
    "auc_pr_majoring": ("AUC", dict(curve="PR", summation_method="majoring"), "binary"),
    "auc_roc_7_thresholds": ("AUC", dict(num_thresholds=7), "binary"),
    "auc_pr_7_thresholds": ("AUC", dict(num_thresholds=7, curve="PR"), "binary"),
    "auc_multilabel_flattened": ("AUC", {}, "multilabel"),
    "binary_accuracy_threshold": ("BinaryAccuracy", dict(threshold=0.3), "binary"),
    "mse": ("MeanSquaredError", {}, "binary"),
    "mae": ("MeanAbsoluteError", {}, "multilabel"),
}


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name", CASES)
def test_metric_matches_keras(keras, record, name, weighted):
    cls, kwargs, kind = CASES[name]
    mine = getattr(mc.metrics, cls)(**kwargs)
    theirs = getattr(keras.metrics, cls)(**kwargs)
    _compare(keras, record, name, mine, theirs, _batches(kind, seed=len(name)), weighted)


def test_auc_from_logits_matches_keras(keras, record):
    rng = np.random.default_rng(2)
    batches = [(rng.integers(0, 2, (16, 1)).astype(np.float32),
                rng.normal(0, 2, (16, 1)).astype(np.float32), None) for _ in range(3)]
    _compare(keras, record, "auc_from_logits", mc.metrics.AUC(from_logits=True),
             keras.metrics.AUC(from_logits=True), batches, weighted=False)


def test_top_k_ties_count_as_in_top_k_like_keras(keras):
    y = np.eye(4, dtype=np.float32)[[0, 3]]
    p = np.array([[0.3, 0.3, 0.3, 0.1], [0.2, 0.2, 0.2, 0.2]], np.float32)
    for k in (1, 2):
        mine, theirs = mc.metrics.TopKCategoricalAccuracy(k=k), \
            keras.metrics.TopKCategoricalAccuracy(k=k)
        mine.update_state(y, p)
        theirs.update_state(y, p)
        assert mine.result() == pytest.approx(float(theirs.result()))


@pytest.mark.parametrize("identifier", ["accuracy", "acc", "binary_accuracy", "precision",
                                        "recall", "auc", "top_k_categorical_accuracy",
                                        "mse", "mae"])
def test_metric_strings_give_keras_log_keys(keras, identifier):
    """compile(metrics=[string]) logs under the string itself, as Keras's get_metric names it."""
    x = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    units = 5 if "top_k" in identifier else 1
    if units > 1:
        y = np.eye(5, dtype=np.float32)[np.arange(8) % 5]
    kmodel = keras.Sequential([keras.Input((3,)), keras.layers.Dense(units,
                                                                   activation="sigmoid")])
    kmodel.compile(optimizer="sgd", loss="mse", metrics=[identifier])
    model = mc.Sequential([mc.Input((3,)), mc.layers.Dense(units, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="mse", metrics=[identifier])
    k_keys = sorted(kmodel.fit(x, y, epochs=1, verbose=0).history)
    m_keys = sorted(model.fit(x, y, epochs=1, verbose=0).history)
    assert m_keys == k_keys
