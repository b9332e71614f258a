"""Shared helpers of the parity tests: the error measure and one forward/backward per side."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from minicnn.models.fusion import run_layers
from minicnn.tensor import Tensor

FORWARD_TOL = 1e-5
GRAD_TOL = 1e-4


def rel_err(a, b) -> float:
    """max |a - b| / max |b| (b is the TensorFlow value); 0 when both are all zeros."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shapes differ: minicnn {a.shape} vs TensorFlow {b.shape}"
    scale = np.abs(b).max(initial=0.0)
    diff = np.abs(a - b).max(initial=0.0)
    return diff / scale if scale > 0 else diff


def run_minicnn(layers: Sequence, x: np.ndarray, R: np.ndarray, training: bool = False,
                fused: bool = False):
    """y, and gradients of sum(y * R) w.r.t. x and every weight (layer order, kernel/bias).

    ``fused`` runs the layers as ``Sequential`` does (Conv2D(relu) + MaxPooling2D pairs as one
    operation); otherwise each layer is called on its own."""
    params = [w for layer in layers for w in layer.weights]
    for w in params:
        w.grad = None
    xt = Tensor(x, requires_grad=True)
    if fused:
        y = run_layers(layers, xt, training=training)
    else:
        y = xt
        for layer in layers:
            y = layer(y, training=training)
    loss = (y * Tensor(R)).sum()
    loss.backward()
    return y.data, [xt.grad] + [w.grad for w in params]


def run_keras(tf, layers: Sequence, x: np.ndarray, R: np.ndarray, training: bool = False):
    """The same as ``run_minicnn`` with ``tf.GradientTape`` (weights in get_weights order;
    None for a weight the tape does not reach, such as BatchNormalization's moving statistics,
    which are updated by assignment, not differentiated)."""
    xt = tf.constant(x)
    params = [w for layer in layers for w in layer.weights]
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = xt
        for layer in layers:
            y = layer(y, training=training)
        loss = tf.reduce_sum(y * tf.constant(R))
    grads = tape.gradient(loss, [xt] + params)
    return y.numpy(), [None if g is None else g.numpy() for g in grads]


def compare(record, name: str, mine, theirs, tol: float, detail: str = "") -> float:
    """Record rel_err(mine, theirs) under ``name`` and assert it is within ``tol``."""
    err = record(name, rel_err(mine, theirs))
    assert err <= tol, f"{name}{' ' + detail if detail else ''}: relative error {err:.3g} > {tol:g}"
    return err
