"""Core layers: Input, Dense, Flatten, Dropout, Activation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from minicnn import activations, initializers
from minicnn.layers.base import Layer
from minicnn.layers.node import Node, SymbolicTensor
from minicnn.ops.nn import dropout, linear
from minicnn.random import make_rng
from minicnn.tensor import Tensor


class InputLayer(Layer, SymbolicTensor):
    """Declares the shape of one sample: the first element of a ``Sequential`` list, and (being
    also the symbolic tensor it outputs) the input of a functional ``Model``.

    Args:
        shape: the shape of one sample, without the batch axis, e.g. ``(128, 128, 3)``.
        name: the layer's name (``input_layer``, ``input_layer_1``... by default).
        batch_size: an optional fixed batch size (None: any).

    Example:
        >>> import minicnn as mc
        >>> mc.Input((28, 28, 1)).shape
        (None, 28, 28, 1)
    """

    def __init__(self, shape: Sequence[int], name: str | None = None,
                 batch_size: int | None = None, **kwargs: Any):
        super().__init__(name=name, **kwargs)
        try:
            dims = tuple(int(d) for d in shape)
        except TypeError:
            dims = ()
        if not dims or any(d <= 0 for d in dims):
            raise ValueError(
                f"Input: `shape` must be a non-empty tuple of positive ints (no batch axis). "
                f"Received: shape={shape!r}"
            )
        if batch_size is not None and (not isinstance(batch_size, int)
                                       or isinstance(batch_size, bool) or batch_size <= 0):
            raise ValueError(f"Input: `batch_size` must be a positive int or None. "
                             f"Received: batch_size={batch_size!r}")
        self.sample_shape = dims
        self.batch_size = batch_size
        self.shape = (batch_size,) + dims
        self.input_shape = self.output_shape = self.shape
        # the symbolic-tensor side: this layer's only output is itself
        self.history = (self, 0, 0)
        self.dtype = np.dtype(np.float32)
        self.inbound_nodes.append(Node(self, [], [self], is_input=True))
        self.built = True

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        return x

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"shape": list(self.sample_shape), "name": self.name}
        if self.batch_size is not None:
            config["batch_size"] = self.batch_size
        return config


def Input(shape: Sequence[int], name: str | None = None,  # noqa: N802 (Keras name)
          batch_size: int | None = None) -> InputLayer:
    """Keras's ``Input(shape)``: the first element of a ``Sequential`` list, or the symbolic
    input of a functional ``Model`` (call layers on it, then ``Model(inputs, outputs)``).

    Args:
        shape: the shape of one sample, without the batch axis.
        name: optional layer name.
        batch_size: optional fixed batch size.

    Example:
        >>> import minicnn as mc
        >>> model = mc.Sequential([mc.Input((28, 28, 1)), mc.Flatten()])
        >>> model.output_shape
        (None, 784)
        >>> inputs = mc.Input((28, 28, 1))
        >>> mc.Model(inputs, mc.Flatten()(inputs)).output_shape
        (None, 784)
    """
    return InputLayer(shape, name=name, batch_size=batch_size)


class Dense(Layer):
    """Fully connected layer: ``activation(x @ kernel + bias)``.

    Args:
        units: number of outputs.
        activation: "relu", "sigmoid", "tanh", "softmax", "linear" or None.
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: Keras names (glorot_uniform / zeros by default).

    Shape: (N, ..., in) -> (N, ..., units); kernel (in, units), bias (units,)

    Example:
        >>> import minicnn as mc, numpy as np
        >>> layer = mc.layers.Dense(4, activation="relu")
        >>> layer(np.ones((2, 3), np.float32)).shape
        (2, 4)
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Dense '{self.name}': `units` must be a positive int. Received: units={units!r}"
            )
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"Dense '{self.name}' needs inputs of shape (batch, ..., features) with a known "
                f"last axis. Received: input_shape={input_shape}"
            )
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer)
                     if self.use_bias else None)

    def call(self, x, training=False):
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"Dense '{self.name}' was built for inputs with {self.kernel.shape[0]} features "
                f"on the last axis. Received: an input of shape {x.shape}"
            )
        if self.activation is activations.relu:  # fused into the GEMM's output pass
            return linear(x, self.kernel, self.bias, activation="relu")
        return self.activation(linear(x, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.name_of(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.name_of(self.kernel_initializer),
            "bias_initializer": initializers.name_of(self.bias_initializer),
        }


class Flatten(Layer):
    """Flatten each sample to a vector, in NHWC order (so it matches Keras with no reordering).

    Shape: (N, d1, d2, ...) -> (N, d1*d2*...)

    Example:
        >>> import minicnn as mc, numpy as np
        >>> x = np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)
        >>> mc.layers.Flatten()(x).numpy()
        array([[0., 1., 2., 3., 4., 5., 6., 7.]], dtype=float32)
    """

    def call(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)


class Dropout(Layer):
    """Inverted dropout, active only when ``training=True``.

    During training each input is zeroed with probability ``rate`` and the survivors are scaled
    by ``1 / (1 - rate)``, so the expected value is unchanged; at inference it is the identity.

    Args:
        rate: fraction of inputs to zero, in [0, 1).
        seed: optional private seed; by default draws from ``minicnn.set_seed``'s generator.

    Shape: unchanged.

    Example:
        >>> import minicnn as mc, numpy as np
        >>> drop = mc.layers.Dropout(0.5, seed=0)
        >>> x = np.ones((1, 6), np.float32)
        >>> drop(x).numpy()                           # inference: unchanged
        array([[1., 1., 1., 1., 1., 1.]], dtype=float32)
        >>> sorted(set(drop(x, training=True).numpy().ravel().tolist()))
        [0.0, 2.0]
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(
                f"Dropout '{self.name}': `rate` must be a number in [0, 1). Received: rate={rate!r}"
            )
        self.rate = float(rate)
        self.seed = seed
        self._rng = make_rng(seed) if seed is not None else None

    def call(self, x, training=False):
        return dropout(x, self.rate, training, self._rng or make_rng(None))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Activation(Layer):
    """Apply an activation by name: ``Activation("relu")``.

    Args:
        activation: "relu", "sigmoid", "tanh", "softmax", "linear" or a callable.

    Shape: unchanged.

    Example:
        >>> import minicnn as mc, numpy as np
        >>> mc.layers.Activation("relu")(np.array([[-2.0, 3.0]], np.float32)).numpy()
        array([[0., 3.]], dtype=float32)
    """

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x, training=False):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activations.name_of(self.activation)}


class Rescaling(Layer):
    """Multiply inputs by ``scale`` and add ``offset``: ``Rescaling(1/255)`` maps pixels to [0, 1].

    Putting it in the model means saved models take raw 0..255 pixels, as Keras's layer does.

    Example:
        >>> import minicnn as mc, numpy as np
        >>> mc.layers.Rescaling(1 / 255)(np.array([[0.0, 255.0]], np.float32)).data
        array([[0., 1.]], dtype=float32)
    """

    def __init__(self, scale: float, offset: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        for arg, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(
                    f"Rescaling '{self.name}': `{arg}` must be a number. Received: {arg}={value!r}"
                )
        self.scale = float(scale)
        self.offset = float(offset)

    def call(self, x, training=False):
        y = x * self.scale
        return y + self.offset if self.offset else y

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
