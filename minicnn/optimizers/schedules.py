"""Learning-rate schedules, as ``keras.optimizers.schedules``: pass one as ``learning_rate``.

A schedule is a callable ``schedule(step) -> learning rate``; an optimizer given one evaluates it
at its own ``iterations`` count before each update (so the first step uses ``schedule(0)``), as
Keras 3 does. Schedules serialise to ``{"class_name", "config"}`` and back, so a model compiled
with one saves and loads.

Example:
    >>> import minicnn as mc
    >>> lr = mc.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> opt = mc.optimizers.SGD(learning_rate=lr)
    >>> round(lr(10), 6), opt.learning_rate
    (0.05, 0.1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    Example (a custom schedule):
        >>> import minicnn as mc
        >>> class Inverse(mc.optimizers.schedules.LearningRateSchedule):
        ...     def __init__(self, lr):
        ...         self.lr = lr
        ...     def __call__(self, step):
        ...         return self.lr / (step + 1)
        ...     def get_config(self):
        ...         return {"lr": self.lr}
        >>> Inverse(0.1)(1)
        0.05
    """

    def __call__(self, step: int) -> float:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
            "order to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.get_config()}>"


def _positive(who: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{who}: argument `{name}` must be > 0. Received: {name}={value!r}")


class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``; with ``staircase=True``
    the exponent is ``floor(step / decay_steps)``.

    Example:
        >>> import minicnn as mc
        >>> lr = mc.optimizers.schedules.ExponentialDecay(1.0, 2, 0.5, staircase=True)
        >>> [lr(s) for s in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay"):
        _positive("ExponentialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step: int) -> float:
        p = step / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate * self.decay_rate ** p)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Example:
        >>> import minicnn as mc
        >>> lr = mc.optimizers.schedules.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
        >>> [lr(s) for s in range(6)]
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.1]
    """

    def __init__(self, boundaries: Sequence[float], values: Sequence[float],
                 name: str = "PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={list(boundaries)} of length {len(boundaries)}, and "
                f"values={list(values)} of length {len(values)}."
            )
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return float(value)
        return float(self.values[-1])

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay, as Keras 3.

    Without ``warmup_target``: ``lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * t / decay_steps))
    + alpha)`` with ``t = min(step, decay_steps)``. With it: a linear ramp from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then the same cosine
    from ``warmup_target`` over ``decay_steps``.

    Example:
        >>> import minicnn as mc
        >>> lr = mc.optimizers.schedules.CosineDecay(0.0, 4, warmup_target=1.0, warmup_steps=2)
        >>> [round(lr(s), 4) for s in range(7)]
        [0.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 0.0]
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None,
                 warmup_steps: int = 0):
        _positive("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def _decay(self, step: float, decay_from: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return decay_from * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return float(self._decay(min(step, self.decay_steps), self.initial_learning_rate))
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return float(delta * step / self.warmup_steps + self.initial_learning_rate)
        return float(self._decay(step - self.warmup_steps, self.warmup_target))

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


_CLASSES: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay)
}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}`` (JSON-friendly).

    Example:
        >>> import minicnn as mc
        >>> s = mc.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
        >>> mc.optimizers.schedules.serialize(s)["class_name"]
        'PiecewiseConstantDecay'
    """
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(spec: dict[str, Any]) -> LearningRateSchedule:
    """Inverse of ``serialize`` (minicnn's own schedules).

    Example:
        >>> import minicnn as mc
        >>> s = mc.optimizers.schedules.CosineDecay(0.1, 100, alpha=0.1)
        >>> mc.optimizers.schedules.deserialize(mc.optimizers.schedules.serialize(s)).alpha
        0.1
    """
    cls = _CLASSES.get(spec.get("class_name", "")) if isinstance(spec, dict) else None
    if cls is None:
        raise ValueError(
            f"Unknown learning rate schedule. Expected one of {sorted(_CLASSES)}. "
            f"Received: {spec!r}"
        )
    return cls.from_config(dict(spec.get("config", {})))
