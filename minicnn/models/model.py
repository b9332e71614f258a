"""``Model``: a graph of layers (Keras's functional API), and the machinery every model shares.

``Model(inputs, outputs)`` takes the symbolic tensors of ``Input`` s and of the layers called on
them. ``Sequential`` subclasses it: both compile, fit, evaluate, predict, summarise, save and
run through the same ``GraphPlan`` (``minicnn.models.graph``). A model is itself a layer: call
it on symbolic tensors inside another model, or on data; its weights are the outer model's too.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from minicnn import layers as layers_module
from minicnn import losses as losses_module
from minicnn import metrics as metrics_module
from minicnn import optimizers as optimizers_module
from minicnn.callbacks import History
from minicnn.layers.base import Layer, call_in_context, resolve_training, unique_name
from minicnn.layers.core import InputLayer
from minicnn.layers.node import SymbolicTensor, call_symbolic, flatten, is_symbolic, pack_like
from minicnn.models import saving, summary, training
from minicnn.models.data import ArrayList, as_input_array, as_weight_array, class_weights_for
from minicnn.models.graph import GraphPlan, Step, map_graph
from minicnn.ops.route import batch_step
from minicnn.tensor import Parameter, Tensor, no_grad


def _to_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(as_input_array(x))


class Model(Layer):
    """A model from symbolic inputs to outputs (Keras's functional API).

    Args:
        inputs: an ``Input(...)``, or a list (or dict) of them.
        outputs: the symbolic tensor(s) computed from ``inputs``: one, a list or a dict.
        name: the model's name (``functional``, ``functional_1``... by default, as Keras).

    Example (a residual block):
        >>> import numpy as np, minicnn as mc
        >>> mc.clear_session(); mc.set_seed(0)
        >>> inputs = mc.Input((8, 8, 3))
        >>> x = mc.layers.Conv2D(3, 3, padding="same", activation="relu")(inputs)
        >>> x = mc.layers.add([x, inputs])
        >>> outputs = mc.layers.Dense(1)(mc.layers.Flatten()(x))
        >>> model = mc.Model(inputs, outputs)
        >>> [layer.name for layer in model.layers][-2:], model.output_shape
        (['flatten', 'dense'], (None, 1))
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> model.predict(np.ones((2, 8, 8, 3)), verbose=0).shape
        (2, 1)
    """

    _default_name = "functional"

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None,
                 trainable: bool = True):
        self._init_model(name, True)
        if inputs is None or outputs is None:
            raise TypeError("Model(inputs, outputs): both are required (symbolic tensors from "
                            "minicnn.Input and the layers called on them). "
                            f"Received: inputs={inputs!r}, outputs={outputs!r}")
        self._init_graph(inputs, outputs)
        if not trainable:
            self.trainable = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and hasattr(build, "__wrapped__"):  # undo Layer's wrapper: as Model
            cls.build = build.__wrapped__

    def _init_model(self, name: str | None, trainable: bool) -> None:
        # Layer.__init__ is not called: a model's shapes and weights are its layers'.
        self.name = name or unique_name(self._default_name)
        self._trainable_flag = bool(trainable)
        self.built = False
        self.input_shape_hint = None
        self._weights: dict[str, Parameter] = {}
        self._trainable: dict[str, bool] = {}
        self.compiled = False
        self.optimizer: optimizers_module.Optimizer | None = None
        self.loss: losses_module.Loss | None = None
        self.metrics: list[metrics_module.Metric] = []
        self.stop_training = False
        self.history: History | None = None

    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        for what, value in (("inputs", inputs), ("outputs", outputs)):
            leaves = flatten(value)
            bad = [t for t in leaves if not isinstance(t, SymbolicTensor)]
            if not leaves or bad:
                raise ValueError(
                    f"Model '{self.name}': all {what} must be symbolic tensors (an Input, or a "
                    "layer called on one). "
                    f"Received: {bad[0] if bad else value!r} of type "
                    f"{type(bad[0] if bad else value).__name__}"
                )
        self._input_struct, self._output_struct = inputs, outputs
        self.inputs: list[SymbolicTensor] = flatten(inputs)
        self.outputs: list[SymbolicTensor] = flatten(outputs)
        nodes, layers, self._node_depth = map_graph(self.inputs, self.outputs)
        self._nodes = nodes
        self._layers = layers
        steps = [Step(n.layer, pack_like(n.args, [id(t) for t in n.inputs]),
                      [id(t) for t in n.outputs]) for n in nodes if not n.is_input]
        self._plan = GraphPlan(steps, [id(t) for t in self.inputs],
                               [id(t) for t in self.outputs])
        self.built = True

    # ------------------------------------------------------------------ layers
    @property
    def layers(self) -> list[Layer]:
        return self._layers

    @property
    def trainable(self) -> bool:
        return self._trainable_flag

    @trainable.setter
    def trainable(self, value: bool) -> None:
        # Keras's rule: freezing (or unfreezing) a model sets every layer in it, nested models
        # included, so layers that behave differently when frozen see it (fine-tuning)
        self._trainable_flag = bool(value)
        for layer in self.layers:
            layer.trainable = bool(value)

    @property
    def input_shape(self) -> Any:
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index (in ``model.layers``)."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: '{name}'. Existing layers are: "
                         f"{[lay.name for lay in self.layers]}.")

    def ensure_built(self, input_shape: Any) -> None:
        if not self.built:
            self.build(input_shape)

    def build(self, input_shape: Any) -> None:
        """A functional model is built when it is made; this only checks ``input_shape``."""
        self.compute_output_shape(input_shape)

    def check_input_shape(self, input_shape: Any) -> None:
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shapes = input_shape if len(self.inputs) > 1 else [input_shape]
        if len(shapes) != len(self.inputs) or not all(isinstance(s, (list, tuple))
                                                      for s in shapes):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s). "
                             f"Received: input_shape={input_shape}")
        known: dict[int, Any] = {}
        for t, shape in zip(self.inputs, shapes):
            self._check_shape(t, tuple(shape))
            known[id(t)] = tuple(shape)
        for step in self._plan.steps:
            args = pack_like(step.args, [known[k] for k in step.inputs])
            if isinstance(args, tuple):
                args = list(args)
            out = step.layer.compute_output_shape(args)
            for key, shape in zip(step.outputs, out if isinstance(out, list) else [out]):
                known[key] = shape
        out_shapes = [known[id(t)] for t in self.outputs]
        return out_shapes[0] if len(out_shapes) == 1 else out_shapes

    def _check_shape(self, expected: SymbolicTensor, shape: tuple[Any, ...]) -> None:
        want = expected.shape
        if len(shape) != len(want) or any(
                a is not None and b is not None and a != b for a, b in zip(shape[1:], want[1:])):
            raise ValueError(
                f"Model '{self.name}': input '{expected.history[0].name}' expects shape {want}. "
                f"Received: an input of shape {shape}"
            )

    # ----------------------------------------------------------------- calling
    def __call__(self, x: Any, training: bool | None = None) -> Any:
        """Run the model on data (arrays are cast to float32), or on symbolic tensors inside
        another model; returns outputs in the structure ``outputs`` had.

        ``training`` None (not specified, nor set by an enclosing layer call) is handed down
        as None, as Keras 3 does: each layer then runs with its own ``call`` default --
        inference for ordinary layers, augmentation for the Random* preprocessing layers;
        ``fit`` passes True, ``evaluate``/``predict`` False."""
        if is_symbolic(x):
            return call_symbolic(self, x)
        training = resolve_training(training)
        return call_in_context(training, self.call, x, training=training)

    def call(self, x: Any, training: bool | None = None) -> Any:
        values = self._flat_inputs(x)
        for t, v in zip(self.inputs, values):
            self._check_shape(t, v.shape)
        outs = self._plan.run(values, training=training)
        return pack_like(self._output_struct, outs)

    def _flat_inputs(self, x: Any) -> list[Tensor]:
        if isinstance(self._input_struct, dict) and isinstance(x, dict):
            missing = [k for k in self._input_struct if k not in x]
            if missing:
                raise ValueError(f"Model '{self.name}': missing input(s) {missing}. "
                                 f"Received: keys {sorted(x)}")
            x = [x[k] for k in self._input_struct]
        n = len(self.inputs)
        if n == 1 and not (isinstance(x, (list, tuple)) and len(x) == 1
                           and not np.isscalar(x[0]) and np.ndim(x[0]) >= 1
                           and isinstance(x[0], (np.ndarray, Tensor))):
            return [_to_tensor(x)]
        if not isinstance(x, (list, tuple)) or len(x) != n:
            got = len(x) if isinstance(x, (list, tuple)) else 1
            raise ValueError(f"Model '{self.name}' expects {n} input(s). Received: {got} "
                             "input(s).")
        return [_to_tensor(v) for v in x]

    # ----------------------------------------------------------------- weights
    @property
    def weights(self) -> list[Parameter]:
        seen: set[int] = set()
        out = []
        for layer in self.layers:
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def trainable_weights(self) -> list[Parameter]:
        if not self.trainable:
            return []
        seen: set[int] = set()
        out = []
        for layer in self.layers:
            for w in layer.trainable_weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    def weight_names(self) -> list[str]:
        return [w.name for w in self.weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of all weights, layer by layer in ``model.layers`` order (Keras's)."""
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replace all weights (the list ``get_weights`` returns); shapes must match."""
        self._require_built("set_weights")
        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"Model '{self.name}' has {len(params)} weight arrays. "
                             f"Received: {len(weights)} arrays.")
        for param, value in zip(params, weights):
            if np.shape(value) != param.shape:
                raise ValueError(f"Model '{self.name}': weight '{param.name}' has shape "
                                 f"{param.shape}. Received: an array of shape "
                                 f"{np.shape(value)}.")
        for param, value in zip(params, weights):
            param.data = np.array(value, dtype=param.dtype)

    def count_params(self) -> int:
        """Number of scalars in all weights."""
        return int(sum(w.size for w in self.weights))

    # ------------------------------------------------------------------ config
    def _network_nodes(self) -> dict[int, int]:
        """id(node) -> its index among its layer's nodes that belong to this model."""
        in_graph = {id(n) for n in self._nodes}
        index: dict[int, int] = {}
        for layer in self.layers:
            k = 0
            for node in layer.inbound_nodes:
                if id(node) in in_graph:
                    index[id(node)] = k
                    k += 1
        return index

    def get_config(self) -> dict[str, Any]:
        """The graph, as Keras's functional config: each layer with its ``inbound_nodes``
        (lists of ``[layer name, node index, tensor index]``), ``input_layers`` and
        ``output_layers``."""
        if not all(isinstance(t, InputLayer) for t in self.inputs):
            raise ValueError(f"Model '{self.name}' starts from an intermediate tensor; only "
                             "models whose inputs are Input tensors can be serialised.")
        index = self._network_nodes()

        def ref(t: SymbolicTensor) -> list[Any]:
            layer, node_index, tensor_index = t.history
            return [layer.name, index[id(layer.inbound_nodes[node_index])], tensor_index]

        layers = []
        for layer in self.layers:
            nodes = [n for n in layer.inbound_nodes if id(n) in index and not n.is_input]
            layers.append({
                "class_name": type(layer).__name__, "name": layer.name,
                "config": layer.get_config(),
                "inbound_nodes": [_map(n.args, ref) for n in nodes],
            })
        return {"name": self.name, "trainable": self.trainable, "layers": layers,
                "input_layers": _map(self._input_struct, ref),
                "output_layers": _map(self._output_struct, ref)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Rebuild a model (new layers, same graph) from ``get_config()``'s output."""
        return rebuild_graph(cls, config, layer_from_config)

    # ----------------------------------------------------------------- compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None,
                metrics: Sequence[Any] | None = None, loss_weights: Any = None,
                weighted_metrics: Sequence[Any] | None = None, run_eagerly: bool = False,
                steps_per_execution: int = 1, jit_compile: Any = "auto",
                auto_scale_loss: bool = True) -> None:
        """Choose the optimizer, loss and metrics for ``fit``/``evaluate``.

        Args:
            optimizer: "sgd", "adam", "adamw", "rmsprop" or an Optimizer instance.
            loss: a loss name ("binary_crossentropy", "mse"...) or a Loss instance. With
                several outputs: one loss (applied to every output), or a list (or a dict by
                output layer name) of one loss per output; the trained loss is their sum, as
                Keras's with its default loss weights.
            metrics: e.g. ``["accuracy"]`` (resolved from the output and label shapes); they
                ignore sample weights, as Keras's; not supported with several outputs
                (minicnn logs only their summed loss).
            weighted_metrics: metrics that use ``sample_weight``/``class_weight`` (a name
                already taken by ``metrics`` is logged as ``weighted_<name>``, as Keras).
            loss_weights: only None (every output's loss counts once).
            run_eagerly, steps_per_execution, jit_compile, auto_scale_loss: Keras backend
                settings, accepted and without effect (minicnn always runs eagerly, one batch
                per step).
        """
        if loss_weights is not None:
            raise ValueError("compile: `loss_weights` is not supported by minicnn (every "
                             f"output's loss counts once). Received: loss_weights={loss_weights!r}")
        del run_eagerly, steps_per_execution, jit_compile, auto_scale_loss  # no effect here
        if weighted_metrics is not None and (isinstance(weighted_metrics, str)
                                             or not hasattr(weighted_metrics, "__iter__")):
            raise TypeError("compile: `weighted_metrics` must be a list. "
                            f"Received: weighted_metrics={weighted_metrics!r}")
        opt = optimizers_module.get(optimizer)
        if metrics is not None and (isinstance(metrics, str) or not hasattr(metrics, "__iter__")):
            raise TypeError(f"compile: `metrics` must be a list. Received: metrics={metrics!r}")
        if self._structured_outputs():
            if metrics:
                raise ValueError(
                    f"compile: model '{self.name}' has {self._n_outputs()} outputs (given as a "
                    "list or dict); metrics for several outputs are not supported by minicnn "
                    f"(the summed loss is logged). Received: metrics={metrics!r}"
                )
            loss_obj: Any = None if loss is None else MultiOutputLoss(self, loss)
        else:
            loss_obj = losses_module.get(loss) if loss is not None else None
        mets = [metrics_module.get(m) for m in (metrics or [])]
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

    def _n_outputs(self) -> int:
        return len(self.outputs)

    def _structured_outputs(self) -> bool:
        """Whether ``outputs`` is a list or dict (so are the predictions and labels)."""
        return not isinstance(self._output_struct, SymbolicTensor)

    def _require_compiled(self, who: str) -> None:
        if not self.compiled or self.optimizer is None:
            raise RuntimeError(f"You must call compile() before {who}().")
        if self.loss is None:
            raise ValueError(f"{who}(): the model was compiled without a loss. "
                             "Pass compile(loss=...).")

    def _x_batch(self, x: Any) -> Any:
        """``x`` for the training loop: an array, or an ``ArrayList`` for several inputs."""
        if len(self.inputs) <= 1:
            return as_input_array(x)
        return self._structured(x, self._input_struct, len(self.inputs), "x", as_input_array)

    def _y_batch(self, y: Any) -> Any:
        """``y`` for the training loop: an array, or an ``ArrayList`` for several outputs."""
        if y is None or not self._structured_outputs():
            return y
        if self._n_outputs() == 1 and not isinstance(y, (list, tuple, dict)):
            y = [y]
        return self._structured(y, self._output_struct, self._n_outputs(), "y", np.asarray)

    def _structured(self, value: Any, struct: Any, n: int, what: str, convert: Any) -> Any:
        if isinstance(value, ArrayList):
            return value
        if isinstance(value, dict):
            keys = list(struct) if isinstance(struct, dict) else None
            if keys is None or any(k not in value for k in keys):
                raise ValueError(f"Model '{self.name}': `{what}` as a dict needs the keys "
                                 f"{keys}. Received: keys {sorted(value)}")
            value = [value[k] for k in keys]
        if not isinstance(value, (list, tuple)) or len(value) != n:
            got = len(value) if isinstance(value, (list, tuple)) else 1
            raise ValueError(f"Model '{self.name}' expects `{what}` as a list of {n} arrays "
                             f"(one per {'input' if what == 'x' else 'output'}). "
                             f"Received: {got} array(s).")
        return ArrayList(convert(v) for v in value)

    def _require_built(self, who: str) -> None:
        if not self.built:
            raise ValueError(f"{type(self).__name__} '{self.name}' is not built yet: give it "
                             f"an Input, call it on data or call build() before {who}().")

    def compile_config(self) -> dict[str, Any] | None:
        """What ``compile`` was given, serialised (None when not compiled)."""
        if not self.compiled:
            return None
        if isinstance(self.loss, MultiOutputLoss):
            loss: Any = [losses_module.serialize(fn) for fn in self.loss.losses]
        else:
            loss = None if self.loss is None else losses_module.serialize(self.loss)
        return {
            "optimizer": optimizers_module.serialize(self.optimizer),
            "loss": loss,
            "metrics": [metrics_module.serialize(m) for m in self.metrics[1:]
                        if not getattr(m, "weighted", False)],
            "weighted_metrics": [metrics_module.serialize(m) for m in self.metrics[1:]
                                 if getattr(m, "weighted", False)],
        }

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Compile from ``compile_config()``'s output."""
        self.compile(
            optimizer=optimizers_module.deserialize(config["optimizer"]),
            loss=_deserialize_loss(config.get("loss")),
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
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) \
                and (len(self.inputs) > 1 or self._structured_outputs()):
            vx, vy, *vw = validation_data
            validation_data = (self._x_batch(vx) if len(self.inputs) > 1 else vx,
                               self._y_batch(vy), *vw)
        if len(self.inputs) > 1:
            x = self._x_batch(x)
        y = self._y_batch(y)
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
        if len(self.inputs) > 1:
            x = self._x_batch(x)
        y = self._y_batch(y)
        return training.evaluate(self, x, y, batch_size, verbose, return_dict, steps, callbacks,
                                 sample_weight=sample_weight)

    def predict(self, x: Any, batch_size: int | None = 32, verbose: Any = "auto",
                steps: int | None = None, callbacks: Any = None) -> Any:
        """Outputs for arrays, or an iterable of ``x`` or ``(x, y)`` batches, concatenated.

        With several inputs ``x`` is a list (or dict) of arrays; with several outputs the
        result is a list (or dict) of arrays, as Keras returns.
        """
        if not self._structured_io(x):
            return training.predict(self, x, batch_size, verbose, steps, callbacks)
        return self._predict_structured(x, 32 if batch_size is None else batch_size)

    def _structured_io(self, x: Any = None) -> bool:
        """Whether inputs or outputs are lists/dicts (``predict`` then takes and returns
        arrays in that structure) rather than one array each."""
        return (len(self.inputs) > 1 or isinstance(x, dict)
                or not isinstance(self._output_struct, SymbolicTensor))

    def _predict_structured(self, x: Any, batch_size: int) -> Any:
        """``predict`` for several inputs or outputs: arrays only, batch by batch."""
        if isinstance(x, dict):
            x = [x[k] for k in self._input_struct] if isinstance(self._input_struct, dict) \
                else list(x.values())
        arrays = [as_input_array(v) for v in (x if isinstance(x, (list, tuple)) else [x])]
        if len(arrays) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s). "
                             f"Received: {len(arrays)} input(s).")
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise ValueError("predict: all inputs must have the same number of samples. "
                             f"Received: {[len(a) for a in arrays]}")
        chunks: list[list[np.ndarray]] = []
        for start in range(0, n, batch_size):
            batch = [a[start:start + batch_size] for a in arrays]
            with no_grad(), batch_step(len(batch[0])):
                outs = self._plan.run([Tensor(b) for b in batch], training=False)
            chunks.append([o.data for o in outs])
        merged = [np.concatenate([c[i] for c in chunks], axis=0)
                  for i in range(len(self.outputs))]
        return pack_like(self._output_struct, merged)

    def _batch_logs(self, return_dict: bool) -> Any:
        logs = {m.name: float(m.result()) for m in self.metrics}
        if return_dict:  # sorted by name, as Keras 3's; the list keeps compile order
            return dict(sorted(logs.items()))
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
        training.train_step(self, self._x_batch(x), self._y_batch(
            y if self._structured_outputs() else np.asarray(y)), _weights(sample_weight))
        return self._batch_logs(return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """Loss (and metrics) on one batch, without updating the weights."""
        self._require_compiled("test_on_batch")
        for m in self.metrics:
            m.reset_state()
        training.test_step(self, self._x_batch(x), self._y_batch(
            y if self._structured_outputs() else np.asarray(y)), _weights(sample_weight))
        return self._batch_logs(return_dict)

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch: no graph, no callbacks, minimal overhead."""
        if not self._structured_io(x):
            x = as_input_array(x)
        n = len(flatten(x)[0]) if isinstance(x, (list, tuple, dict)) else len(x)
        with no_grad(), batch_step(n):
            out = self(x, training=False)
        return out.data if isinstance(out, Tensor) else pack_like(
            out, [t.data for t in flatten(out)])

    # ------------------------------------------------------------------ output
    def summary(self, line_length: int | None = None,
                print_fn: Callable[[str], None] | None = None) -> None:
        """Print Keras 3's table of layers, output shapes and parameter counts (with the
        "Connected to" column for a graph that is not a plain chain)."""
        summary.print_summary(self, line_length, print_fn)

    # ------------------------------------------------------------------ saving
    def save(self, filepath: str | os.PathLike) -> None:
        """Save architecture, weights and (if compiled) compile config and optimizer state to
        one ``.npz`` file, atomically. Reload with ``minicnn.load_model``."""
        saving.save_model(self, filepath)

    def save_weights(self, filepath: str | os.PathLike) -> None:
        """Save only the weights (``.weights.npz`` by convention), atomically."""
        saving.save_weights(self, filepath)

    def load_weights(self, filepath: str | os.PathLike, allow_non_finite: bool = False) -> None:
        """Load weights saved by ``save_weights`` (or ``save``); shapes must match, and NaN or
        infinite weights are refused unless ``allow_non_finite=True``."""
        saving.load_weights(self, filepath, allow_non_finite=allow_non_finite)

    def export(self, filepath: str | os.PathLike, format: str = "onnx") -> None:
        """Write the inference graph to ``filepath`` (Keras 3's spelling; only "onnx")."""
        from minicnn.export import export_model

        export_model(self, filepath, format)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} name={self.name!r} layers={len(self.layers)} "
                f"built={self.built}>")


# Layer.__init_subclass__ wrapped Model.build to mark the layer built and record its shapes; a
# model does both itself (its shapes are properties), so it keeps the plain method.
Model.build = Model.__dict__["build"].__wrapped__  # type: ignore[method-assign]


def _weights(sample_weight: Any) -> np.ndarray | None:
    return None if sample_weight is None else as_weight_array(sample_weight)


class MultiOutputLoss:
    """The loss of a model with several outputs: one loss per output, summed (Keras's total
    loss with its default loss weights of 1).

    Args:
        model: the model (for its output order and names).
        loss: one loss for every output, a list with one per output, or a dict by output key
            (the keys of a dict ``outputs``) or output layer name.
    """

    def __init__(self, model: Model, loss: Any):
        n = model._n_outputs()
        struct = model._output_struct
        if isinstance(loss, dict):
            keys = list(struct) if isinstance(struct, dict) else \
                [t.history[0].name for t in model.outputs]
            missing = [k for k in keys if k not in loss]
            if missing:
                raise ValueError(f"compile: `loss` as a dict needs one entry per output "
                                 f"{keys}. Missing: {missing}")
            loss = [loss[k] for k in keys]
        if isinstance(loss, (list, tuple)):
            if len(loss) != n:
                raise ValueError(f"compile: model '{model.name}' has {n} outputs. "
                                 f"Received: a list of {len(loss)} losses.")
            self.losses = [losses_module.get(fn) for fn in loss]
        else:
            self.losses = [losses_module.get(loss)] * n
        self.name = "loss"

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The sum of each output's loss; ``sample_weight`` weights every output's samples."""
        preds = flatten(y_pred)
        trues = list(y_true)
        if len(trues) != len(preds):
            raise ValueError(f"The model has {len(preds)} outputs. "
                             f"Received: {len(trues)} label arrays.")
        total = None
        for fn, t, p in zip(self.losses, trues, preds):
            value = fn(t, p) if sample_weight is None else fn(t, p, sample_weight=sample_weight)
            total = value if total is None else total + value
        return total


def _deserialize_loss(spec: Any) -> Any:
    if spec is None:
        return None
    if isinstance(spec, list):
        return [losses_module.deserialize(s) for s in spec]
    return losses_module.deserialize(spec)


def rebuild_graph(cls: type[Model], config: dict[str, Any],
                  make_layer: Callable[[dict[str, Any]], Layer]) -> Model:
    """A ``cls`` model from a functional config: ``make_layer(spec)`` makes each layer, then
    each layer is called again on the tensors its ``inbound_nodes`` name.

    A shared layer's later call may need a layer listed after it (layers are listed by
    depth), so nodes wait until their inputs exist; a layer's own nodes keep their order.
    """
    made: dict[str, Layer] = {}
    pending: list[tuple[str, Any]] = []
    outputs: dict[tuple[str, int], list[SymbolicTensor]] = {}
    for spec in config["layers"]:
        layer = make_layer(spec)
        made[spec["name"]] = layer
        if isinstance(layer, InputLayer):
            outputs[(spec["name"], 0)] = [layer]
        pending += [(spec["name"], args) for args in spec.get("inbound_nodes", [])]

    def tensor(ref: list[Any]) -> SymbolicTensor:
        try:
            return outputs[(ref[0], ref[1])][ref[2]]
        except (KeyError, IndexError) as err:
            raise ValueError(f"Cannot rebuild model '{config.get('name')}': no tensor "
                             f"{ref[0]}[{ref[1]}][{ref[2]}].") from err

    counts: dict[str, int] = {}
    while pending:
        progressed = False
        waiting: set[str] = set()
        for item in list(pending):
            name, args = item
            if name in waiting or not all((r[0], r[1]) in outputs for r in _refs(args)):
                waiting.add(name)  # this layer's later nodes wait for this one
                continue
            out = made[name](_map_refs(args, tensor))
            outputs[(name, counts.get(name, 0))] = flatten(out)
            counts[name] = counts.get(name, 0) + 1
            pending.remove(item)
            progressed = True
        if not progressed:
            raise ValueError(f"Cannot rebuild model '{config.get('name')}': its inbound nodes "
                             f"refer to layers or nodes that do not exist: {pending[:3]}")
    return cls(_map_refs(config["input_layers"], tensor),
               _map_refs(config["output_layers"], tensor),
               name=config.get("name"), trainable=config.get("trainable", True))


def _map(structure: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(structure, (list, tuple)):
        return [_map(v, fn) for v in structure]
    if isinstance(structure, dict):
        return {k: _map(v, fn) for k, v in structure.items()}
    return fn(structure)


def _is_ref(value: Any) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def _refs(structure: Any) -> list[list[Any]]:
    if _is_ref(structure):
        return [structure]
    if isinstance(structure, list):
        return [r for v in structure for r in _refs(v)]
    if isinstance(structure, dict):
        return [r for v in structure.values() for r in _refs(v)]
    return []


def _map_refs(structure: Any, fn: Callable[[list[Any]], Any]) -> Any:
    if _is_ref(structure):
        return fn(structure)
    if isinstance(structure, list):
        return [_map_refs(v, fn) for v in structure]
    if isinstance(structure, dict):
        return {k: _map_refs(v, fn) for k, v in structure.items()}
    return structure


@functools.lru_cache(maxsize=1)
def _model_classes() -> dict[str, type[Layer]]:
    from minicnn.models.sequential import Sequential

    return {"Sequential": Sequential, "Model": Model, "Functional": Model}


def _layer_registry() -> dict[str, type[Layer]]:
    registry: dict[str, type[Layer]] = {}
    for name in layers_module.__all__:
        obj = getattr(layers_module, name)
        if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer:
            registry[obj.__name__] = obj
    registry.update(_model_classes())
    return registry


def layer_from_config(spec: dict[str, Any]) -> Layer:
    """Make a minicnn layer (or nested model) from ``{"class_name", "config"}`` (registry
    lookup, no imports).

    Example:
        >>> from minicnn.models.model import layer_from_config
        >>> layer_from_config({"class_name": "Dense", "config": {"units": 3}}).units
        3
    """
    registry = _layer_registry()
    name = spec.get("class_name") if isinstance(spec, dict) else None
    if name not in registry:
        raise ValueError(f"Unknown layer class. Expected one of {sorted(registry)}. "
                         f"Received: class_name={name!r}")
    return registry[name].from_config(dict(spec.get("config", {})))
