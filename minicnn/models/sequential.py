"""``Sequential``: a stack of layers, the chain-shaped ``Model`` (compile / fit / evaluate /
predict / save / summary come from ``minicnn.models.model.Model``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from minicnn.layers.base import Layer, call_in_context, resolve_training
from minicnn.layers.core import InputLayer
from minicnn.layers.node import call_symbolic, is_symbolic
from minicnn.models.data import as_input_array
from minicnn.models.graph import GraphPlan, chain_plan
from minicnn.models.model import Model, layer_from_config
from minicnn.tensor import Tensor

__all__ = ["Sequential", "layer_from_config"]


class Sequential(Model):
    """A linear stack of layers, built from an ``Input(shape)`` (or a first layer's
    ``input_shape=``) or lazily on the first call.

    Args:
        layers: the layers, in order; an ``Input`` first fixes the input shape.
        name: the model's name (``sequential``, ``sequential_1``... by default).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.set_seed(0)
        >>> model = mc.Sequential([mc.Input((4,)), mc.Dense(2, activation="softmax")])
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
        ...               metrics=["accuracy"])
        >>> history = model.fit(np.ones((8, 4)), np.zeros(8), epochs=2, verbose=0)
        >>> sorted(history.history)
        ['accuracy', 'loss']
        >>> model.predict(np.ones((3, 4)), verbose=0).shape
        (3, 2)
    """

    _default_name = "sequential"

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None,
                 trainable: bool = True):
        self._init_model(name, True)
        self._layers: list[Layer] = []
        self.input_layer: InputLayer | None = None
        self._chain: tuple[list[int], GraphPlan] | None = None
        for layer in layers or []:
            self.add(layer)
        if not trainable:
            self.trainable = False

    # ------------------------------------------------------------------ layers
    @property
    def layers(self) -> list[Layer]:
        return self._layers

    @property
    def inputs(self) -> list[InputLayer]:
        return [self.input_layer] if self.input_layer is not None else []

    @property
    def outputs(self) -> list[Any]:
        return [None]  # always one output; a chain keeps no symbolic graph of its own

    @property
    def input_shape(self) -> tuple[Any, ...] | None:
        if self.input_layer is not None:
            return self.input_layer.shape
        if self.layers and self.layers[0].input_shape is not None:
            return self.layers[0].input_shape
        return None

    @property
    def output_shape(self) -> tuple[Any, ...] | None:
        return self.layers[-1].output_shape if self.layers and self.built else None

    def add(self, layer: Layer) -> None:
        """Append a layer (an ``Input`` only as the first element)."""
        if not isinstance(layer, Layer):
            raise TypeError(
                "Sequential.add() expects a minicnn layer. "
                f"Received: {layer!r} of type {type(layer).__name__}"
            )
        if isinstance(layer, InputLayer):
            if self.layers or self.input_layer is not None:
                raise ValueError("Sequential: an Input can only be the first element. "
                                 f"Received: {layer!r} after other layers.")
            self.input_layer = layer
            return
        if any(existing is layer for existing in self.layers):
            raise ValueError(f"Sequential: layer '{layer.name}' is already in the model.")
        names = {existing.name for existing in self.layers}
        if layer.name in names:
            raise ValueError(f"Sequential: all layers must have unique names. "
                             f"Received: a second layer named '{layer.name}'.")
        self.layers.append(layer)
        if not self.layers[:-1] and self.input_layer is None and layer.input_shape_hint:
            self.input_layer = InputLayer(layer.input_shape_hint)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise ValueError("Sequential.pop(): there are no layers to remove.")
        layer = self.layers.pop()
        self.built = bool(self.layers) and all(lay.built for lay in self.layers)
        return layer

    def build(self, input_shape: Sequence[Any]) -> None:
        """Build every layer for inputs of ``input_shape`` (batch axis first, may be None)."""
        shape = tuple(input_shape)
        if self.input_layer is None:
            self.input_layer = InputLayer(shape[1:])
        for layer in self.layers:
            layer.ensure_built(shape)
            shape = layer.output_shape
        self.built = bool(self.layers)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    def check_input_shape(self, input_shape: Any) -> None:
        if self.input_layer is not None:
            self._check_shape(self.input_layer, tuple(input_shape))

    # ----------------------------------------------------------------- calling
    def __call__(self, x: Any, training: bool | None = None) -> Any:
        """Run the layers on ``x`` (arrays are cast to float32) and return a Tensor; on a
        symbolic tensor (inside another model), record the call instead."""
        if not self.layers:
            raise ValueError(f"Sequential '{self.name}' has no layers.")
        if is_symbolic(x):
            return call_symbolic(self, x)
        training = resolve_training(training)
        return call_in_context(training, self.call, x, training=training)

    def call(self, x: Any, training: bool | None = None) -> Tensor:
        if not isinstance(x, Tensor):
            x = Tensor(as_input_array(x))
        if not self.built:
            self.build((None,) + x.shape[1:])
        return self._chain_plan().run([x], training=training)[0]

    def _structured_io(self, x: Any = None) -> bool:
        return False  # one array in, one array out

    def _structured_outputs(self) -> bool:
        return False

    def _chain_plan(self) -> GraphPlan:
        # the chain's plan, remade only when add() or pop() changed the layers
        ids = [id(layer) for layer in self.layers]
        if self._chain is None or self._chain[0] != ids:
            self._chain = (ids, chain_plan(self.layers))
        return self._chain[1]

    # ------------------------------------------------------------------ config
    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The architecture: each layer's class name and config, and the built input shape."""
        layers = []
        if self.input_layer is not None:
            layers.append({"class_name": "InputLayer", "config": self.input_layer.get_config()})
        layers += [{"class_name": type(lay).__name__, "config": lay.get_config()}
                   for lay in self.layers]
        shape = self.input_shape
        return {"name": self.name, "layers": layers,
                "build_input_shape": list(shape) if shape is not None else None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuild (and build) a model from ``get_config()``'s output."""
        model = cls(name=config.get("name"))
        for spec in config.get("layers", []):
            model.add(layer_from_config(spec))
        shape = config.get("build_input_shape")
        if shape is not None and not model.built and model.layers:
            model.build(tuple(shape))
        return model


    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self.layers)} built={self.built}>"
