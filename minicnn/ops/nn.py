"""Dense-layer and regularisation functions: linear (x @ w + b) and inverted dropout."""

from __future__ import annotations

import numpy as np

from minicnn.tensor import Function, Tensor


class Linear(Function):
    """y = x @ w + b for x of shape (N, in): one GEMM forward, two backward."""

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        y = x @ w
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        gx = gy @ self.w.T if self.needs_input_grad[0] else None
        gw = self.x.T @ gy if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 3:
            gb = gy.sum(axis=0) if self.needs_input_grad[2] else None
            return gx, gw, gb
        return gx, gw


def linear(x: Tensor, w: Tensor, b: Tensor | None = None) -> Tensor:
    """Fully connected map ``x @ w + b`` over the last axis.

    Shape: x (N, ..., in), w (in, out), b (out,) -> (N, ..., out)
    """
    if x.ndim == 2:
        return Linear.apply(x, w) if b is None else Linear.apply(x, w, b)
    y = x @ w
    return y if b is None else y + b


class DropoutFn(Function):
    def forward(self, x, rate, rng):
        keep = 1.0 - rate
        # Keras: keep where uniform >= rate, scale kept values by 1 / (1 - rate)
        self.mask = (rng.random(x.shape, dtype=np.float32) >= rate).astype(x.dtype)
        self.mask *= x.dtype.type(1.0 / keep)
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x: Tensor, rate: float, training: bool, rng: np.random.Generator) -> Tensor:
    """Inverted dropout: zero a ``rate`` fraction when training, identity otherwise."""
    if not training or rate == 0.0:
        return x
    return DropoutFn.apply(x, rate=rate, rng=rng)
