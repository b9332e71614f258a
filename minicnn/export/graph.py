"""The model as a graph the exporters walk: layers with the names of their input and output tensors.

An exporter never looks inside a model class. It asks ``model_graph(model)`` for a ``Graph``: the
model's inputs (name and shape of one sample), its layer calls in an order where every input is
computed before it is used, and the names of its outputs. A ``Sequential`` is a chain; a model
class with branches and merges adds one function here that lists its calls the same way, and every
exporter then handles it with no other change.

Example:
    >>> import minicnn as mc
    >>> from minicnn.export.graph import model_graph
    >>> mc.clear_session()
    >>> g = model_graph(mc.Sequential([mc.Input((4,)), mc.Dense(2), mc.Dropout(0.5)]))
    >>> g.inputs, g.outputs
    ([('input_layer', (4,))], ['dropout'])
    >>> [(type(n.layer).__name__, n.inputs, n.output) for n in g.nodes]
    [('Dense', ('input_layer',), 'dense'), ('Dropout', ('dense',), 'dropout')]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from minicnn.layers.base import Layer


@dataclass(frozen=True)
class LayerCall:
    """One call of ``layer`` on the tensors named ``inputs``, giving the tensor named ``output``;
    ``packed``: the layer takes its inputs as one list (merge layers)."""

    layer: Layer
    inputs: tuple[str, ...]
    output: str
    packed: bool = False


@dataclass
class Graph:
    """A model's inputs ``(name, sample shape)``, its layer calls in order, its output names."""

    inputs: list[tuple[str, tuple[int, ...]]]
    nodes: list[LayerCall] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


def sequential_graph(model: Any) -> Graph:
    """The chain of a built ``Sequential``: each layer reads the previous layer's output.

    Tensors are named after the layer that computes them (the input after the ``Input``).
    """
    shape = model.input_shape
    if not model.built or shape is None or not model.layers:
        raise ValueError(f"Cannot export Sequential '{model.name}': it is not built or has no "
                         "layers. Give it an Input(shape) (or call it on data) first.")
    name = model.input_layer.name
    graph = Graph(inputs=[(name, tuple(shape[1:]))])
    for layer in model.layers:
        graph.nodes.append(LayerCall(layer, (name,), layer.name))
        name = layer.name
    graph.outputs.append(name)
    return graph


def functional_graph(model: Any) -> Graph:
    """The calls of a functional ``Model(inputs, outputs)``, from the plan it runs (its steps
    in topological order, keyed by symbolic tensor). Tensors are named after their layer, with
    ``_1``, ``_2``... for a shared layer's later calls."""
    names: dict[Any, str] = {}
    used: set[str] = set()

    def fresh(base: str) -> str:
        name, i = base, 0
        while name in used:
            i += 1
            name = f"{base}_{i}"
        used.add(name)
        return name

    graph = Graph(inputs=[])
    for key, tensor in zip(model._plan.input_keys, model.inputs):
        names[key] = fresh(tensor.history[0].name)
        graph.inputs.append((names[key], tuple(tensor.shape[1:])))
    for step in model._plan.steps:
        if len(step.outputs) != 1:
            raise ValueError(f"Cannot export layer '{step.layer.name}': it has "
                             f"{len(step.outputs)} outputs; exporters take one per layer call.")
        names[step.outputs[0]] = fresh(step.layer.name)
        graph.nodes.append(LayerCall(step.layer, tuple(names[k] for k in step.inputs),
                                     names[step.outputs[0]], isinstance(step.args, (list, tuple))))
    graph.outputs = [names[k] for k in model._plan.output_keys]
    if len(set(graph.outputs)) != len(graph.outputs):
        raise ValueError(f"Cannot export model '{model.name}': one tensor is given twice as an "
                         f"output. Received: outputs {graph.outputs}")
    return graph


def model_graph(model: Any) -> Graph:
    """The ``Graph`` of a model, or a TypeError naming its class when none can be made."""
    from minicnn.models.sequential import Sequential

    if isinstance(model, Sequential):
        return sequential_graph(model)
    if hasattr(model, "_plan") and hasattr(model, "inputs"):  # a functional Model
        return functional_graph(model)
    raise TypeError("Export supports minicnn models (Sequential, or functional Model). "
                    f"Received: a {type(model).__name__}")
