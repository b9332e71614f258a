"""Tensor, Function and reverse-mode autograd.

A ``Tensor`` wraps a NumPy array. Every differentiable operation is a ``Function`` subclass: one
instance per call, holding its parent tensors and whatever its backward needs. ``Tensor.backward``
orders the graph with an iterative topological sort (no recursion limit), accumulates gradients
(so a tensor used twice gets the sum), and frees each node's saved arrays once it has been used.

Example:
    >>> import minicnn as mc
    >>> x = mc.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x + x).sum()
    >>> y.backward()
    >>> x.grad
    array([3., 5., 7.], dtype=float32)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from minicnn import profiler

_FLOAT_TYPES = (np.float32, np.float64)


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph for ``backward``.

    Example:
        >>> import minicnn as mc
        >>> with mc.no_grad():
        ...     print(mc.is_grad_enabled())
        False
    """
    return _grad_mode.enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager that disables graph recording (inference, optimiser updates).

    Example:
        >>> import minicnn as mc
        >>> w = mc.Tensor([1.0], requires_grad=True)
        >>> with mc.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """
    previous = _grad_mode.enabled
    _grad_mode.enabled = False
    try:
        yield
    finally:
        _grad_mode.enabled = previous


def as_array(value: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``value`` to a float ndarray: float32, except that float64 ndarrays stay float64.

    Args:
        value: a Tensor (its data is used), ndarray, scalar or nested sequence.
        dtype: force this dtype instead of the rule above.

    Example:
        >>> import numpy as np
        >>> from minicnn.tensor import as_array
        >>> as_array([1, 2]).dtype, as_array(np.zeros(2)).dtype
        (dtype('float32'), dtype('float64'))
    """
    if isinstance(value, Tensor):
        value = value.data
    if dtype is not None:
        return np.asarray(value, dtype=dtype)
    if isinstance(value, np.ndarray) and value.dtype in _FLOAT_TYPES:
        return value  # float32 as is; float64 only when asked for by passing such an array
    return np.asarray(value, dtype=np.float32)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting in one place.

    Args:
        grad: the gradient of a broadcast result.
        shape: the shape of the operand that was broadcast.

    Shape: (extra..., *broadcast shape) -> shape

    Example:
        >>> import numpy as np
        >>> from minicnn.tensor import unbroadcast
        >>> unbroadcast(np.ones((2, 3)), (1, 3))
        array([[2., 2., 2.]])
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Tensor:
    """An n-dimensional float array that can record the operations applied to it.

    Args:
        data: array-like; float64 arrays stay float64 (for gradient checks), everything else
            becomes float32.
        requires_grad: whether ``backward`` should compute ``.grad`` for this tensor.
        dtype: force a dtype instead of the rule above.

    Example:
        >>> import minicnn as mc
        >>> t = mc.Tensor([[1, 2], [3, 4]])
        >>> t.shape, t.dtype
        ((2, 2), dtype('float32'))
    """

    __array_priority__ = 100  # make ndarray + Tensor dispatch to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None):
        self.data: np.ndarray = as_array(data, dtype)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._ctx: Function | None = None

    # ----------------------------------------------------------------- basics
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def numpy(self) -> np.ndarray:
        """The underlying array (not a copy)."""
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)`` / ``np.array(t)``: the values, as Keras tensors convert (before,
        NumPy iterated the tensor into an object array of scalar Tensors). ``copy`` as NumPy 2
        asks: None copies only to change the dtype, True always, False never (raises when a
        dtype change would need one). Arithmetic with arrays still gives Tensors
        (``__array_priority__``)."""
        data = self.data
        if dtype is not None and np.dtype(dtype) != data.dtype:
            if copy is False:
                raise ValueError(f"np.asarray(Tensor, dtype={np.dtype(dtype)}, copy=False): "
                                 f"the values are {data.dtype}; a copy is needed.")
            return data.astype(dtype)
        return data.copy() if copy else data

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> Tensor:
        """A tensor sharing the data but cut from the graph."""
        return Tensor(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        return f"Tensor({body}{grad})"

    # --------------------------------------------------------------- backward
    def backward(self, grad: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires it.

        ``grad`` defaults to ones (so a scalar loss needs no argument). The graph is released
        as it is walked: calling ``backward`` twice through the same graph raises.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad "
                "(no input of the computation had requires_grad=True, or it ran under no_grad())."
            )
        seed = np.ones_like(self.data) if grad is None else as_array(grad, self.dtype)
        if seed.shape != self.shape:
            raise ValueError(
                f"backward(): grad shape {seed.shape} does not match tensor shape {self.shape}."
            )
        grads: dict[int, np.ndarray] = {id(self): seed}
        for node in reversed(_topological_order(self)):
            g = grads.pop(id(node), None)
            ctx = node._ctx
            if ctx is None:  # a leaf
                if g is not None:
                    node.grad = g if node.grad is None else node.grad + g
                continue
            if g is not None:
                with profiler.timed(type(ctx).__name__ + ".backward"):
                    parent_grads = ctx.backward(g)
                if not isinstance(parent_grads, tuple):
                    parent_grads = (parent_grads,)
                for parent, pg in zip(ctx.parents, parent_grads):
                    if pg is None or not parent.requires_grad:
                        continue
                    key = id(parent)
                    grads[key] = pg if key not in grads else grads[key] + pg
            ctx.release()  # keep the empty ctx: a second backward() raises instead of misleading

    # ------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return Add.apply(self, _lift(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return Add.apply(_lift(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return Sub.apply(self, _lift(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return Sub.apply(_lift(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return Mul.apply(self, _lift(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return Mul.apply(_lift(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return Div.apply(self, _lift(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return Div.apply(_lift(other, self), self)

    def __pow__(self, other: Any) -> Tensor:
        return Pow.apply(self, _lift(other, self))

    def __rpow__(self, other: Any) -> Tensor:
        return Pow.apply(_lift(other, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return MatMul.apply(self, _lift(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return MatMul.apply(_lift(other, self), self)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data.astype(np.intp)
        return GetItem.apply(self, index=index)

    # -------------------------------------------------------------- reductions
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return Sum.apply(self, axis=_axis(axis), keepdims=keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return Mean.apply(self, axis=_axis(axis), keepdims=keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        return Max.apply(self, axis=_axis(axis), keepdims=keepdims)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Reshape.apply(self, shape=shape)

    def transpose(self, *axes: Any) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return Transpose.apply(self, axes=axes or None)

    @property
    def T(self) -> Tensor:
        return self.transpose()

    # ------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def relu(self) -> Tensor:
        return ReLU.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(self)

    def tanh(self) -> Tensor:
        return Tanh.apply(self)

    def softmax(self, axis: int = -1) -> Tensor:
        return Softmax.apply(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        return LogSoftmax.apply(self, axis=axis)


class Parameter(Tensor):
    """A trainable tensor owned by a layer: ``requires_grad`` is always on, and it has a name.

    Args:
        data: the initial values (array-like), converted as for ``Tensor``.
        name: a label shown in ``repr`` (e.g. "kernel", "bias").
        dtype: force a dtype.

    Example:
        >>> import minicnn as mc
        >>> p = mc.Parameter([[0.5, -0.5]], name="kernel")
        >>> p, p.requires_grad
        (Parameter(name='kernel', shape=(1, 2), dtype=float32), True)
    """

    def __init__(self, data: Any, name: str = "", dtype: Any = None):
        super().__init__(data, requires_grad=True, dtype=dtype)
        self.name = name

    def __repr__(self) -> str:
        return f"Parameter(name={self.name!r}, shape={self.shape}, dtype={self.dtype})"


def _lift(value: Any, like: Tensor) -> Tensor:
    """Wrap a Python scalar or array as a constant Tensor of ``like``'s dtype (no upcasting)."""
    if isinstance(value, Tensor):
        return value
    return Tensor(np.asarray(value, dtype=like.dtype))


def _axis(axis: Any) -> int | tuple[int, ...] | None:
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(axis)


def _topological_order(root: Tensor) -> list[Tensor]:
    """Iterative post-order DFS over the tensors that require grad: parents before children."""
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node._ctx is not None:
            if node._ctx.released:
                raise RuntimeError(
                    "backward() through a graph that was already released; "
                    "recompute the forward pass before calling backward() again."
                )
            for parent in node._ctx.parents:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


class Function:
    """One differentiable operation call: ``forward`` on arrays, ``backward`` on gradients.

    Subclasses implement ``forward(self, *arrays, **options) -> array`` and
    ``backward(self, gy) -> grad or tuple of grads`` (``None`` for an input needing no grad).
    ``self.needs_input_grad`` tells backward which inputs want a gradient, so it can skip work
    (the first conv layer's input gradient, for instance).

    Call a subclass through ``apply(*inputs, **options)``, which returns a Tensor and records
    the instance in the graph when an input requires grad.

    Example:
        >>> import minicnn as mc
        >>> class Square(mc.tensor.Function):
        ...     def forward(self, x):
        ...         self.x = x
        ...         return x * x
        ...     def backward(self, gy):
        ...         return 2 * self.x * gy
        >>> x = mc.Tensor([1.0, 3.0], requires_grad=True)
        >>> Square.apply(x).sum().backward()
        >>> x.grad
        array([2., 6.], dtype=float32)
    """

    parents: tuple[Tensor, ...]
    needs_input_grad: tuple[bool, ...]

    def __init__(self) -> None:
        self.parents = ()
        self.needs_input_grad = ()
        self.released = False

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Tensor:
        tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in inputs)
        ctx = cls()
        ctx.needs_input_grad = tuple(t.requires_grad for t in tensors)
        record = _grad_mode.enabled and any(ctx.needs_input_grad)
        with profiler.timed(cls.__name__ + ".forward"):
            out = ctx.forward(*(t.data for t in tensors), **options)
        result = Tensor(out, requires_grad=record, dtype=out.dtype)
        if record:
            ctx.parents = tensors
            result._ctx = ctx
        return result

    def forward(self, *xs: np.ndarray, **options: Any) -> np.ndarray:
        raise NotImplementedError

    def backward(self, gy: np.ndarray) -> Any:
        raise NotImplementedError

    def release(self) -> None:
        """Drop everything backward kept, so activations are freed as soon as they are used."""
        self.__dict__.clear()
        self.parents = ()
        self.released = True


# ---------------------------------------------------------------- arithmetic


class Add(Function):
    """Elementwise ``a + b`` (broadcasting); the gradient is ``gy``, unbroadcast to each input."""
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a + b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(gy, self.shapes[1])


class Sub(Function):
    """Elementwise ``a - b``; gradients ``gy`` and ``-gy``, unbroadcast to each input."""
    def forward(self, a, b):
        self.shapes = (a.shape, b.shape)
        return a - b

    def backward(self, gy):
        return unbroadcast(gy, self.shapes[0]), unbroadcast(-gy, self.shapes[1])


class Mul(Function):
    """Elementwise ``a * b``; gradients ``gy * b`` and ``gy * a``, unbroadcast.

    Example:
        >>> import minicnn as mc
        >>> a, b = mc.Tensor([2.0, 3.0], requires_grad=True), mc.Tensor([4.0, 5.0])
        >>> (a * b).sum().backward()
        >>> a.grad
        array([4., 5.], dtype=float32)
    """
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        ga = unbroadcast(gy * self.b, self.a.shape) if self.needs_input_grad[0] else None
        gb = unbroadcast(gy * self.a, self.b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """Elementwise ``a / b``; gradients ``gy / b`` and ``-gy * a / b**2``, unbroadcast."""
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = unbroadcast(gy / self.b, self.a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            gb = unbroadcast(-gy * self.a / (self.b * self.b), self.b.shape)
        return ga, gb


class Neg(Function):
    """``-a``; the gradient is ``-gy``."""
    def forward(self, a):
        return -a

    def backward(self, gy):
        return -gy


class Pow(Function):
    """Elementwise ``a ** b``; gradients ``gy * b * a**(b-1)`` and ``gy * a**b * log(a)``.

    Example:
        >>> import minicnn as mc
        >>> x = mc.Tensor([2.0, 3.0], requires_grad=True)
        >>> (x ** 2).sum().backward()
        >>> x.grad
        array([4., 6.], dtype=float32)
    """
    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy):
        a, b = self.a, self.b
        ga = unbroadcast(gy * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(gy * self.y * np.log(a), b.shape)
        return ga, gb


class MatMul(Function):
    """``a @ b`` with NumPy's matmul rules (batched when ndim > 2); the GEMM goes to BLAS.

    Gradients: ``gy @ b.T`` and ``a.T @ gy`` (summed over broadcast batch axes).

    Shape: a (..., M, K), b (..., K, N) -> (..., M, N)

    Example:
        >>> import minicnn as mc
        >>> a = mc.Tensor([[1.0, 2.0]], requires_grad=True)
        >>> (a @ mc.Tensor([[3.0], [4.0]])).backward()
        >>> a.grad
        array([[3., 4.]], dtype=float32)
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        gy2 = gy
        if a.ndim == 1:
            gy2 = np.expand_dims(gy2, -2)
        if b.ndim == 1:
            gy2 = np.expand_dims(gy2, -1)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = unbroadcast(gy2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = unbroadcast(np.swapaxes(a2, -1, -2) @ gy2, b2.shape).reshape(b.shape)
        return ga, gb


# ----------------------------------------------------------------- reductions


def _expand_reduced(gy: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool):
    """Reinsert reduced axes into ``gy`` so it broadcasts against the input shape."""
    if axis is None:
        return np.reshape(gy, (1,) * len(shape)) if not keepdims else gy
    if keepdims:
        return gy
    axes = (axis,) if isinstance(axis, int) else axis
    axes = sorted(a % len(shape) for a in axes)
    for a in axes:
        gy = np.expand_dims(gy, a)
    return gy


class Sum(Function):
    """Sum over ``axis`` (all axes when None); the gradient broadcasts ``gy`` back."""
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return np.asarray(x.sum(axis=axis, keepdims=keepdims))

    def backward(self, gy):
        gy = _expand_reduced(gy, self.shape, self.axis, self.keepdims)
        return np.broadcast_to(gy, self.shape).copy()


class Mean(Function):
    """Mean over ``axis``; the gradient is ``gy / count`` broadcast back over the input.

    Example:
        >>> import minicnn as mc
        >>> x = mc.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        >>> x.mean().backward()
        >>> x.grad
        array([[0.25, 0.25],
               [0.25, 0.25]], dtype=float32)
    """
    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        out = np.asarray(x.mean(axis=axis, keepdims=keepdims), dtype=x.dtype)
        self.count = x.size // max(out.size, 1) if x.size else 1
        return out

    def backward(self, gy):
        gy = _expand_reduced(gy, self.shape, self.axis, self.keepdims)
        return np.broadcast_to(gy / self.count, self.shape).astype(gy.dtype, copy=True)


class Max(Function):
    """Maximum; the gradient is shared equally between tied maxima, as TensorFlow's reduce_max.

    Example:
        >>> import minicnn as mc
        >>> x = mc.Tensor([1.0, 3.0, 3.0], requires_grad=True)
        >>> x.max().backward()
        >>> x.grad
        array([0. , 0.5, 0.5], dtype=float32)
    """

    def forward(self, x, axis=None, keepdims=False):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.y = np.asarray(x.max(axis=axis, keepdims=True))
        return self.y if keepdims else np.asarray(x.max(axis=axis, keepdims=False))

    def backward(self, gy):
        gy = _expand_reduced(gy, self.x.shape, self.axis, self.keepdims)
        mask = (self.x == self.y).astype(self.x.dtype)
        mask /= mask.sum(axis=self.axis, keepdims=True)
        return mask * gy


# ---------------------------------------------------------------------- shape


class Reshape(Function):
    """``x.reshape(shape)``; the gradient is ``gy`` reshaped back to the input shape."""
    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, gy):
        return gy.reshape(self.shape)


class Transpose(Function):
    """Permute axes (reverse them when ``axes`` is None); the gradient uses the inverse permutation.

    Example:
        >>> import minicnn as mc
        >>> mc.Tensor([[1.0, 2.0, 3.0]]).transpose(1, 0).shape
        (3, 1)
    """
    def forward(self, x, axes=None):
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, gy):
        if self.axes is None:
            return np.transpose(gy)
        return np.transpose(gy, np.argsort(self.axes))


class GetItem(Function):
    """``x[index]`` (any NumPy index); the gradient scatters ``gy`` back with ``np.add.at``,
    so an element picked several times accumulates every contribution.

    Example:
        >>> import minicnn as mc
        >>> x = mc.Tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> x[[0, 0, 2]].sum().backward()
        >>> x.grad
        array([2., 0., 1.], dtype=float32)
    """
    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return np.asarray(x[index])

    def backward(self, gy):
        gx = np.zeros(self.shape, dtype=self.dtype)
        np.add.at(gx, self.index, gy)  # add.at: repeated indices accumulate
        return gx


class Concatenate(Function):
    """Join inputs along ``axis``; the gradient is ``gy`` split back into the input sizes."""
    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        return np.concatenate(xs, axis=axis)

    def backward(self, gy):
        splits = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(gy, splits, axis=self.axis))


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along ``axis`` (differentiable with respect to each).

    Example:
        >>> import minicnn as mc
        >>> mc.concatenate([mc.Tensor([1.0]), mc.Tensor([2.0, 3.0])]).data
        array([1., 2., 3.], dtype=float32)
    """
    if not tensors:
        raise ValueError("concatenate() needs at least one tensor. Received: an empty sequence.")
    return Concatenate.apply(*tensors, axis=axis)


# ---------------------------------------------------------------- elementwise


class Exp(Function):
    """Elementwise ``exp(x)``; the gradient is ``gy * exp(x)``."""
    def forward(self, x):
        self.y = np.exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """Elementwise natural ``log(x)``; the gradient is ``gy / x``."""
    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, gy):
        return gy / self.x


class ReLU(Function):
    """Elementwise ``max(x, 0)``; the gradient is ``gy`` where ``x > 0``, else 0.

    Example:
        >>> import minicnn as mc
        >>> x = mc.Tensor([-1.0, 0.0, 2.0], requires_grad=True)
        >>> x.relu().sum().backward()
        >>> x.grad
        array([0., 0., 1.], dtype=float32)
    """
    def forward(self, x):
        # np.maximum keeps NaN, as TensorFlow's relu does (np.where(x > 0, x, 0) made it 0),
        # and is several times faster than building a mask and selecting with it
        self.y = np.maximum(x, x.dtype.type(0))
        return self.y

    def backward(self, gy):
        return gy * (self.y > 0)


def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow warnings for large |x|, as 0.5 * (tanh(x / 2) + 1).

    Args:
        x: a float ndarray; the result has its dtype and shape.

    Example:
        >>> import numpy as np
        >>> from minicnn.tensor import stable_sigmoid
        >>> stable_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
        array([0. , 0.5, 1. ])
    """
    half = x.dtype.type(0.5)
    return half * (np.tanh(half * x) + 1)


class Sigmoid(Function):
    """Elementwise logistic ``y = 1 / (1 + exp(-x))``; the gradient is ``gy * y * (1 - y)``."""
    def forward(self, x):
        self.y = stable_sigmoid(x)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class Tanh(Function):
    """Elementwise ``y = tanh(x)``; the gradient is ``gy * (1 - y**2)``."""
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


class Softmax(Function):
    """``y = exp(x) / sum(exp(x))`` along ``axis`` (max-shifted for stability); the gradient is
    ``y * (gy - sum(gy * y))`` along ``axis``.

    Example:
        >>> import minicnn as mc
        >>> mc.Tensor([[0.0, 0.0]]).softmax().data
        array([[0.5, 0.5]], dtype=float32)
    """
    def forward(self, x, axis=-1):
        self.axis = axis
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        self.y = e / e.sum(axis=axis, keepdims=True)
        return self.y

    def backward(self, gy):
        y = self.y
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """``y = x - logsumexp(x)`` along ``axis``, computed stably; the gradient is
    ``gy - exp(y) * sum(gy)`` along ``axis``."""
    def forward(self, x, axis=-1):
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        self.y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        return self.y

    def backward(self, gy):
        return gy - np.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)
