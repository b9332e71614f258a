"""The Layer base class: lazy ``build``, ordered weights, Keras-style config and naming."""

from __future__ import annotations

import functools
import inspect
import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from minicnn import initializers
from minicnn.layers.node import call_symbolic, is_symbolic
from minicnn.tensor import Parameter, Tensor

_name_counts: defaultdict[str, int] = defaultdict(int)


def to_snake_case(name: str) -> str:
    """Keras's rule: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d.

    Example:
        >>> from minicnn.layers.base import to_snake_case
        >>> to_snake_case("AveragePooling2D")
        'average_pooling2d'
    """
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(base: str) -> str:
    """``base`` the first time, then ``base_1``, ``base_2``... as Keras names layers.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.layers.base import unique_name
        >>> mc.clear_session()
        >>> unique_name("block"), unique_name("block")
        ('block', 'block_1')
    """
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def clear_session() -> None:
    """Reset automatic layer names (the next Conv2D is ``conv2d`` again), as Keras does.

    Example:
        >>> import minicnn as mc
        >>> mc.clear_session()
        >>> mc.Dense(1).name, mc.Dense(1).name
        ('dense', 'dense_1')
        >>> mc.clear_session()
        >>> mc.Dense(1).name
        'dense'
    """
    _name_counts.clear()


class _TrainingContext(threading.local):
    """The `training` flag of the layer call in progress on this thread (None: unspecified)."""

    value: bool | None = None


_training_context = _TrainingContext()


def resolve_training(training: bool | None, default: bool | None = None) -> bool | None:
    """Keras 3's order for a call's ``training``: the value passed, else the one of the layer
    call this one runs inside (a custom layer's ``call`` calling its sublayers without
    ``training`` hands its own flag down), else ``default`` (the layer's ``call`` default).

    Example:
        >>> from minicnn.layers.base import resolve_training
        >>> resolve_training(None, default=True), resolve_training(False, default=True)
        (True, False)
    """
    if training is None:
        training = _training_context.value
    return default if training is None else training


def call_in_context(flag: bool | None, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with ``flag`` as the ``training`` nested calls inherit."""
    previous = _training_context.value
    _training_context.value = flag
    try:
        return fn(*args, **kwargs)
    finally:
        _training_context.value = previous


@functools.cache
def call_training_default(cls: type) -> tuple[bool, Any]:
    """Whether ``cls.call`` takes ``training``, and its default there (None if it has none).

    Keras 3's rule for ``training`` left unspecified (None, and not inherited from an
    enclosing call, see ``resolve_training``): a layer runs with its ``call``'s default, so
    ordinary layers (``training=False``) infer while the Random* preprocessing layers
    (``training=True``) augment when called on their own; models default to None and hand it
    down, and ``fit``/``evaluate``/``predict`` always pass it explicitly.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.layers.base import call_training_default
        >>> call_training_default(mc.layers.Dense), call_training_default(mc.layers.RandomFlip)
        ((True, False), (True, True))
    """
    param = inspect.signature(cls.call).parameters.get("training")
    if param is None:
        return False, None
    return True, None if param.default is inspect.Parameter.empty else param.default


def normalize_tuple(value: Any, n: int, arg: str, layer: str) -> tuple[int, ...]:
    """Turn an int or an n-sequence of positive ints into an n-tuple, or raise naming ``arg``.

    Args:
        value: an int, or a sequence of ``n`` ints.
        n: the tuple's length (2 for kernel sizes and strides).
        arg: the argument's name, for the error message.
        layer: who is asking, for the error message.

    Example:
        >>> from minicnn.layers.base import normalize_tuple
        >>> normalize_tuple(3, 2, "kernel_size", "Conv2D")
        (3, 3)
        >>> normalize_tuple((2, 0), 2, "strides", "Conv2D")
        Traceback (most recent call last):
          ...
        ValueError: Conv2D: the `strides` argument must be positive. Received: strides=(2, 0)
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        result = (int(value),) * n
    else:
        try:
            result = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            result = ()
        if len(result) != n or any(isinstance(v, bool) for v in value):
            raise ValueError(
                f"{layer}: the `{arg}` argument must be an int or a tuple of {n} ints. "
                f"Received: {arg}={value!r}"
            )
    if any(v <= 0 for v in result):
        raise ValueError(
            f"{layer}: the `{arg}` argument must be positive. Received: {arg}={value!r}"
        )
    return result


def normalize_padding(value: Any, layer: str) -> str:
    """``"valid"`` or ``"same"`` (case-insensitive), or a ValueError naming ``layer``.

    Example:
        >>> from minicnn.layers.base import normalize_padding
        >>> normalize_padding("SAME", "Conv2D")
        'same'
    """
    padding = value.lower() if isinstance(value, str) else value
    if padding not in ("valid", "same"):
        raise ValueError(
            f"{layer}: the `padding` argument must be 'valid' or 'same'. "
            f"Received: padding={value!r}"
        )
    return padding


class Layer:
    """Base class of every layer.

    A layer is constructed from hyperparameters only; its weights are created by
    ``build(input_shape)`` on the first call, when the input's shape is known, and kept in
    insertion order (the order ``get_weights`` returns, which is Keras's).

    Args:
        name: the layer's name; by default the snake-cased class name made unique
            (``conv2d``, ``conv2d_1``...).
        input_shape: optional shape of one sample, as Keras accepts on a first layer.
        trainable: whether ``fit`` updates this layer's weights.

    Example (a custom layer: one learned scale per channel):
        >>> import numpy as np, minicnn as mc
        >>> class Scale(mc.layers.Layer):
        ...     def build(self, input_shape):
        ...         self.scale = self.add_weight("scale", (input_shape[-1],), "ones")
        ...     def call(self, x, training=False):
        ...         return x * self.scale
        >>> layer = Scale()
        >>> layer(np.full((2, 3), 2.0, np.float32)).numpy()
        array([[2., 2., 2.],
               [2., 2., 2.]], dtype=float32)
        >>> layer.weight_names(), layer.count_params()
        (['scale'], 3)
    """

    def __init__(
        self,
        name: str | None = None,
        input_shape: Sequence[int] | None = None,
        trainable: bool = True,
        **kwargs: Any,
    ):
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}."
            )
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self.built = False
        self.input_shape_hint = tuple(input_shape) if input_shape is not None else None
        self._weights: dict[str, Parameter] = {}
        self._trainable: dict[str, bool] = {}
        self.input_shape: tuple[Any, ...] | None = None
        self.output_shape: tuple[Any, ...] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass's build() marks the layer built (as Keras's does), so the Keras pattern
        # `layer.build(shape); layer.set_weights(...)` works without calling the layer first.
        super().__init_subclass__(**kwargs)
        own_build = cls.__dict__.get("build")
        if own_build is None:
            return

        @functools.wraps(own_build)
        def build(self: Layer, input_shape: tuple[Any, ...]) -> None:
            own_build(self, input_shape)
            self.built = True
            if self.input_shape is None:
                self.input_shape = tuple(input_shape)
                self.output_shape = self.compute_output_shape(self.input_shape)

        cls.build = build  # type: ignore[method-assign]

    # --------------------------------------------------------------- building
    def build(self, input_shape: tuple[Any, ...]) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis first, may be None)."""
        self.built = True

    def add_weight(
        self,
        name: str,
        shape: Sequence[int],
        initializer: Any = "glorot_uniform",
        trainable: bool = True,
        dtype: Any = np.float32,
    ) -> Parameter:
        """Create, register and return a weight, in the order ``get_weights`` will list it."""
        value = initializers.get(initializer)(tuple(shape), dtype)
        param = Parameter(value, name=f"{self.name}/{name}", dtype=dtype)
        self._weights[name] = param
        self._trainable[name] = trainable
        return param

    def ensure_built(self, input_shape: tuple[Any, ...]) -> None:
        if not self.built:
            self.input_shape = tuple(input_shape)
            self.build(self.input_shape)
            self.built = True
            self.output_shape = self.compute_output_shape(self.input_shape)

    # ---------------------------------------------------------------- calling
    def __call__(self, x: Any, training: bool | None = None) -> Tensor:
        """Run the layer on ``x`` (built on first call). ``training`` left as None means "not
        specified": the layer's ``call`` default decides (see ``call_training_default``)."""
        if is_symbolic(x):  # defining a model: record the call (see minicnn.layers.node)
            return call_symbolic(self, x)
        if not isinstance(x, Tensor):
            x = Tensor(x)
        self.ensure_built((None,) + x.shape[1:])
        takes_training, default = call_training_default(type(self))
        training = resolve_training(training, default)
        if not takes_training:  # a custom layer may write `def call(self, x)`, as in Keras
            return call_in_context(training, self.call, x)
        return call_in_context(training, self.call, x, training=training)

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(input_shape)

    @property
    def inbound_nodes(self) -> list[Any]:
        """The calls of this layer on symbolic tensors, in order (``Node`` objects)."""
        return self.__dict__.setdefault("_inbound_nodes", [])

    def check_input_shape(self, input_shape: Any) -> None:
        """Raise if this built layer cannot take inputs of ``input_shape`` (a shared layer
        called again): the last axis, which sizes the weights, must match."""
        built = self.input_shape
        if not self.weights or built is None or isinstance(input_shape, list):
            return
        if not input_shape or input_shape[-1] != built[-1]:
            raise ValueError(
                f"Layer '{self.name}' was built for inputs of shape {built} and cannot take "
                f"another shape on the last axis. Received: input_shape={tuple(input_shape)}"
            )

    # ---------------------------------------------------------------- weights
    @property
    def weights(self) -> list[Parameter]:
        return list(self._weights.values())

    @property
    def trainable_weights(self) -> list[Parameter]:
        if not self.trainable:
            return []
        return [w for k, w in self._weights.items() if self._trainable[k]]

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self._weights.values() if id(w) not in trainable]

    def weight_names(self) -> list[str]:
        return list(self._weights)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights as arrays, in Keras's order (kernel, then bias)."""
        return [w.data.copy() for w in self._weights.values()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replace the weights; counts and shapes must match exactly."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet: call it on data (or build the model) "
                "before set_weights()."
            )
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(
                f"Layer '{self.name}' expects {len(params)} weight arrays "
                f"({', '.join(self.weight_names()) or 'none'}). Received: {len(weights)} arrays."
            )
        for param, value in zip(params, weights):
            arr = np.asarray(value)
            if arr.shape != param.shape:
                raise ValueError(
                    f"Layer '{self.name}' weight '{param.name}' has shape {param.shape}. "
                    f"Received: an array of shape {arr.shape}."
                )
        for param, value in zip(params, weights):
            param.data = np.array(value, dtype=param.dtype)

    def count_params(self) -> int:
        return int(sum(w.size for w in self._weights.values()))

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-friendly) that rebuild an equivalent layer."""
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"
