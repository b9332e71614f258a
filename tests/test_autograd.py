"""The autograd core: accumulation, order, graph release, no_grad, dtypes."""

import numpy as np
import pytest

import minicnn as mc
from minicnn.tensor import unbroadcast


def test_diamond_graph_accumulates():
    # y = x*x + x uses x three times: dy/dx = 2x + 1
    x = mc.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = (x * x + x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, [3.0, -3.0, 7.0])


def test_shared_subexpression_counts_each_path():
    x = mc.Tensor(2.0, requires_grad=True)
    a = x * 3.0
    y = a * a + a  # dy/da = 2a + 1 = 13, da/dx = 3
    y.backward()
    assert x.grad == pytest.approx(39.0)


def test_twenty_thousand_op_chain_has_no_recursion_limit():
    x = mc.Tensor(np.ones(3), requires_grad=True, dtype=np.float64)
    y = x
    for _ in range(20_000):
        y = y + 1e-4 * y
    y.sum().backward()
    np.testing.assert_allclose(x.grad, (1 + 1e-4) ** 20_000 * np.ones(3), rtol=1e-9)


def test_grads_accumulate_across_backward_calls():
    w = mc.Tensor([1.0, 2.0], requires_grad=True)
    (w * 2).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_allclose(w.grad, [5.0, 5.0])


def test_graph_is_released_after_backward():
    x = mc.Tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = h.sum()
    y.backward()
    assert h._ctx.released and h._ctx.parents == ()  # saved arrays and parents dropped
    assert not hasattr(h._ctx, "a")
    with pytest.raises(RuntimeError, match="already released"):
        y.backward()


def test_backward_on_constant_raises_clearly():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mc.Tensor([1.0]).sum().backward()


def test_no_grad_records_nothing():
    w = mc.Tensor([1.0], requires_grad=True)
    with mc.no_grad():
        y = w * 2 + 1
        assert not mc.is_grad_enabled()
    assert mc.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None


def test_only_needed_inputs_get_grads():
    a = mc.Tensor([1.0, 2.0], requires_grad=True)
    b = mc.Tensor([3.0, 4.0])
    (a * b).sum().backward()
    np.testing.assert_allclose(a.grad, [3.0, 4.0])
    assert b.grad is None


def test_float32_default_and_float64_kept():
    assert mc.Tensor([1, 2]).dtype == np.float32
    assert mc.Tensor(np.zeros(2)).dtype == np.float64
    x = mc.Tensor(np.zeros(2, np.float32))
    assert (x * 2.5 + 1).dtype == np.float32  # Python scalars never upcast


def test_ndarray_on_the_left_dispatches_to_tensor():
    x = mc.Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([2.0, 2.0], np.float32) * x
    assert isinstance(y, mc.Tensor)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0])


@pytest.mark.parametrize(
    "grad_shape, target, expected",
    [
        ((2, 3), (3,), np.full(3, 2.0)),
        ((2, 3), (1, 3), np.full((1, 3), 2.0)),
        ((2, 3), (2, 1), np.full((2, 1), 3.0)),
        ((4, 2, 3), (2, 1), np.full((2, 1), 12.0)),
        ((2, 3), (), np.array(6.0)),
    ],
)
def test_unbroadcast_sums_broadcast_axes(grad_shape, target, expected):
    np.testing.assert_allclose(unbroadcast(np.ones(grad_shape), target), expected)


def test_backward_grad_shape_mismatch_is_named():
    x = mc.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad shape \(3,\)"):
        (x * 2).backward(np.ones(3))


def test_concatenate_requires_input():
    with pytest.raises(ValueError, match="at least one tensor"):
        mc.concatenate([])


def test_numpy_conversion_gives_the_values():
    """np.asarray / np.array of a Tensor give its values (not an object array of Tensors), with
    NumPy 2's copy rules; arithmetic with arrays still records on the tape."""
    t = mc.Tensor([[1.0, 2.0]], requires_grad=True)
    a = np.asarray(t)
    assert a.dtype == np.float32 and a is t.data
    b = np.array(t)
    assert b is not t.data and np.array_equal(b, t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, dtype=np.float64, copy=False)
    y = np.array([[3.0, 4.0]], np.float32) * t
    assert isinstance(y, mc.Tensor) and y.requires_grad
