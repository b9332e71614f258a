"""ReLU (with max_value, negative_slope, threshold) and LeakyReLU as layers, as Keras 3."""

from __future__ import annotations

from typing import Any

from minicnn.layers.base import Layer
from minicnn.ops.relu import general_relu


def _non_negative(value: Any, arg: str, who: str, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(
            f"{who}: `{arg}` must be a non-negative number. Received: {arg}={value!r}"
        )
    return float(value)


class ReLU(Layer):
    """Rectified linear unit with Keras's options: ``ReLU(6.0)`` is ReLU6.

    ``f(x) = min(x, max_value)`` for ``x > threshold``,
    ``negative_slope * (x - threshold)`` otherwise. NaN inputs stay NaN, as in TensorFlow.

    Args:
        max_value: cap on the output (None: no cap).
        negative_slope: slope below the threshold.
        threshold: where the unit turns on.

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.ReLU(6.0)(np.array([[-1.0, 3.0, 9.0]], np.float32)).numpy()
        array([[0., 3., 6.]], dtype=float32)
    """

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        who = f"ReLU '{self.name}'"
        self.max_value = _non_negative(max_value, "max_value", who, allow_none=True)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", who)
        self.threshold = _non_negative(threshold, "threshold", who)

    def call(self, x, training=False):
        return general_relu(x, self.max_value, self.negative_slope, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise; Keras 3's default slope is 0.3.

    Shape: unchanged.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.layers.LeakyReLU()(np.array([[-1.0, 2.0]], np.float32)).numpy()
        array([[-0.3,  2. ]], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(negative_slope, "negative_slope",
                                            f"LeakyReLU '{self.name}'")

    def call(self, x, training=False):
        return general_relu(x, negative_slope=self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}
