import numpy as np
import pytest

import minicnn as mc
from minicnn import losses

EPS = 1e-7


def np_bce(y, p):
    p = np.clip(p, EPS, 1 - EPS)
    return (-(y * np.log(p) + (1 - y) * np.log(1 - p))).mean(-1).mean()


def np_bce_logits(y, z):
    return (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(-1).mean()


def np_cce(y, p):
    p = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (-(y * np.log(p)).sum(-1)).mean()


def np_log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def np_scce(labels, p):
    q = np.clip(p, EPS, 1 - EPS)
    logq = np_log_softmax(np.log(q))
    return -logq[np.arange(len(labels)), labels].mean()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def value(loss, y, p):
    return float(loss(y, p).data)


def test_bce_matches_formula_and_clips_extremes(rng):
    y = rng.integers(0, 2, (6, 3)).astype(np.float64)
    p = rng.uniform(0.01, 0.99, (6, 3))
    p[0, 0], p[1, 1] = 0.0, 1.0  # clipped to 1e-7 / 1 - 1e-7, no inf
    y[0, 0], y[1, 1] = 1.0, 0.0
    got = value(losses.BinaryCrossentropy(), y, p)
    assert np.isfinite(got)
    assert got == pytest.approx(np_bce(y, p), rel=1e-12)
    assert value(losses.BinaryCrossentropy(), [[1.0]], [[0.0]]) == pytest.approx(-np.log(EPS))


def test_bce_from_logits_stable_for_large_logits():
    z = np.array([[-1000.0], [1000.0], [0.3]])
    y = np.array([[1.0], [0.0], [1.0]])
    got = value(losses.BinaryCrossentropy(from_logits=True), y, z)
    assert got == pytest.approx(np_bce_logits(y, z))
    assert np.isfinite(got)


def test_bce_accepts_flat_labels_for_one_unit_and_rejects_bad_shapes():
    p = np.array([[0.2], [0.9]])
    assert value(losses.BinaryCrossentropy(), np.array([0.0, 1.0]), p) == pytest.approx(
        np_bce(np.array([[0.0], [1.0]]), p))
    with pytest.raises(ValueError, match=r"y_true.shape=\(3,\).*y_pred.shape=\(2, 1\)"):
        losses.BinaryCrossentropy()(np.zeros(3), p)


def test_cce_normalises_and_clips(rng):
    y = np.eye(4)[rng.integers(0, 4, 5)]
    p = rng.uniform(0.1, 2.0, (5, 4))  # not normalised: Keras divides by the sum
    assert value(losses.CategoricalCrossentropy(), y, p) == pytest.approx(np_cce(y, p))
    p[0] = [0.0, 0.0, 0.0, 1.0]
    y[0] = [1.0, 0, 0, 0]
    assert value(losses.CategoricalCrossentropy(), y, p) == pytest.approx(np_cce(y, p))


def test_cce_and_scce_from_logits(rng):
    z = rng.normal(0, 3, (5, 4))
    labels = rng.integers(0, 4, 5)
    y = np.eye(4)[labels]
    expected = -(y * np_log_softmax(z)).sum(-1).mean()
    assert value(losses.CategoricalCrossentropy(from_logits=True), y, z) == pytest.approx(expected)
    assert value(losses.SparseCategoricalCrossentropy(from_logits=True), labels, z) == \
        pytest.approx(expected)


def test_scce_probabilities_and_label_shapes(rng):
    p = rng.dirichlet(np.ones(3), 6)
    p[0] = [1.0, 0.0, 0.0]
    labels = rng.integers(0, 3, 6)
    labels[0] = 1
    expected = np_scce(labels, p)
    assert value(losses.SparseCategoricalCrossentropy(), labels, p) == pytest.approx(expected)
    assert value(losses.SparseCategoricalCrossentropy(), labels[:, None], p) == \
        pytest.approx(expected)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
        losses.SparseCategoricalCrossentropy()(np.array([3, 0, 0, 0, 0, 0]), p)


def test_mse_and_reductions(rng):
    y, p = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    per_sample = ((y - p) ** 2).mean(-1)
    assert value(losses.MeanSquaredError(), y, p) == pytest.approx(per_sample.mean())
    assert value(losses.MeanSquaredError(reduction="sum"), y, p) == pytest.approx(per_sample.sum())
    np.testing.assert_allclose(losses.mse(y, p).data, per_sample)
    with pytest.raises(ValueError, match="reduction='average'"):  # Keras 3 accepts "mean"
        losses.MeanSquaredError(reduction="average")


def test_get_resolves_names_and_rejects_unknown():
    assert isinstance(losses.get("mse"), losses.MeanSquaredError)
    assert isinstance(losses.get("binary_crossentropy"), losses.BinaryCrossentropy)
    with pytest.raises(ValueError, match="Received: loss='foo'"):
        losses.get("foo")


def test_float32_stays_float32():
    p = np.full((2, 1), 0.3, np.float32)
    t = mc.Tensor(p, requires_grad=True)
    out = losses.BinaryCrossentropy()(np.ones(2, np.float32), t)
    assert out.dtype == np.float32
    out.backward()
    assert t.grad.dtype == np.float32


def numeric_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


CASES = [
    ("bce", lambda: losses.BinaryCrossentropy(), "prob", "binary"),
    ("bce_logits", lambda: losses.BinaryCrossentropy(from_logits=True), "logit", "binary"),
    ("cce", lambda: losses.CategoricalCrossentropy(), "prob", "onehot"),
    ("cce_logits", lambda: losses.CategoricalCrossentropy(from_logits=True), "logit", "onehot"),
    ("scce", lambda: losses.SparseCategoricalCrossentropy(), "prob", "sparse"),
    ("scce_logits", lambda: losses.SparseCategoricalCrossentropy(from_logits=True), "logit",
     "sparse"),
    ("mse", lambda: losses.MeanSquaredError(), "logit", "real"),
    ("mse_none", lambda: losses.MeanSquaredError(reduction="none"), "logit", "real"),
    ("bce_sum", lambda: losses.BinaryCrossentropy(reduction="sum"), "prob", "binary"),
]


@pytest.mark.parametrize("name,make,kind,labels", CASES, ids=[c[0] for c in CASES])
def test_gradient_check_float64(name, make, kind, labels):
    rng = np.random.default_rng(1)
    shape = (4, 3)
    x = rng.uniform(0.05, 0.95, shape) if kind == "prob" else rng.normal(0, 2, shape)
    y = {"binary": lambda: rng.integers(0, 2, shape).astype(np.float64),
         "onehot": lambda: np.eye(3)[rng.integers(0, 3, 4)],
         "sparse": lambda: rng.integers(0, 3, 4),
         "real": lambda: rng.normal(size=shape)}[labels]()
    loss = make()
    direction = rng.normal(size=4) if name.endswith("none") else None

    def f(arr):
        out = loss(y, mc.Tensor(arr)).data
        return float(out @ direction) if direction is not None else float(out)

    t = mc.Tensor(x.copy(), requires_grad=True)
    out = loss(y, t)
    assert out.dtype == np.float64
    out.backward(direction)
    np.testing.assert_allclose(t.grad, numeric_grad(f, x), rtol=1e-6, atol=1e-8)


def test_clipped_region_has_zero_gradient():
    t = mc.Tensor(np.array([[0.0], [1.0]]), requires_grad=True)
    losses.BinaryCrossentropy()(np.array([[1.0], [0.0]]), t).backward()
    np.testing.assert_array_equal(t.grad, 0.0)
