"""``Sequential``: a stack of layers with Keras's compile / fit / evaluate / predict / save."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minicnn import layers as layers_module
from minicnn import losses as losses_module
from minicnn import metrics as metrics_module
from minicnn import optimizers as optimizers_module
from minicnn.callbacks import History
from minicnn.layers.base import Layer, unique_name
from minicnn.layers.core import InputLayer
from minicnn.models import saving, summary, training
from minicnn.models.data import as_input_array, as_weight_array, class_weights_for
from minicnn.models.fusion import run_layers
from minicnn.ops.split import batch_step
from minicnn.tensor import Parameter, Tensor, no_grad


class Sequential:
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

    def __init__(self, layers: Sequence[Layer] | None = None, name: str | None = None):
        self.name = name or unique_name("sequential")
        self.layers: list[Layer] = []
        self.input_layer: InputLayer | None = None
        self.built = False
        self.compiled = False
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.metrics: list[metrics_module.Metric] = []
        self.stop_training = False
        self.history: History | None = None
        self._compile_config: dict[str, Any] | None = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ layers
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

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: '{name}'. Existing layers are: "
                         f"{[lay.name for lay in self.layers]}.")

    def build(self, input_shape: Sequence[Any]) -> None:
        """Build every layer for inputs of ``input_shape`` (batch axis first, may be None)."""
        shape = tuple(input_shape)
        if self.input_layer is None:
            self.input_layer = InputLayer(shape[1:])
        for layer in self.layers:
            layer.ensure_built(shape)
            shape = layer.output_shape
        self.built = bool(self.layers)

    # ----------------------------------------------------------------- calling
    def __call__(self, x: Any, training: bool = False) -> Tensor:
        """Run the layers on ``x`` (arrays are cast to float32) and return a Tensor."""
        if not isinstance(x, Tensor):
            x = Tensor(as_input_array(x))
        if not self.layers:
            raise ValueError(f"Sequential '{self.name}' has no layers.")
        if not self.built:
            self.build((None,) + x.shape[1:])
        return run_layers(self.layers, x, training=training)

    # ----------------------------------------------------------------- weights
    @property
    def weights(self) -> list[Parameter]:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Parameter]:
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights, layer by layer, in Keras's order."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replace all weights (the list ``get_weights`` returns); shapes must match."""
        self._require_built("set_weights")
        total = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != total:
            raise ValueError(f"Sequential '{self.name}' has {total} weight arrays. "
                             f"Received: {len(weights)} arrays.")
        start = 0
        for layer in self.layers:
            n = len(layer.weights)
            layer.set_weights(weights[start:start + n])
            start += n

    def count_params(self) -> int:
        """Number of scalars in all weights."""
        return sum(layer.count_params() for layer in self.layers)

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

    # ----------------------------------------------------------------- compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                metrics: Sequence[Any] | None = None, loss_weights: Any = None,
                weighted_metrics: Sequence[Any] | None = None, run_eagerly: bool = False,
                steps_per_execution: int = 1, jit_compile: Any = "auto",
                auto_scale_loss: bool = True) -> None:
        """Choose the optimizer, loss and metrics for ``fit``/``evaluate``.

        Args:
            optimizer: "sgd", "adam", "adamw", "rmsprop" or an Optimizer instance.
            loss: a loss name ("binary_crossentropy", "mse"...) or a Loss instance.
            metrics: e.g. ``["accuracy"]`` (resolved from the output and label shapes);
                they ignore sample weights, as Keras's.
            weighted_metrics: metrics that use ``sample_weight``/``class_weight`` (a name
                already taken by ``metrics`` is logged as ``weighted_<name>``, as Keras).
            loss_weights: only None (one output).
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: Keras backend
                settings, accepted and without effect (minicnn always runs eagerly, one batch
                per step).
        """
        if loss_weights is not None:
            raise ValueError("compile: minicnn models have one output; `loss_weights` is not "
                             f"supported. Received: loss_weights={loss_weights!r}")
        del run_eagerly, steps_per_execution, jit_compile, auto_scale_loss  # no effect here
        opt = optimizers_module.get(optimizer)
        loss_obj = losses_module.get(loss) if loss is not None else None
        if metrics is not None and (isinstance(metrics, str) or not hasattr(metrics, "__iter__")):
            raise TypeError(f"compile: `metrics` must be a list. Received: metrics={metrics!r}")
        mets = [metrics_module.get(m) for m in (metrics or [])]
        if weighted_metrics is not None and (isinstance(weighted_metrics, str)
                                             or not hasattr(weighted_metrics, "__iter__")):
            raise TypeError("compile: `weighted_metrics` must be a list. "
                            f"Received: weighted_metrics={weighted_metrics!r}")
        taken = {m.name for m in mets}
        for identifier in weighted_metrics or []:
            m = metrics_module.get(identifier)
            if m in mets:  # the same object twice: a weighted copy
                m = metrics_module.deserialize(metrics_module.serialize(m))
            m.weighted = True
            if m.name in taken:
                m.name = f"weighted_{m.name}"
            taken.add(m.name)
            mets.append(m)
        self.optimizer, self.loss = opt, loss_obj
        self.metrics = [metrics_module.Mean(name="loss")] + mets
        self.compiled = True

    def _require_compiled(self, who: str) -> None:
        if not self.compiled or self.optimizer is None:
            raise RuntimeError(f"You must call compile() before {who}().")
        if self.loss is None:
            raise ValueError(f"{who}(): the model was compiled without a loss. "
                             "Pass compile(loss=...).")

    def _require_built(self, who: str) -> None:
        if not self.built:
            raise ValueError(f"Sequential '{self.name}' is not built yet: give it an Input, "
                             f"call it on data or call build() before {who}().")

    def compile_config(self) -> dict[str, Any] | None:
        """What ``compile`` was given, serialised (None when not compiled)."""
        if not self.compiled:
            return None
        return {
            "optimizer": optimizers_module.serialize(self.optimizer),
            "loss": None if self.loss is None else losses_module.serialize(self.loss),
            "metrics": [metrics_module.serialize(m) for m in self.metrics[1:]
                        if not getattr(m, "weighted", False)],
            "weighted_metrics": [metrics_module.serialize(m) for m in self.metrics[1:]
                                 if getattr(m, "weighted", False)],
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compile from ``compile_config()``'s output."""
        self.compile(
            optimizer=optimizers_module.deserialize(config["optimizer"]),
            loss=None if config.get("loss") is None else losses_module.deserialize(config["loss"]),
            metrics=[metrics_module.deserialize(m) for m in config.get("metrics", [])],
            weighted_metrics=[metrics_module.deserialize(m)
                              for m in config.get("weighted_metrics", [])] or None,
        )

    # ---------------------------------------------------------------- training
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = 32, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True,
            class_weight: dict[int, float] | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1) -> History:
        """Train for ``epochs`` epochs on arrays or an iterable of ``(x, y)`` batches.

        Returns a ``History`` whose ``.history`` maps ``loss``, each metric and their
        ``val_`` versions to per-epoch lists. Output is Keras's: ``Epoch i/N`` then a live bar
        (``verbose=1`` on a terminal) or one line per epoch (``verbose=2``, or off a terminal).
        ``validation_split`` holds out the last fraction of the arrays, before shuffling.
        ``sample_weight`` (arrays; with datasets, a third batch element) and ``class_weight``
        (``{class: weight}``) weight the loss and ``weighted_metrics``, as Keras;
        ``validation_data`` may be ``(x, y, sample_weight)``.
        """
        return training.fit(self, x, y, batch_size, epochs, verbose, callbacks,
                            validation_split, validation_data, shuffle, initial_epoch,
                            steps_per_epoch, class_weight=class_weight,
                            sample_weight=sample_weight, validation_steps=validation_steps,
                            validation_batch_size=validation_batch_size,
                            validation_freq=validation_freq)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = 32,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Any = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) over the data: a float, ``[loss, metric...]`` or a dict."""
        return training.evaluate(self, x, y, batch_size, verbose, return_dict, steps, callbacks,
                                 sample_weight=sample_weight)

    def predict(self, x: Any, batch_size: int | None = 32, verbose: Any = "auto",
                steps: int | None = None, callbacks: Any = None) -> np.ndarray:
        """Outputs for arrays, or an iterable of ``x`` or ``(x, y)`` batches, concatenated."""
        return training.predict(self, x, batch_size, verbose, steps, callbacks)

    def _batch_logs(self, return_dict: bool) -> Any:
        logs = {m.name: float(m.result()) for m in self.metrics}
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: dict[int, float] | None = None,
                       return_dict: bool = False) -> Any:
        """One optimisation step on one batch; returns that batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same "
                                 "time.")
            sample_weight = class_weights_for(np.asarray(y), class_weight)
        for m in self.metrics:
            m.reset_state()
        training.train_step(self, as_input_array(x), np.asarray(y),
                            None if sample_weight is None else as_weight_array(sample_weight))
        return self._batch_logs(return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """Loss (and metrics) on one batch, without updating the weights."""
        self._require_compiled("test_on_batch")
        for m in self.metrics:
            m.reset_state()
        training.test_step(self, as_input_array(x), np.asarray(y),
                           None if sample_weight is None else as_weight_array(sample_weight))
        return self._batch_logs(return_dict)

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Outputs for one batch: no graph, no callbacks, minimal overhead."""
        x = as_input_array(x)
        with no_grad(), batch_step(len(x)):
            return self(x, training=False).data

    # ------------------------------------------------------------------ output
    def summary(self, line_length: int | None = None,
                print_fn: Callable[[str], None] | None = None) -> None:
        """Print Keras 3's table of layers, output shapes and parameter counts."""
        summary.print_summary(self, line_length, print_fn)

    # ------------------------------------------------------------------ saving
    def save(self, filepath: str | os.PathLike) -> None:
        """Save architecture, weights and (if compiled) compile config and optimizer state to
        one ``.npz`` file, atomically. Reload with ``minicnn.load_model``."""
        saving.save_model(self, filepath)

    def save_weights(self, filepath: str | os.PathLike) -> None:
        """Save only the weights (``.weights.npz`` by convention), atomically."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath: str | os.PathLike) -> None:
        """Load weights saved by ``save_weights`` (or ``save``); shapes must match."""
        saving.load_weights(self, filepath)

    def __repr__(self) -> str:
        return f"<Sequential name={self.name!r} layers={len(self.layers)} built={self.built}>"


def _layer_registry() -> dict[str, type[Layer]]:
    registry = {}
    for name in layers_module.__all__:
        obj = getattr(layers_module, name)
        if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer:
            registry[obj.__name__] = obj
    return registry


def layer_from_config(spec: dict[str, Any]) -> Layer:
    """Make a minicnn layer from ``{"class_name", "config"}`` (registry lookup, no imports).

    Example:
        >>> from minicnn.models.sequential import layer_from_config
        >>> layer_from_config({"class_name": "Dense", "config": {"units": 3}}).units
        3
    """
    registry = _layer_registry()
    name = spec.get("class_name") if isinstance(spec, dict) else None
    if name not in registry:
        raise ValueError(f"Unknown layer class. Expected one of {sorted(registry)}. "
                         f"Received: class_name={name!r}")
    return registry[name].from_config(dict(spec.get("config", {})))
