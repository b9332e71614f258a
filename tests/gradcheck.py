"""Float64 gradient checks: full central differences for small inputs, a random-direction
(directional derivative) check for larger ones."""

from __future__ import annotations

import numpy as np

import minicnn as mc


def _loss_and_grads(fn, arrays, projection):
    tensors = [mc.Tensor(a.copy(), requires_grad=True, dtype=np.float64) for a in arrays]
    out = fn(*tensors)
    loss = (out * mc.Tensor(projection)).sum()
    loss.backward()
    return [t.grad for t in tensors]


def _value(fn, arrays, projection):
    with mc.no_grad():
        out = fn(*[mc.Tensor(a, dtype=np.float64) for a in arrays])
    return float((out.data * projection).sum())


def check_gradients(fn, *arrays, seed=0, eps=1e-6, rtol=1e-5, atol=1e-7, max_full=300):
    """Compare autograd gradients of sum(fn(*arrays) * P) with central differences.

    P is a fixed random projection, so every output element matters. Inputs with at most
    ``max_full`` elements get an elementwise check; larger ones a random-direction check.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    with mc.no_grad():
        out_shape = fn(*[mc.Tensor(a, dtype=np.float64) for a in arrays]).shape
    projection = rng.standard_normal(out_shape)
    grads = _loss_and_grads(fn, arrays, projection)
    for i, (a, g) in enumerate(zip(arrays, grads)):
        assert g is not None, f"input {i} got no gradient"
        assert g.shape == a.shape, f"input {i}: grad shape {g.shape} != {a.shape}"
        if a.size <= max_full:
            numeric = np.zeros_like(a)
            for idx in np.ndindex(a.shape):
                plus = [b.copy() for b in arrays]
                minus = [b.copy() for b in arrays]
                plus[i][idx] += eps
                minus[i][idx] -= eps
                numeric[idx] = (_value(fn, plus, projection) - _value(fn, minus, projection)) / (
                    2 * eps
                )
            np.testing.assert_allclose(g, numeric, rtol=rtol, atol=atol,
                                       err_msg=f"gradient of input {i}")
        else:
            direction = rng.standard_normal(a.shape)
            plus = [b.copy() for b in arrays]
            minus = [b.copy() for b in arrays]
            plus[i] += eps * direction
            minus[i] -= eps * direction
            numeric = (_value(fn, plus, projection) - _value(fn, minus, projection)) / (2 * eps)
            analytic = float((g * direction).sum())
            np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol,
                                       err_msg=f"directional gradient of input {i}")
