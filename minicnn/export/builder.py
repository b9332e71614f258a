"""``OnnxBuilder``: the nodes, weights and tensor layouts of an ONNX graph being written.

minicnn's tensors are NHWC (Keras's order); ONNX's Conv and pooling ops take NCHW. The builder
records, for every tensor, its shape in Keras's order and the layout it is stored in, and
``get(name, layout)`` hands a converter the tensor in the layout it needs, adding a Transpose
only when the layout changes (once per tensor: the transposed name is cached). A run of
convolutions and poolings therefore stays NCHW, with one Transpose at the first and one back to
NHWC where an NHWC-order op (Flatten, Dense, the model's output) reads it.

Converters (see ``converters.py``) use: ``fresh`` for new names, ``weight`` for initializers,
``node`` to emit an op, ``get``/``layout``/``shape`` to read inputs, ``keras_axis`` to map a
Keras axis into a stored layout (Concatenate, Softmax), and ``activation`` for the activations
that follow a Conv or Dense.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minicnn import activations
from minicnn.export.errors import ExportError

#: Keras's order (channels last) - the layout of every tensor whose rank is not 4 as well.
NHWC = "NHWC"
#: ONNX's Conv/pooling order (channels first).
NCHW = "NCHW"
_PERM = {(NHWC, NCHW): (0, 3, 1, 2), (NCHW, NHWC): (0, 2, 3, 1)}

#: minicnn activation -> ONNX op (softmax takes an axis; linear emits nothing).
_ACTIVATIONS = {activations.relu: "Relu", activations.sigmoid: "Sigmoid",
                activations.tanh: "Tanh", activations.softmax: "Softmax"}


def layer_label(layer: Any) -> str:
    """``Conv2D 'conv2d'``: how errors name a layer."""
    return f"{type(layer).__name__} '{getattr(layer, 'name', '?')}'"


class OnnxBuilder:
    """Collects an ONNX graph's nodes and initializers; ``onnx.helper`` makes the protos.

    Args:
        helper, numpy_helper: the ``onnx`` submodules (imported by the caller, lazily).
        reserved: names only the caller may give (the graph's inputs and outputs).
    """

    def __init__(self, helper: Any, numpy_helper: Any, reserved: Sequence[str] = ()):
        self.helper = helper
        self.numpy_helper = numpy_helper
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.shapes: dict[str, tuple[Any, ...]] = {}
        self.layouts: dict[str, str] = {}
        self._used: set[str] = set(reserved)
        self._converted: dict[tuple[str, str], str] = {}
        #: the output shape (Keras's order) of the layer call being converted
        self.out_shape: tuple[Any, ...] = ()

    # ------------------------------------------------------------------ names
    def fresh(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``... the first not yet used or reserved."""
        name, i = base, 0
        while name in self._used:
            i += 1
            name = f"{base}_{i}"
        self._used.add(name)
        return name

    def tensor(self, name: str, shape: Sequence[Any], layout: str = NHWC) -> str:
        """Record ``name``'s Keras-order ``shape`` and stored ``layout``; returns ``name``."""
        self._used.add(name)
        self.shapes[name] = tuple(shape)
        self.layouts[name] = layout if len(shape) == 4 else NHWC
        return name

    def shape(self, name: str) -> tuple[Any, ...]:
        """The tensor's shape in Keras's order (batch first, None when dynamic)."""
        return self.shapes[name]

    def layout(self, name: str) -> str:
        return self.layouts.get(name, NHWC)

    # ---------------------------------------------------------------- writing
    def weight(self, name: str, array: np.ndarray) -> str:
        """A float32 (or int64) initializer named after ``name``; returns its name."""
        array = np.asarray(array)
        array = array.astype(np.int64 if array.dtype.kind in "iu" else np.float32)
        name = self.fresh(name)
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op_type: str, inputs: Sequence[str], output: str, **attrs: Any) -> str:
        """Emit one ``op_type`` node writing a fresh name based on ``output``; returns it."""
        out = self.fresh(output)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out],
                                                name=self.fresh(f"{out}/{op_type}"), **attrs))
        return out

    def get(self, name: str, layout: str) -> str:
        """``name`` stored in ``layout`` (rank-4 tensors), adding one Transpose if needed."""
        have = self.layout(name)
        if have == layout or len(self.shapes.get(name, ())) != 4:
            return name
        key = (name, layout)
        if key not in self._converted:
            out = self.node("Transpose", [name], f"{name}_{layout.lower()}",
                            perm=list(_PERM[have, layout]))
            self.tensor(out, self.shapes[name], layout)
            self._converted[key] = out
        return self._converted[key]

    def keras_axis(self, name: str, axis: int) -> int:
        """Where Keras's ``axis`` of tensor ``name`` lies in its stored layout.

        Example:
            >>> b = OnnxBuilder(None, None)
            >>> _ = b.tensor("x", (None, 8, 8, 3), NCHW)
            >>> b.keras_axis("x", -1), b.keras_axis("x", 1)
            (1, 2)
        """
        rank = len(self.shapes[name])
        axis = axis % rank
        if self.layout(name) == NCHW:
            return _PERM[NHWC, NCHW].index(axis)
        return axis

    def before_activation(self, layer: Any, fn: Any) -> str:
        """The name for a Conv/Gemm output that ``fn`` still follows (the layer's own if none)."""
        return layer.name if fn is activations.linear else f"{layer.name}/pre_activation"

    def activation(self, layer: Any, fn: Any, x: str, output: str) -> str:
        """``fn(x)`` for a layer's activation (x already written in its final layout)."""
        if fn is activations.linear:
            return x
        op = _ACTIVATIONS.get(fn)
        if op is None:
            raise ExportError(f"Cannot export {layer_label(layer)}: its activation {fn!r} has no "
                              f"ONNX equivalent. Supported: {sorted(activations._REGISTRY)}.")
        attrs = {"axis": self.keras_axis(x, -1)} if op == "Softmax" else {}
        return self.node(op, [x], output, **attrs)
