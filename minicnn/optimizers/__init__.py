"""SGD, Adam and RMSprop with Keras 3's defaults and update formulas, updating in place.

An optimiser owns one slot array per parameter and per kind of state (``momentum``,
``velocity``...), created on the first ``apply`` in the parameters' dtype; updates write into
``param.data`` and the slots with in-place NumPy operations, so float32 stays float32 and a step
allocates only small scalars. Keras's ``iterations`` counter is kept, and the whole state can be
exported (``get_state``) and imported (``set_state``) for saving and resuming.

Example:
    >>> import numpy as np, minicnn as mc
    >>> w = mc.Parameter(np.array([1.0], np.float32), name="w")
    >>> w.grad = np.array([0.5], np.float32)
    >>> opt = mc.optimizers.SGD(learning_rate=0.1)
    >>> opt.apply([w])
    >>> w.data, opt.iterations
    (array([0.95], dtype=float32), 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minicnn.tensor import Parameter


def _check_number(who: str, name: str, value: Any, low: float = 0.0, high: float | None = None,
                  low_open: bool = False) -> float:
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        span = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{who}: `{name}` must be a number in {span}. Received: {name}={value!r}")
    return value


class Optimizer:
    """Base class: keeps ``learning_rate``, ``iterations`` and per-parameter slot arrays.

    Subclasses list their slot names in ``slot_names()`` and implement ``update(i, param, grad)``.
    ``apply(params)`` uses each parameter's ``.grad`` (parameters whose grad is None are
    skipped); ``apply_gradients(pairs)`` takes ``(grad, param)`` pairs, as Keras.

    Args:
        learning_rate: the step size (a non-negative number; callbacks may change it).
        name: the optimizer's name.

    Example (one plain SGD step by hand):
        >>> import numpy as np, minicnn as mc
        >>> w = mc.Parameter(np.array([1.0, 2.0], np.float32))
        >>> opt = mc.optimizers.SGD(learning_rate=0.5)
        >>> opt.apply_gradients([(np.array([1.0, -1.0], np.float32), w)])
        >>> w.numpy(), opt.iterations
        (array([0.5, 2.5], dtype=float32), 1)
    """

    def __init__(self, learning_rate: float = 0.001, name: str | None = None):
        who = type(self).__name__
        self.learning_rate = _check_number(who, "learning_rate", learning_rate)
        self.name = name or who.lower()
        self.iterations = 0
        self._params: list[Parameter] = []
        self._slots: dict[str, list[np.ndarray]] = {}
        self._index: dict[int, int] = {}

    # ------------------------------------------------------------------ state
    def slot_names(self) -> list[str]:
        return []

    @property
    def built(self) -> bool:
        return bool(self._params)

    def build(self, params: Sequence[Parameter]) -> None:
        """Create zeroed slots for ``params`` (in their order and dtype)."""
        self._params = list(params)
        self._index = {id(p): i for i, p in enumerate(self._params)}
        self._slots = {n: [np.zeros_like(p.data) for p in self._params]
                       for n in self.slot_names()}

    def get_state(self) -> dict[str, Any]:
        """``{"iterations": int, slot name: [arrays in parameter order]}`` (copies)."""
        state: dict[str, Any] = {"iterations": self.iterations}
        for name, arrays in self._slots.items():
            state[name] = [a.copy() for a in arrays]
        return state

    def set_state(self, state: dict[str, Any], params: Sequence[Parameter]) -> None:
        """Restore ``get_state()``'s output for ``params``; shapes must match."""
        self.build(params)
        self.iterations = int(state.get("iterations", 0))
        for name in self.slot_names():
            arrays = state.get(name)
            if arrays is None or len(arrays) != len(self._params):
                raise ValueError(
                    f"{type(self).__name__}: saved state '{name}' has "
                    f"{0 if arrays is None else len(arrays)} arrays for "
                    f"{len(self._params)} parameters."
                )
            for slot, value, p in zip(self._slots[name], arrays, self._params):
                if np.shape(value) != slot.shape:
                    raise ValueError(
                        f"{type(self).__name__}: saved state '{name}' for '{p.name}' has shape "
                        f"{np.shape(value)}, expected {slot.shape}."
                    )
                slot[...] = value

    def count_params(self) -> int:
        """Like Keras's optimizer variables: iterations, learning rate and every slot."""
        if not self.built:
            return 0
        return 2 + sum(a.size for arrays in self._slots.values() for a in arrays)

    # ---------------------------------------------------------------- updates
    def apply(self, params: Sequence[Parameter]) -> None:
        """One update step of every parameter in ``params`` from its ``.grad``."""
        self.apply_gradients((p.grad, p) for p in params)

    def apply_gradients(self, grads_and_vars: Any) -> None:
        """One update step from ``(grad, param)`` pairs; the step counter advances once."""
        pairs = [(g, p) for g, p in grads_and_vars if g is not None]
        if not self.built:
            self.build([p for _, p in pairs])
        for grad, param in pairs:
            i = self._index.get(id(param))
            if i is None:
                raise ValueError(
                    f"{type(self).__name__}: parameter '{param.name}' was not among the "
                    "parameters this optimizer was built for."
                )
            self.update(i, param, np.asarray(grad, dtype=param.dtype))
        self.iterations += 1

    def update(self, i: int, param: Parameter, grad: np.ndarray) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-friendly)."""
        return {"name": self.name, "learning_rate": self.learning_rate}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """Rebuild from ``get_config()``'s output (state is restored separately)."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} learning_rate={self.learning_rate}>"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum, as Keras 3:

    ``m = momentum*m - lr*g``; then ``w += m`` (or ``w += momentum*m - lr*g`` with Nesterov);
    without momentum ``w -= lr*g``.

    Example:
        >>> import minicnn as mc
        >>> mc.optimizers.SGD(momentum=0.9).get_config()["momentum"]
        0.9
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False, name: str | None = None):
        super().__init__(learning_rate, name)
        self.momentum = _check_number("SGD", "momentum", momentum, 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def slot_names(self):
        return ["momentum"] if self.momentum != 0 else []

    def update(self, i, param, grad):
        w, dt = param.data, param.dtype.type
        lr = dt(self.learning_rate)
        if self.momentum == 0:
            w -= grad * lr
            return
        mu = dt(self.momentum)
        m = self._slots["momentum"][i]
        m *= mu
        m -= grad * lr
        if self.nesterov:
            w += m * mu - grad * lr
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam, as Keras 3 (epsilon added outside the square root, bias correction folded into
    the step size): ``alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``,
    ``m += (g - m)(1 - beta_1)``, ``v += (g^2 - v)(1 - beta_2)``,
    ``w -= alpha * m / (sqrt(v) + epsilon)`` (``v`` replaced by its running max with amsgrad).

    Example:
        >>> import minicnn as mc
        >>> mc.optimizers.Adam().get_config()["epsilon"]
        1e-07
    """

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, name: str | None = None):
        super().__init__(learning_rate, name)
        self.beta_1 = _check_number("Adam", "beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _check_number("Adam", "beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _check_number("Adam", "epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def slot_names(self):
        return ["momentum", "velocity"] + (["velocity_hat"] if self.amsgrad else [])

    def update(self, i, param, grad):
        w, dt = param.data, param.dtype.type
        t = dt(self.iterations + 1)
        b1, b2 = dt(self.beta_1), dt(self.beta_2)
        one = dt(1)
        alpha = dt(self.learning_rate) * np.sqrt(one - b2**t) / (one - b1**t)
        m, v = self._slots["momentum"][i], self._slots["velocity"][i]
        m += (grad - m) * (one - b1)
        v += (grad * grad - v) * (one - b2)
        if self.amsgrad:
            v_hat = self._slots["velocity_hat"][i]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        w -= (m * alpha) / (np.sqrt(v) + dt(self.epsilon))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


class RMSprop(Optimizer):
    """RMSprop, as Keras 3 (epsilon inside the square root):
    ``v = rho*v + (1 - rho) g^2``; centered: ``a = rho*a + (1 - rho) g`` and the denominator is
    ``sqrt(v - a^2 + eps)``, else ``sqrt(v + eps)``; ``inc = lr*g / denominator``; with momentum
    ``m = momentum*m + inc; w -= m``, else ``w -= inc``.

    Example:
        >>> import minicnn as mc
        >>> mc.optimizers.get("rmsprop").get_config()["rho"]
        0.9
    """

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, name: str | None = None):
        super().__init__(learning_rate, name)
        self.rho = _check_number("RMSprop", "rho", rho, 0.0, 1.0)
        self.momentum = _check_number("RMSprop", "momentum", momentum, 0.0, 1.0)
        self.epsilon = _check_number("RMSprop", "epsilon", epsilon)
        self.centered = bool(centered)

    def slot_names(self):
        names = ["velocity"]
        if self.momentum > 0:
            names.append("momentum")
        if self.centered:
            names.append("average_gradient")
        return names

    def update(self, i, param, grad):
        w, dt = param.data, param.dtype.type
        rho, one, eps = dt(self.rho), dt(1), dt(self.epsilon)
        v = self._slots["velocity"][i]
        v *= rho
        v += (one - rho) * (grad * grad)
        if self.centered:
            a = self._slots["average_gradient"][i]
            a *= rho
            a += (one - rho) * grad
            denominator = v - a * a + eps
        else:
            denominator = v + eps
        increment = dt(self.learning_rate) * grad
        increment /= np.sqrt(denominator, out=denominator)
        if self.momentum > 0:
            m = self._slots["momentum"][i]
            m *= dt(self.momentum)
            m += increment
            w -= m
        else:
            w -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


_BY_NAME: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}
_CLASSES = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier: Any) -> Optimizer:
    """Resolve "sgd", "adam", "rmsprop", an Optimizer instance or class.

    Example:
        >>> import minicnn as mc
        >>> mc.optimizers.get("adam")
        <Adam learning_rate=0.001>
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(
        f"Unknown optimizer. Expected an Optimizer instance or one of {sorted(_BY_NAME)}. "
        f"Received: optimizer={identifier!r}"
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` for saving.

    Example:
        >>> import minicnn as mc
        >>> mc.optimizers.serialize(mc.optimizers.get("sgd"))["class_name"]
        'SGD'
    """
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(spec: dict[str, Any]) -> Optimizer:
    """Inverse of ``serialize`` (only minicnn's own optimizers).

    Example:
        >>> import minicnn as mc
        >>> spec = mc.optimizers.serialize(mc.optimizers.Adam(learning_rate=0.01))
        >>> mc.optimizers.deserialize(spec).learning_rate
        0.01
    """
    cls = _CLASSES.get(spec.get("class_name", ""))
    if cls is None:
        raise ValueError(f"Unknown optimizer class. Received: {spec.get('class_name')!r}")
    return cls.from_config(spec["config"])
