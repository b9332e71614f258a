"""The graph runner shared by ``Sequential`` and ``Model``, and Keras's graph mapping.

A model runs as a list of ``Step`` s in topological order; each step calls one layer on
values looked up by key and stores its outputs under new keys. A ``Sequential`` is the chain
``0 -> 1 -> ... -> n``; a functional ``Model`` gets its steps from ``map_graph``. ``GraphPlan``
also finds the Conv2D + MaxPooling2D pairs that ``minicnn.models.fusion`` can run as one
operation: the pool must be the only consumer of the convolution's output, and that output must
not be a model output (nobody else may see the unpooled activations). At inference it finds,
by the same rule, the chains convolution -> BatchNormalization [-> ReLU] that the fast path
runs as one convolution with folded weights (``minicnn.fast.folding``), a plain ReLU whose only
reader is such a chain's SeparableConv2D inside that convolution, a MaxPooling2D whose only
reader is a two-input Add as one pass with it (``minicnn.fast.pool_add``), and the
BatchNormalization -> ReLU pairs it runs as one op (``minicnn.fast.bn_relu``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from minicnn.layers.base import Layer, resolve_training
from minicnn.layers.node import Node, SymbolicTensor, flatten, pack_like
from minicnn.models.fusion import fusable, run_layers
from minicnn.ops import route
from minicnn.tensor import Tensor, is_grad_enabled


class Step:
    """Call ``layer`` on the values under ``args`` (a key, or a list of keys); store its
    outputs under ``outputs`` (one key per output tensor)."""

    def __init__(self, layer: Layer, args: Any, outputs: Sequence[Any]):
        self.layer = layer
        self.args = args
        self.inputs = flatten(args)
        self.outputs = list(outputs)


class GraphPlan:
    """Steps in execution order, with their fusable pairs and when each value can be dropped.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models.graph import GraphPlan, Step
        >>> conv, pool = mc.layers.Conv2D(2, 3, activation="relu"), mc.layers.MaxPooling2D(2)
        >>> plan = GraphPlan([Step(conv, 0, [1]), Step(pool, 1, [2])], [0], [2])
        >>> from minicnn.ops import route
        >>> plan.fused == ({0: 1} if route.FAST else {})  # pairs fuse on the fast path only
        True
        >>> plan.run([mc.Tensor(np.ones((1, 6, 6, 1), np.float32))])[0].shape
        (1, 2, 2, 2)
    """

    def __init__(self, steps: Sequence[Step], input_keys: Sequence[Any],
                 output_keys: Sequence[Any]):
        self.steps = list(steps)
        self.input_keys = list(input_keys)
        self.output_keys = list(output_keys)
        uses: dict[Any, list[int]] = {}
        for i, step in enumerate(self.steps):
            for key in step.inputs:
                uses.setdefault(key, []).append(i)
        protected = set(self.output_keys)
        self._uses, self._protected = uses, protected
        self._fused: dict[int, int] | None = None  # found on the first fast-path run
        self._folds: dict[int, list[int]] | None = None  # found on the first fast inference
        self._relu_inputs: dict[int, int] | None = None  # found with the folds
        self._pool_adds: dict[int, int] | None = None  # found on the first fast inference
        self._bn_relus: dict[int, int] | None = None  # found on the first fast-path run
        # the last step that reads each value, so intermediate activations are dropped early
        self.last_use = {key: max(idx) for key, idx in uses.items() if key not in protected}

    def _sole_user(self, i: int) -> int | None:
        """The step that alone reads step ``i``'s only output, with no other input, when that
        output is no model output; else None."""
        step = self.steps[i]
        if len(step.outputs) != 1 or step.outputs[0] in self._protected:
            return None
        users = self._uses.get(step.outputs[0], [])
        if len(users) != 1 or isinstance(self.steps[users[0]].args, list):
            return None
        return users[0]

    @property
    def fused(self) -> dict[int, int]:
        """{conv step: pool step} for the pairs the fast path may fuse. Found when first asked
        (by a fast-path run), so that building or running a model on the plain path never
        imports ``minicnn.fast``."""
        if self._fused is None:
            fused = {}
            for i, step in enumerate(self.steps):
                j = self._sole_user(i)
                if j is not None and fusable(step.layer, self.steps[j].layer):
                    fused[i] = j
            self._fused = fused
        return self._fused

    @property
    def folds(self) -> dict[int, list[int]]:
        """{conv step: [its BatchNormalization step, and the ReLU step after it if any]} for
        the chains the fast path may fold at inference (``minicnn.fast.folding``); found when
        first asked, by a fast-path inference run."""
        if self._folds is None:
            foldable, is_plain_relu = route.fast("foldable"), route.fast("is_plain_relu")
            folds = {}
            for i, step in enumerate(self.steps):
                j = None if isinstance(step.args, list) else self._sole_user(i)
                if j is None or not foldable(step.layer, self.steps[j].layer):
                    continue
                k = self._sole_user(j)
                relu = k is not None and is_plain_relu(self.steps[k].layer)
                folds[i] = [j, k] if relu else [j]
            self._folds = folds
        return self._folds

    @property
    def relu_inputs(self) -> dict[int, int]:
        """{ReLU step: the folded chain's first step it alone feeds} for the plain ReLUs the
        chain runs inside its convolution (``minicnn.fast.folding.takes_relu_input``: a
        SeparableConv2D reads its input through the ReLU); found with ``folds``."""
        if self._relu_inputs is None:
            is_plain_relu = route.fast("is_plain_relu")
            takes_relu_input = route.fast("takes_relu_input")
            pairs = {}
            in_chains = {k for chain in self.folds.values() for k in chain}  # ReLUs run there
            for i, step in enumerate(self.steps):
                j = None if isinstance(step.args, list) else self._sole_user(i)
                if (j is not None and j in self.folds and i not in in_chains
                        and is_plain_relu(step.layer) and takes_relu_input(self.steps[j].layer)):
                    pairs[i] = j
            self._relu_inputs = pairs
        return self._relu_inputs

    @property
    def pool_adds(self) -> dict[int, int]:
        """{MaxPooling2D step: the two-input Add step that alone reads it} for the pairs the
        fast path runs as one pass at inference (``minicnn.fast.pool_add``), when the pool is
        the last reader of its input; found when first asked, by a fast-path inference run."""
        if self._pool_adds is None:
            fusable_pair = route.fast("pool_add_fusable")
            pooled_by_conv = set(self.fused.values())  # those pools run inside their conv
            pairs = {}
            for i, step in enumerate(self.steps):
                if (len(step.outputs) != 1 or step.outputs[0] in self._protected
                        or i in pooled_by_conv):
                    continue
                users = self._uses.get(step.outputs[0], [])
                if len(users) != 1 or not self._kept_until(step.inputs, i, users[0]):
                    continue
                add = self.steps[users[0]]
                if (len(add.inputs) == 2 and add.inputs[0] != add.inputs[1]
                        and fusable_pair(step.layer, add.layer)):
                    pairs[i] = users[0]
            self._pool_adds = pairs
        return self._pool_adds

    def _kept_until(self, keys, i: int, j: int) -> bool:
        """Whether values ``keys``, read by step ``i``, are still there at a later step ``j``
        when step ``i`` waits until ``j``: none is dropped by a step in between."""
        return all(self.last_use.get(k, i) == i or self.last_use[k] >= j for k in keys)

    @property
    def bn_relus(self) -> dict[int, int]:
        """{BatchNormalization step: ReLU step} for the pairs the fast path runs as one op
        (``minicnn.fast.bn_relu``), in training and at inference; found when first asked."""
        if self._bn_relus is None:
            fusable_pair = route.fast("bn_relu_fusable")
            pairs = {}
            for i, step in enumerate(self.steps):
                j = None if isinstance(step.args, list) else self._sole_user(i)
                if j is not None and fusable_pair(step.layer, self.steps[j].layer):
                    pairs[i] = j
            self._bn_relus = pairs
        return self._bn_relus

    def run(self, inputs: Sequence[Tensor], training: bool = False) -> list[Tensor]:
        """The output values for ``inputs`` (one Tensor per input key).

        Run with no gradient recorded (``model(x)`` under ``no_grad``, as ``predict`` does)
        it is one inference step (``route.batch_step``): without it a direct call left
        numpy's BLAS at its own threads beside the chunk threads, and ``model(x)`` on one
        image measured 33-88 ms against 8 ms for ``predict_on_batch`` on the busy 2-core
        machine (holds nest: inside ``predict_on_batch`` this costs a counter).
        """
        if is_grad_enabled() or not inputs or inputs[0].ndim == 0:
            return self._run(inputs, training)
        with route.batch_step(inputs[0].shape[0]):
            return self._run(inputs, training)

    def _run(self, inputs: Sequence[Tensor], training: bool) -> list[Tensor]:
        values: dict[Any, Any] = dict(zip(self.input_keys, inputs))
        skip: set[int] = set()
        fused = self.fused if route.FAST else {}
        bn_relus = self.bn_relus if route.FAST else {}
        # BatchNormalization in inference mode, nothing recorded: its chains may be folded
        # (training None: a layer call inside another's training=True inherits that flag)
        inference = (route.FAST and not resolve_training(training, False)
                     and not is_grad_enabled())
        folds = self.folds if inference else {}
        relu_inputs = self.relu_inputs if inference else {}
        pool_adds = self.pool_adds if inference else {}
        add_pools = {j: i for i, j in pool_adds.items()}
        declined: set[int] = set()  # chains run_folded turned down: not offered twice
        for i, step in enumerate(self.steps):
            if i in skip or i in pool_adds:  # (a pool before its Add runs at the Add's step)
                continue
            if i in add_pools and self._run_pool_add(values, add_pools[i], i, training):
                continue
            # a ReLU whose only reader is a folded chain that takes it inside: run the chain
            # now, on the ReLU's input (the ReLU's output is the chain's only input, so the
            # chain can run here and that output is never made)
            first = relu_inputs.get(i)
            start, relu_input = (first, True) if first is not None else (i, False)
            chain = folds.get(start) if start not in declined else None
            if chain is not None:
                y = route.fast("run_folded")(self.steps[start].layer,
                                             self.steps[chain[0]].layer, len(chain) == 2,
                                             values[step.args], relu_input)
                if y is not None:
                    last = self.steps[chain[-1]]
                    values[last.outputs[0]] = y
                    skip.update([start, *chain])
                    for s in dict.fromkeys([i, start, *chain]):
                        self._drop(values, s)
                    continue
                declined.add(start)
            j = bn_relus.get(i)
            if j is not None:
                y = route.fast("run_bn_relu")(step.layer, values[step.args], training)
                if y is not None:
                    values[self.steps[j].outputs[0]] = y
                    skip.add(j)
                    self._drop(values, i)
                    self._drop(values, j)
                    continue
            j = fused.get(i)
            if j is not None:  # run_layers fuses the pair (or runs both when fusion is off)
                pool = self.steps[j]
                values[pool.outputs[0]] = run_layers([step.layer, pool.layer],
                                                     values[step.args], training=training)
                skip.add(j)
                self._drop(values, i)
                continue
            args = pack_like(step.args, [values[k] for k in step.inputs])
            out = step.layer(args, training=training)
            for key, value in zip(step.outputs, flatten(out)):
                values[key] = value
            self._drop(values, i)
        return [values[k] for k in self.output_keys]

    def _run_pool_add(self, values: dict[Any, Any], i: int, j: int, training) -> bool:
        """At Add step ``j``: its pool (step ``i``, deferred to here) and the Add in one pass;
        True if done. If the fast path declines, the pool runs on its own (False: the Add
        then runs as usual)."""
        pool, add = self.steps[i], self.steps[j]
        other = next(k for k in add.inputs if k != pool.outputs[0])
        y = route.fast("run_pool_add")(pool.layer, values[pool.args], values[other])
        if y is None:
            values[pool.outputs[0]] = pool.layer(values[pool.args], training=training)
            self._drop(values, i)
            return False
        values[add.outputs[0]] = y
        self._drop(values, i)
        self._drop(values, j)
        return True

    def _drop(self, values: dict[Any, Any], i: int) -> None:
        for key in self.steps[i].inputs:
            if self.last_use.get(key) == i:
                values.pop(key, None)


def chain_plan(layers: Sequence[Layer]) -> GraphPlan:
    """The plan of a ``Sequential``: layer ``i`` reads value ``i`` and writes value ``i + 1``."""
    steps = [Step(layer, i, [i + 1]) for i, layer in enumerate(layers)]
    return GraphPlan(steps, [0], [len(layers)])


def _node_of(tensor: SymbolicTensor) -> Node:
    layer, node_index, _ = tensor.history
    return layer.inbound_nodes[node_index]


def map_graph(inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor]
              ) -> tuple[list[Node], list[Layer], dict[int, int]]:
    """Walk back from ``outputs`` to ``inputs``: the nodes in topological order, the layers in
    Keras's order, and each node's depth (by ``id``).

    Keras's order (which ``model.layers`` and ``get_weights`` follow) is by decreasing depth,
    the depth of a node being the longest path from it to an output, a shared layer taking its
    deepest node's; ties keep the order of a depth-first walk from the outputs.

    Raises:
        ValueError: a tensor the outputs need cannot be computed from ``inputs`` (graph
            disconnected), or two layers share a name.
    """
    input_ids = {id(t) for t in inputs}
    finished: set[int] = set()
    order: list[Node] = []
    first_seen: dict[int, int] = {}
    layers_by_id: dict[int, Layer] = {}
    for out in outputs:
        stack: list[tuple[Node, int]] = [(_node_of(out), 0)]
        if id(out) in input_ids and not stack[0][0].is_input:
            continue  # an intermediate tensor given as both input and output
        while stack:
            node, k = stack.pop()
            if k == 0:
                if id(node) in finished:
                    continue
                first_seen.setdefault(id(node.layer), len(first_seen))
                layers_by_id[id(node.layer)] = node.layer
            parents = [] if node.is_input else node.inputs
            if k < len(parents):
                stack.append((node, k + 1))
                tensor = parents[k]
                parent = _node_of(tensor)
                if id(parent) in finished:
                    continue
                if id(tensor) in input_ids and not parent.is_input:
                    finished.add(id(parent))  # the graph starts at this tensor
                    continue
                stack.append((parent, 0))
            else:
                finished.add(id(node))
                order.append(node)
    in_graph = {id(n) for n in order}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        if not node.is_input:
            for parent in node.parent_nodes:
                if id(parent) in in_graph:
                    node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:  # an unused Input is still one of the model's layers
        if id(t.history[0]) not in layer_depth and _node_of(t).is_input:
            layer_depth[id(t.history[0])] = 0
            first_seen[id(t.history[0])] = -1
            layers_by_id[id(t.history[0])] = t.history[0]
    layers = sorted(layers_by_id.values(),
                    key=lambda lay: (-layer_depth[id(lay)], first_seen[id(lay)]))

    computable = set(input_ids)
    for node in order:
        for t in node.inputs:
            if id(t) not in computable:
                raise ValueError(
                    f"Graph disconnected: cannot obtain the value of tensor {t!r} for layer "
                    f"'{node.layer.name}' from the model's inputs. Pass the Input it comes "
                    "from in `inputs`."
                )
        if node.is_input and id(node.outputs[0]) not in input_ids:
            continue
        computable.update(id(t) for t in node.outputs)
    for t in outputs:
        if id(t) not in computable:
            raise ValueError(
                f"Graph disconnected: the output {t!r} cannot be computed from the model's "
                "inputs. Pass the Input it comes from in `inputs`."
            )
    names = [lay.name for lay in layers]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f'The name "{name}" is used {names.count(name)} times in the '
                             "model. All layer names should be unique.")
    return order, layers, node_depth
