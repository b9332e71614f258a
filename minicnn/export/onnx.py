"""Export a minicnn model to ONNX: an inference graph checked by ``onnx.checker``.

The graph is what ``predict`` computes: Dropout and augmentation layers are left out, Rescaling
is kept (Mul, Add). Its input is NHWC like the model's, float32, with a dynamic batch axis named
``batch``; inputs are named after the model's ``Input`` layers and outputs after the layers that
compute them. Inside, the first Conv or pooling reads a Transpose to NCHW and the tensor is
transposed back to NHWC before Flatten, Dense or the output (see ``builder.py``).

Written with ``onnx.helper`` and ``onnx.numpy_helper`` only, for opset ``OPSET`` and IR version
``IR_VERSION`` (onnxruntime 1.17 and later, onnxruntime-web included, read both). ``onnx`` is
imported inside the functions: ``pip install minicnn[onnx]``.

Example:
    >>> import numpy as np, minicnn as mc
    >>> from minicnn.export.onnx import to_onnx
    >>> mc.clear_session()
    >>> model = mc.Sequential([mc.Input((8, 8, 3)), mc.Conv2D(4, 3, activation="relu"),
    ...                        mc.MaxPooling2D(2), mc.Flatten(), mc.Dense(1)])
    >>> proto = to_onnx(model)
    >>> [n.op_type for n in proto.graph.node]
    ['Transpose', 'Conv', 'Relu', 'MaxPool', 'Transpose', 'Flatten', 'Gemm']
    >>> proto.graph.input[0].name, proto.graph.output[0].name, proto.opset_import[0].version
    ('input_layer', 'dense', 17)
"""

from __future__ import annotations

import os
from typing import Any

from minicnn.export.builder import NHWC, OnnxBuilder
from minicnn.export.graph import model_graph
from minicnn.export.registry import converter_for
from minicnn.io import atomic_write

#: The ONNX opset the graph is written for (docs/deploy.md states it too).
OPSET = 17
#: ONNX IR version 8 (onnx 1.12+): new enough for opset 17, old enough for onnxruntime 1.17.
IR_VERSION = 8
#: Name of the dynamic batch axis of every input and output.
BATCH_AXIS = "batch"


def import_onnx() -> Any:
    """The ``onnx`` package, or an ImportError saying how to install it."""
    try:
        import onnx
    except ImportError as err:
        raise ImportError("Exporting to ONNX needs the `onnx` package: "
                          "pip install minicnn[onnx]  (or: pip install onnx)") from err
    return onnx


def _value_info(helper: Any, tensor_type: int, name: str, shape: tuple[Any, ...]) -> Any:
    dims = [BATCH_AXIS if i == 0 else d for i, d in enumerate(shape)]
    return helper.make_tensor_value_info(name, tensor_type, dims)


def to_onnx(model: Any) -> Any:
    """The model as a checked ``onnx.ModelProto`` (``check_model(full_check=True)`` passes).

    Raises:
        ExportError: a layer, activation or option with no ONNX converter (named).
        ImportError: the ``onnx`` package is not installed.
    """
    import minicnn

    onnx = import_onnx()
    helper = onnx.helper
    graph = model_graph(model)
    ctx = OnnxBuilder(helper, onnx.numpy_helper,
                      reserved=[name for name, _ in graph.inputs] + graph.outputs)
    env: dict[str, str] = {}  # model tensor -> ONNX tensor
    inputs = []
    for name, shape in graph.inputs:
        env[name] = ctx.tensor(name, (None,) + tuple(shape))
        inputs.append(_value_info(helper, onnx.TensorProto.FLOAT, name, ctx.shape(name)))
    for call in graph.nodes:
        xs = [env[i] for i in call.inputs]
        shapes = [ctx.shape(x) for x in xs]
        ctx.out_shape = tuple(call.layer.compute_output_shape(shapes if call.packed
                                                               else shapes[0]))
        y, layout = converter_for(call.layer)(ctx, call.layer, xs)
        if y not in xs:  # a new tensor (an identity returns its input)
            ctx.tensor(y, ctx.out_shape, layout)
        env[call.output] = y
    outputs, renamed = [], {}
    graph_inputs = {name for name, _ in graph.inputs}
    for name in graph.outputs:
        y = ctx.get(env[name], NHWC)
        y = renamed.get(y, y)
        if y in graph_inputs or y in renamed.values():  # not a node's output of its own
            ctx.nodes.append(helper.make_node("Identity", [y], [name], name=f"{name}/Identity"))
        elif y != name:  # give the computed tensor the output's name
            for node in ctx.nodes:
                node.input[:] = [name if i == y else i for i in node.input]
                node.output[:] = [name if o == y else o for o in node.output]
            renamed[y] = name
        ctx.tensor(name, ctx.shape(y))
        outputs.append(_value_info(helper, onnx.TensorProto.FLOAT, name, ctx.shape(name)))
    proto = helper.make_model(
        helper.make_graph(ctx.nodes, getattr(model, "name", "model"), inputs, outputs,
                          initializer=ctx.initializers),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="minicnn", producer_version=minicnn.__version__,
        doc_string=f"minicnn model '{getattr(model, 'name', 'model')}': NHWC float32 input, "
                   "inference graph (dropout and augmentation left out).",
    )
    proto.ir_version = IR_VERSION
    helper.set_model_props(proto, {"minicnn_model": str(getattr(model, "name", "model")),
                                   "input_layout": "NHWC"})
    onnx.checker.check_model(proto, full_check=True)
    return proto


def save_onnx(model: Any, filepath: str | os.PathLike) -> None:
    """Write ``to_onnx(model)`` to ``filepath`` atomically (temp file, fsync, ``os.replace``)."""
    data = to_onnx(model).SerializeToString()
    atomic_write(filepath, lambda f: f.write(data))
