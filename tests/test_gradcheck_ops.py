"""Float64 gradient checks for every op, one table row each."""

import numpy as np
import pytest

import minicnn as mc
import minicnn.functional as F
from tests.gradcheck import check_gradients
from tests.paths import use_path


@pytest.fixture(autouse=True, params=["fast", "plain"])
def path(request, monkeypatch):
    """Every check on both paths: the default fast routes and the plain ops (MINICNN_FAST=0)."""
    use_path(request.param, monkeypatch)
    return request.param

R = np.random.default_rng(7)


def pos(*shape):
    return R.uniform(0.5, 2.0, size=shape)


def any_(*shape):
    return R.standard_normal(shape)


def away_from_zero(*shape):
    x = R.uniform(0.2, 1.5, size=shape)
    return x * R.choice([-1.0, 1.0], size=shape)


def distinct(*shape):
    # well-separated values so max/argmax are not ties within eps
    return R.permutation(np.arange(int(np.prod(shape)), dtype=np.float64)).reshape(shape) * 0.1


CASES = [
    ("add", lambda a, b: a + b, [any_(2, 3), any_(2, 3)]),
    ("add_broadcast", lambda a, b: a + b, [any_(2, 3), any_(3)]),
    ("sub_broadcast", lambda a, b: a - b, [any_(2, 1, 3), any_(4, 1)]),
    ("mul_broadcast", lambda a, b: a * b, [any_(2, 3), any_(2, 1)]),
    ("div", lambda a, b: a / b, [any_(3, 2), pos(3, 2)]),
    ("rdiv_scalar", lambda a: 2.0 / a, [pos(4)]),
    ("neg", lambda a: -a, [any_(3)]),
    ("pow_scalar", lambda a: a**3, [any_(2, 2)]),
    ("pow_tensor", lambda a, b: a**b, [pos(3), any_(3)]),
    ("matmul", lambda a, b: a @ b, [any_(3, 4), any_(4, 2)]),
    ("matmul_vec", lambda a, b: a @ b, [any_(3, 4), any_(4)]),
    ("matmul_batched", lambda a, b: a @ b, [any_(2, 3, 4), any_(4, 5)]),
    ("sum_all", lambda a: a.sum(), [any_(2, 3)]),
    ("sum_axis", lambda a: a.sum(axis=1), [any_(2, 3, 4)]),
    ("sum_keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), [any_(2, 3, 4)]),
    ("mean_axis", lambda a: a.mean(axis=-1), [any_(3, 5)]),
    ("mean_all", lambda a: a.mean(), [any_(3, 5)]),
    ("max_axis", lambda a: a.max(axis=1), [distinct(3, 4)]),
    ("max_keepdims", lambda a: a.max(axis=0, keepdims=True), [distinct(3, 4)]),
    ("max_all", lambda a: a.max(), [distinct(2, 3)]),
    ("reshape", lambda a: a.reshape(6, 2), [any_(3, 4)]),
    ("transpose", lambda a: a.transpose(2, 0, 1), [any_(2, 3, 4)]),
    ("T", lambda a: a.T, [any_(2, 3)]),
    ("getitem_slice", lambda a: a[1:, ::2], [any_(3, 4)]),
    ("getitem_repeat", lambda a: a[np.array([0, 0, 2])], [any_(3, 2)]),
    ("exp", lambda a: a.exp(), [any_(3)]),
    ("log", lambda a: a.log(), [pos(3)]),
    ("relu", lambda a: a.relu(), [away_from_zero(3, 4)]),
    ("sigmoid", lambda a: a.sigmoid(), [any_(3, 4)]),
    ("tanh", lambda a: a.tanh(), [any_(3, 4)]),
    ("softmax", lambda a: a.softmax(axis=-1), [any_(3, 4)]),
    ("softmax_axis0", lambda a: a.softmax(axis=0), [any_(3, 4)]),
    ("log_softmax", lambda a: a.log_softmax(axis=-1), [any_(3, 4)]),
    ("concatenate", lambda a, b: mc.concatenate([a, b], axis=1), [any_(2, 3), any_(2, 2)]),
    ("linear", lambda x, w, b: F.linear(x, w, b), [any_(4, 3), any_(3, 2), any_(2)]),
    ("linear_nd", lambda x, w, b: F.linear(x, w, b), [any_(2, 4, 3), any_(3, 2), any_(2)]),
]


@pytest.mark.parametrize("name, fn, inputs", CASES, ids=[c[0] for c in CASES])
def test_op_gradient(name, fn, inputs):
    check_gradients(fn, *inputs)


def test_max_shares_gradient_between_ties_like_tensorflow():
    x = mc.Tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5]])


def test_sigmoid_is_finite_at_extremes():
    y = mc.Tensor([-1000.0, 0.0, 1000.0]).sigmoid().data
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0])
