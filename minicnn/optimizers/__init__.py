"""SGD, Adam, AdamW and RMSprop with Keras 3's defaults and update formulas, updating in place.

An optimiser owns one slot array per parameter and per kind of state (``momentum``,
``velocity``...), created on the first ``apply`` in the parameters' dtype; updates write into
``param.data`` and the slots with in-place NumPy operations, so float32 stays float32 and a step
allocates only small scalars. Keras's ``iterations`` counter is kept, and the whole state can be
exported (``get_state``) and imported (``set_state``) for saving and resuming.

Every optimizer takes Keras 3's common arguments: ``weight_decay`` (decoupled: ``w -= w * wd *
lr`` before the update), ``clipnorm`` / ``clipvalue`` / ``global_clipnorm`` (at most one), and
a ``learning_rate`` that may be a schedule from ``minicnn.optimizers.schedules``, evaluated at
``iterations`` before each step.

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

from minicnn.optimizers import schedules
from minicnn.optimizers.schedules import LearningRateSchedule
from minicnn.tensor import Parameter

# Keras 3 optimizer arguments minicnn does not implement: accepted at their defaults only
_UNSUPPORTED_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99,
                         "ema_overwrite_frequency": None, "loss_scale_factor": None,
                         "gradient_accumulation_steps": None}


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
        learning_rate: the step size (a non-negative number, which callbacks may change, or a
            ``schedules.LearningRateSchedule`` evaluated at ``iterations``).
        weight_decay: decoupled decay: ``w -= w * weight_decay * learning_rate`` each step,
            before the update (None: off). ``exclude_from_weight_decay`` exempts parameters.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to ``[-clipvalue, clipvalue]``.
        global_clipnorm: scale all gradients together so their joint L2 norm is at most this.
        name: the optimizer's name.

    Keras's ``use_ema``, ``loss_scale_factor`` and ``gradient_accumulation_steps`` are
    accepted only at their defaults (a ValueError names any other value).

    Example (one plain SGD step by hand):
        >>> import numpy as np, minicnn as mc
        >>> w = mc.Parameter(np.array([1.0, 2.0], np.float32))
        >>> opt = mc.optimizers.SGD(learning_rate=0.5)
        >>> opt.apply_gradients([(np.array([1.0, -1.0], np.float32), w)])
        >>> w.numpy(), opt.iterations
        (array([0.5, 2.5], dtype=float32), 1)
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs: Any):
        who = type(self).__name__
        unsupported = {k: v for k, v in kwargs.items()
                       if k in _UNSUPPORTED_DEFAULTS and v != _UNSUPPORTED_DEFAULTS[k]}
        unknown = sorted(k for k in kwargs if k not in _UNSUPPORTED_DEFAULTS)
        if unknown:
            raise ValueError(f"{who}: argument(s) not recognized: {unknown}")
        if unsupported:
            raise ValueError(f"{who}: minicnn does not support these Keras optimizer arguments. "
                             f"Received: {unsupported}")
        self._learning_rate: float | LearningRateSchedule = 0.0
        self.learning_rate = learning_rate
        self.weight_decay = (None if weight_decay is None
                             else _check_number(who, "weight_decay", weight_decay))
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clips.values()) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        for arg, value in clips.items():
            setattr(self, arg, None if value is None else _check_number(who, arg, value))
        self.name = name or who.lower()
        self.iterations = 0
        self._params: list[Parameter] = []
        self._slots: dict[str, list[np.ndarray]] = {}
        self._index: dict[int, int] = {}
        self._no_decay_names: list[str] = []
        self._no_decay_ids: set[int] = set()

    @property
    def learning_rate(self) -> float:
        """The current rate: the schedule's value at ``iterations`` when given a schedule."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return float(self._learning_rate(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(value, LearningRateSchedule):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument."
            )
        self._learning_rate = _check_number(type(self).__name__, "learning_rate", value)

    def exclude_from_weight_decay(self, var_list: Sequence[Parameter] | None = None,
                                  var_names: Sequence[str] | None = None) -> None:
        """Exempt parameters from ``weight_decay``: these objects, or any whose name contains
        one of ``var_names`` (Keras's rule, e.g. ``var_names=["bias"]``)."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             "optimizer is built.")
        self._no_decay_ids = {id(p) for p in var_list or []}
        self._no_decay_names = list(var_names or [])

    def _decays(self, param: Parameter) -> bool:
        if id(param) in self._no_decay_ids:
            return False
        return not any(n in (param.name or "") for n in self._no_decay_names)

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
        """One update step from ``(grad, param)`` pairs; the step counter advances once.

        As Keras: gradients are clipped first, then weight decay shrinks the parameters, then
        the optimizer's rule updates them, all at the current ``learning_rate``.
        """
        pairs = [(g, p) for g, p in grads_and_vars if g is not None]
        if not self.built:
            self.build([p for _, p in pairs])
        for _, param in pairs:
            if id(param) not in self._index:
                raise ValueError(
                    f"{type(self).__name__}: parameter '{param.name}' was not among the "
                    "parameters this optimizer was built for."
                )
        grads = self._clip([np.asarray(g, dtype=p.dtype) for g, p in pairs])
        if self.weight_decay is not None:
            lr = self.learning_rate
            for _, param in pairs:
                if self._decays(param):
                    dt = param.dtype.type
                    param.data -= param.data * dt(self.weight_decay) * dt(lr)
        for grad, (_, param) in zip(grads, pairs):
            self.update(self._index[id(param)], param, grad)
        self.iterations += 1

    def _clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        """Keras's order of precedence; a clip argument of 0 means no clipping."""
        if self.clipnorm:  # tf.clip_by_norm: g * c / max(||g||, c)
            c = self.clipnorm
            return [g * g.dtype.type(c) / max(g.dtype.type(np.sqrt((g * g).sum())), g.dtype.type(c))
                    for g in grads]
        if self.global_clipnorm:  # one norm over every gradient
            c = self.global_clipnorm
            norm = np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
            scale = c * min(1.0 / norm, 1.0 / c) if norm > 0 else 1.0
            if not np.isfinite(norm):
                scale = np.nan  # Keras: a non-finite norm makes every gradient NaN
            return [g * g.dtype.type(scale) for g in grads]
        if self.clipvalue:
            v = self.clipvalue
            return [np.clip(g, -v, v).astype(g.dtype, copy=False) for g in grads]
        return grads

    def update(self, i: int, param: Parameter, grad: np.ndarray) -> None:
        raise NotImplementedError

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-friendly)."""
        lr = self._learning_rate
        return {"name": self.name,
                "learning_rate": schedules.serialize(lr)
                if isinstance(lr, LearningRateSchedule) else lr,
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """Rebuild from ``get_config()``'s output (state is restored separately)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        lr = self._learning_rate
        shown = type(lr).__name__ if isinstance(lr, LearningRateSchedule) else lr
        return f"<{type(self).__name__} learning_rate={shown}>"


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
                 nesterov: bool = False, name: str | None = None, **kwargs: Any):
        super().__init__(learning_rate, name=name, **kwargs)
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
                 epsilon: float = 1e-7, amsgrad: bool = False, name: str | None = None,
                 **kwargs: Any):
        super().__init__(learning_rate, name=name, **kwargs)
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


class AdamW(Adam):
    """Adam with decoupled weight decay, as Keras 3: Keras's AdamW is Adam whose
    ``weight_decay`` defaults to 0.004 (each step ``w -= w * weight_decay * lr``, then the Adam
    update).

    Example:
        >>> import minicnn as mc
        >>> mc.optimizers.AdamW().weight_decay
        0.004
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, name: str | None = None, **kwargs: Any):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: "
                             "weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, name=name,
                         weight_decay=weight_decay, **kwargs)


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
                 epsilon: float = 1e-7, centered: bool = False, name: str | None = None,
                 **kwargs: Any):
        super().__init__(learning_rate, name=name, **kwargs)
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


_BY_NAME: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW,
                                         "rmsprop": RMSprop}
_CLASSES = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier: Any) -> Optimizer:
    """Resolve "sgd", "adam", "adamw", "rmsprop", an Optimizer instance or class.

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
