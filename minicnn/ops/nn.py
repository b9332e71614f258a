"""Dense-layer and regularisation functions: linear (x @ w + b) and inverted dropout."""

from __future__ import annotations

import numpy as np

from minicnn.tensor import Function, Tensor


class Linear(Function):
    """y = x @ w + b (+ fused ReLU) for x of shape (N, in): one GEMM forward, two backward.

    Gradients: ``gy @ w.T``, ``x.T @ gy`` and ``gy.sum(0)`` (``gy`` masked by y > 0 with ReLU).

    Shape: x (N, in), w (in, out), b (out,) -> (N, out)

    Example:
        >>> import minicnn as mc
        >>> from minicnn.ops.nn import Linear
        >>> Linear.apply(mc.Tensor([[1.0, 2.0]]), mc.Tensor([[1.0], [-1.0]]), activation="relu")
        Tensor([[0.]])
    """

    def forward(self, x, w, b=None, activation="linear"):
        self.x, self.w = x, w
        y = x @ w
        if b is not None:
            y += b
        self.relu = activation == "relu"
        if self.relu:
            np.maximum(y, 0, out=y)
            self.y = y
        return y

    def backward(self, gy):
        if self.relu:
            gy = np.where(self.y > 0, gy, 0).astype(gy.dtype, copy=False)
        gx = gy @ self.w.T if self.needs_input_grad[0] else None
        gw = self.x.T @ gy if self.needs_input_grad[1] else None
        if len(self.needs_input_grad) == 3:
            gb = gy.sum(axis=0) if self.needs_input_grad[2] else None
            return gx, gw, gb
        return gx, gw


def linear(x: Tensor, w: Tensor, b: Tensor | None = None, activation: str = "linear") -> Tensor:
    """Fully connected map ``x @ w + b`` over the last axis, optionally with a fused ReLU.

    Args:
        x: the input.  w: the kernel.  b: an optional bias.
        activation: "linear" or "relu".

    Shape: x (N, ..., in), w (in, out), b (out,) -> (N, ..., out)

    Example:
        >>> import minicnn as mc
        >>> from minicnn.ops.nn import linear
        >>> linear(mc.Tensor([[1.0, 2.0]]), mc.Tensor([[1.0], [1.0]]), mc.Tensor([0.5]))
        Tensor([[3.5]])
    """
    if activation not in ("linear", "relu"):
        raise ValueError(f"linear: fused activation must be 'linear' or 'relu'. "
                         f"Received: {activation!r}")
    if x.ndim == 2:
        args = (x, w) if b is None else (x, w, b)
        return Linear.apply(*args, activation=activation)
    y = x @ w
    y = y if b is None else y + b
    return y.relu() if activation == "relu" else y


class DropoutFn(Function):
    """Inverted dropout: keep each value with probability ``1 - rate`` (drawn from ``rng``) and
    scale it by ``1 / (1 - rate)``; the gradient is ``gy`` times the same scaled mask.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.nn import DropoutFn
        >>> y = DropoutFn.apply(mc.Tensor(np.ones(4)), rate=0.5, rng=np.random.default_rng(0))
        >>> sorted(set(y.data.tolist()) | {0.0, 2.0})
        [0.0, 2.0]
    """

    def forward(self, x, rate, rng):
        keep = 1.0 - rate
        # Keras: keep where uniform >= rate, scale kept values by 1 / (1 - rate)
        self.mask = (rng.random(x.shape, dtype=np.float32) >= rate).astype(x.dtype)
        self.mask *= x.dtype.type(1.0 / keep)
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x: Tensor, rate: float, training: bool, rng: np.random.Generator) -> Tensor:
    """Inverted dropout: zero a ``rate`` fraction when training, identity otherwise.

    Args:
        x: the input.  rate: the fraction to drop, in [0, 1).
        training: apply dropout only when True.  rng: the generator drawing the mask.

    Shape: any -> same shape

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.ops.nn import dropout
        >>> x = mc.Tensor([1.0, 2.0])
        >>> dropout(x, 0.5, training=False, rng=np.random.default_rng(0)) is x
        True
    """
    if not training or rate == 0.0:
        return x
    return DropoutFn.apply(x, rate=rate, rng=rng)
