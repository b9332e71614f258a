"""BatchNormalization, with Keras 3's weights, moving-statistics rule and fine-tuning rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from minicnn import initializers
from minicnn.layers.base import Layer
from minicnn.ops.normalization import batch_norm, moments
from minicnn.tensor import Tensor


class BatchNormalization(Layer):
    """Normalise each channel: by the batch's statistics when training, by moving ones otherwise.

    Training (``training=True`` and the layer ``trainable``) normalises with the batch mean and
    biased variance and updates, as Keras does,
    ``moving = moving * momentum + batch * (1 - momentum)`` (the biased batch variance too).
    Inference, and a layer set ``trainable = False`` even with ``training=True`` (Keras 3's
    fine-tuning rule), uses the moving statistics and leaves them alone.

    Args:
        axis: the channel axis (-1 for NHWC).
        momentum: weight of the old moving statistics, 0.99.
        epsilon: added to the variance, 1e-3 (Keras's default, not 1e-5).
        center, scale: whether to learn ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: Keras names (zeros, ones, zeros, ones).

    Shape: unchanged; weights gamma (C,), beta (C,) trainable, moving_mean (C,),
    moving_variance (C,) not trainable, in that ``get_weights`` order.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> bn = mc.layers.BatchNormalization()
        >>> y = bn(np.array([[0.0], [2.0]], np.float32), training=True)
        >>> bn.weight_names(), bn.moving_mean.data
        (['gamma', 'beta', 'moving_mean', 'moving_variance'], array([0.01], dtype=float32))
    """

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        who = f"BatchNormalization '{self.name}'"
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"{who}: `axis` must be an int. Received: axis={axis!r}")
        for arg, value in (("momentum", momentum), ("epsilon", epsilon)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"{who}: `{arg}` must be a non-negative number. Received: {arg}={value!r}"
                )
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape):
        ndim = len(input_shape)
        if not -ndim <= self.axis < ndim or self.axis % ndim == 0:
            raise ValueError(
                f"BatchNormalization '{self.name}': `axis` must name a non-batch axis of the "
                f"input. Received: axis={self.axis}, input_shape={tuple(input_shape)}"
            )
        channels = input_shape[self.axis]
        if channels is None:
            raise ValueError(
                f"BatchNormalization '{self.name}': the normalised axis must have a known size. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        shape = (channels,)
        self.gamma = (self.add_weight("gamma", shape, self.gamma_initializer)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, self.beta_initializer)
                     if self.center else None)
        self.moving_mean = self.add_weight("moving_mean", shape, self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape,
                                               self.moving_variance_initializer, trainable=False)

    def call(self, x, training=False):
        return batch_norm(x, *self.normalisation_args(x, training))

    def normalisation_args(self, x, training=False) -> tuple:
        """``batch_norm``'s arguments after ``x``: (gamma, beta, mean, var, epsilon, axis,
        batch_stats). In training (and trainable) the batch's own statistics, and the moving
        ones take their update here; otherwise the moving statistics. (The fast path's fused
        BatchNormalization + ReLU calls this too, so both run the same rule.)"""
        C = self.moving_mean.shape[0]
        if x.ndim != len(self.input_shape) or x.shape[self.axis] != C:
            raise ValueError(
                f"BatchNormalization '{self.name}' was built for {C} channels on axis "
                f"{self.axis}. Received: an input of shape {x.shape}"
            )
        # a missing gamma / beta is a constant 1 / 0 (no gradient asked of it)
        gamma = self.gamma if self.gamma is not None else Tensor(np.ones(C, x.dtype))
        beta = self.beta if self.beta is not None else Tensor(np.zeros(C, x.dtype))
        if training and self.trainable:
            mean, var = moments(x.data, self.axis)
            self._update_moving(mean, var)
            return gamma, beta, mean, var, self.epsilon, self.axis, True
        return (gamma, beta, self.moving_mean.data, self.moving_variance.data, self.epsilon,
                self.axis, False)

    def _update_moving(self, mean: np.ndarray, var: np.ndarray) -> None:
        """Keras's rule, in the moving statistics' dtype: ``m * momentum + b * (1 - momentum)``."""
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
            dtype = moving.data.dtype.type
            moving.data[...] = (moving.data * dtype(self.momentum)
                                + batch.astype(moving.dtype) * dtype(1.0 - self.momentum))

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.name_of(self.beta_initializer),
            "gamma_initializer": initializers.name_of(self.gamma_initializer),
            "moving_mean_initializer": initializers.name_of(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.name_of(self.moving_variance_initializer),
        }
