"""Symbolic tensors and nodes: what calling a layer on ``Input(...)`` records (Keras's idea).

A ``SymbolicTensor`` holds a shape (batch axis None), a dtype and its history: the layer that
produced it, which of that layer's calls (the node index) and which of the call's outputs (the
tensor index). Calling a layer on symbolic tensors builds the layer for their shapes, appends a
``Node`` to ``layer.inbound_nodes`` and returns new symbolic tensors; no number is computed.
``minicnn.Model(inputs, outputs)`` then walks these histories back from the outputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from minicnn.layers.base import Layer


class SymbolicTensor:
    """A placeholder for a batch of data in a model being defined: shape, dtype and history.

    Args:
        shape: the full shape, batch axis first (None when unknown).
        history: ``(layer, node_index, tensor_index)`` of the call that produced it.
        dtype: the data type (float32).

    Example:
        >>> import minicnn as mc
        >>> mc.clear_session()
        >>> x = mc.layers.Dense(3)(mc.Input((4,), name="features"))
        >>> x.shape, x.history[0].name, x.history[1:]
        ((None, 3), 'dense', (0, 0))
    """

    def __init__(self, shape: tuple[Any, ...], history: tuple[Layer, int, int],
                 dtype: Any = np.float32):
        self.shape = tuple(shape)
        self.history = history
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        layer, node_index, tensor_index = self.history
        return (f"<SymbolicTensor shape={self.shape} dtype={self.dtype.name} "
                f"from={layer.name}[{node_index}][{tensor_index}]>")


class Node:
    """One call of a layer on symbolic tensors: its inputs (as passed), and its outputs.

    ``args`` keeps the structure the layer was called with (one tensor, or a list for merge
    layers and multi-input models) so the model can call the layer the same way on data.
    """

    def __init__(self, layer: Layer, args: Any, outputs: list[SymbolicTensor],
                 is_input: bool = False):
        self.layer = layer
        self.args = args
        self.inputs: list[SymbolicTensor] = flatten(args)
        self.outputs = outputs
        self.is_input = is_input

    @property
    def parent_nodes(self) -> list[Node]:
        return [t.history[0].inbound_nodes[t.history[1]] for t in self.inputs]


def flatten(structure: Any) -> list[Any]:
    """The leaves of a tensor, a list/tuple of tensors, or a dict of tensors (in key order).

    Example:
        >>> from minicnn.layers.node import flatten
        >>> flatten([1, (2, 3), {"b": 4, "a": 5}])
        [1, 2, 3, 4, 5]
    """
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in flatten(value)]
    return [structure]


def pack_like(structure: Any, leaves: list[Any]) -> Any:
    """Put ``leaves`` back into the shape of ``structure`` (inverse of ``flatten``).

    Example:
        >>> from minicnn.layers.node import pack_like
        >>> pack_like(["x", ("y", "z")], [1, 2, 3])
        [1, (2, 3)]
    """
    it = iter(leaves)

    def rebuild(item: Any) -> Any:
        if isinstance(item, (list, tuple)):
            return type(item)(rebuild(v) for v in item)
        if isinstance(item, dict):
            return {k: rebuild(v) for k, v in item.items()}
        return next(it)

    return rebuild(structure)


def is_symbolic(x: Any) -> bool:
    """Whether ``x`` is a symbolic tensor, or a list/tuple/dict holding one at its top level.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.layers.node import is_symbolic
        >>> is_symbolic([mc.Input((2,))]), is_symbolic(np.zeros(2))
        (True, False)
    """
    if isinstance(x, SymbolicTensor):
        return True
    # only the top level: a list of inputs is flat, and nested data lists can be long
    if isinstance(x, dict):
        return any(isinstance(v, SymbolicTensor) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(isinstance(v, SymbolicTensor) for v in x)
    return False


def _shapes(args: Any) -> Any:
    if isinstance(args, (list, tuple)):
        return [_shapes(a) for a in args]
    return args.shape


def call_symbolic(layer: Layer, args: Any) -> Any:
    """Record ``layer(args)`` on symbolic tensors: build the layer, add a node, return outputs.

    Calling one layer on several inputs records several nodes that share the layer's weights.

    Example:
        >>> import minicnn as mc
        >>> dense = mc.layers.Dense(2)
        >>> a, b = mc.Input((3,)), mc.Input((3,))
        >>> _ = dense(a), dense(b)
        >>> len(dense.inbound_nodes), dense.count_params()
        (2, 8)
    """
    leaves = flatten(args)
    if not all(isinstance(t, SymbolicTensor) for t in leaves):
        bad = next(t for t in leaves if not isinstance(t, SymbolicTensor))
        raise ValueError(
            f"Layer '{layer.name}' was called on a mix of symbolic tensors (from Input) and "
            f"data. Received: an input of type {type(bad).__name__}"
        )
    if isinstance(args, dict):
        raise ValueError(f"Layer '{layer.name}': call it on one tensor or a list of tensors. "
                         "Received: a dict.")
    shape = _shapes(args)
    if getattr(layer, "built", False):
        layer.check_input_shape(shape)
    else:
        layer.ensure_built(shape)
    out_shape = layer.compute_output_shape(shape)
    multi = isinstance(out_shape, list)
    shapes = out_shape if multi else [out_shape]
    node_index = len(layer.inbound_nodes)
    outputs = [SymbolicTensor(s, (layer, node_index, i)) for i, s in enumerate(shapes)]
    layer.inbound_nodes.append(Node(layer, args, outputs))
    return outputs if multi else outputs[0]
