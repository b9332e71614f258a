"""Why did the model say "dog"? Grad-CAM heat maps computed with minicnn's own autograd.

Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization", ICCV 2017) weighs the maps ``A_k`` of one convolutional layer
by how much the explained class's score grows with each of them, ``alpha_k`` = the spatial
mean of d score / d A_k, and keeps the positive part of ``sum_k alpha_k A_k``: the places
whose features speak *for* the class. The last convolution is the usual choice: its maps are
the most semantic ones that still have a spatial layout.

The model runs once, forward and backward. The explained layer's output is cut from the graph
and made a leaf that requires grad, and the model's weights are switched off for the backward
pass, so the only gradient computed is the one Grad-CAM needs (nothing lands in the weights'
``.grad``, so a model in the middle of training is not disturbed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from minicnn import activations
from minicnn.layers.base import Layer
from minicnn.tensor import Tensor, _grad_mode

#: The layers ``grad_cam`` explains by default (the last of them in the model), by class name
#: so that models without some of these layer types need not import them.
CONV_LAYERS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D")


def grad_cam(model: Any, x: Any, layer: str | Layer | None = None) -> np.ndarray:
    """Grad-CAM maps of the predicted class, one per image, at the resolution of ``layer``.

    The explained class is the predicted one. With a single sigmoid unit the score is the
    output p when p >= 0.5 ("dog" in the cat-dog example) and -p otherwise ("cat"); with
    several units it is the output of the largest. Sigmoid and softmax are monotone, so the
    normalised map is the same as from the logit's gradient up to the positive factor the
    map's normalisation removes; when the model ends in a sigmoid layer the gradient is taken
    from its logit, so a confident p that rounds to 1.0 in float32 still gets its map.

    Args:
        model: a built ``Sequential`` or functional ``Model`` with one input and one output.
        x: a batch of inputs, as the model takes them (raw pixels for the cat-dog models). A
            float64 Tensor is kept in float64 (with float64 weights, for exact comparisons).
        layer: the layer whose maps are weighed: a name, a layer of the model, or None for the
            last ``Conv2D``, ``SeparableConv2D`` or ``DepthwiseConv2D``. Any layer whose
            output has spatial maps (batch, height, width, channels) works, e.g. the
            activation after a batch-normalised convolution.

    Returns:
        A float array of shape (batch, height, width) of the layer's output, in [0, 1]: each
        image's map divided by its maximum (all zeros when no place speaks for the class).

    Raises:
        ValueError: an unknown layer name, a layer not in the model, a layer without spatial
            maps, or a model without a convolution when ``layer`` is None.

    Shape:
        x: (N, H, W, C) -> (N, h, w) where (N, h, w, K) is ``layer``'s output.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> mc.set_seed(0)
        >>> model = mc.Sequential([mc.Input((8, 8, 3)), mc.Conv2D(4, 3, activation="relu"),
        ...                        mc.Flatten(), mc.Dense(1, activation="sigmoid")])
        >>> maps = mc.explain.grad_cam(model, np.ones((2, 8, 8, 3)))
        >>> maps.shape, bool(maps.min() >= 0 and maps.max() <= 1)
        ((2, 6, 6), True)
    """
    target = _resolve_layer(model, layer)
    # One sigmoid unit: d(+-p)/dA = +-p(1-p) dz/dA, and the per-image factor p(1-p) > 0
    # cancels in the normalisation, so the logit z gives the same map; but in float32 a
    # confident p rounds to 1.0, p(1-p) to 0, and the map from p would be all zeros.
    head = _layers_of(model)[-1]
    from_logit = (getattr(head, "activation", None) is activations.sigmoid
                  and head is not target)
    if from_logit:
        head.activation = activations.linear
    try:
        maps, out = layer_and_model_outputs(model, x, target)
    finally:
        if from_logit:
            head.activation = activations.sigmoid
    if maps.ndim != 4:
        raise ValueError(
            f"grad_cam: layer '{target.name}' ({type(target).__name__}) gives outputs of shape "
            f"{maps.shape}, which are not spatial maps (batch, height, width, channels). "
            "Pick a convolution or another layer before the model flattens or pools globally."
        )
    if out.ndim != 2:
        raise ValueError(f"grad_cam: expects a model output of shape (batch, classes). "
                         f"Received: model output of shape {out.shape}")
    y = out.data
    seed = np.zeros_like(y)
    rows = np.arange(len(y))
    if y.shape[1] == 1:  # one sigmoid unit: the score of "0" is -p, of "1" it is p
        seed[:, 0] = np.where(y[:, 0] >= (0.0 if from_logit else 0.5), 1.0, -1.0)
    else:
        seed[rows, np.argmax(y, axis=1)] = 1.0
    # images are independent in inference, so the gradient of the sum of the scores gives
    # each image the gradient of its own score
    out.backward(seed)
    grad = maps.grad if maps.grad is not None else np.zeros_like(maps.data)
    alpha = grad.mean(axis=(1, 2))  # (N, K)
    cam = np.maximum(np.einsum("nhwk,nk->nhw", maps.data, alpha), 0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)


def _layers_of(model: Any) -> list[Layer]:
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"grad_cam expects a minicnn Sequential or Model. "
                        f"Received: {model!r} of type {type(model).__name__}")
    return list(layers)


def _resolve_layer(model: Any, layer: str | Layer | None) -> Layer:
    layers = _layers_of(model)
    if layer is None:
        for candidate in reversed(layers):
            if type(candidate).__name__ in CONV_LAYERS:
                return candidate
        raise ValueError(
            f"grad_cam: model '{getattr(model, 'name', model)}' has no {', '.join(CONV_LAYERS)} "
            "layer to explain; pass layer= (a layer with spatial maps)."
        )
    if isinstance(layer, str):
        for candidate in layers:
            if candidate.name == layer:
                return candidate
        raise ValueError(f"grad_cam: no layer named '{layer}' in model "
                         f"'{getattr(model, 'name', model)}'. Existing layers are: "
                         f"{[lay.name for lay in layers]}.")
    if isinstance(layer, Layer):
        if any(candidate is layer for candidate in layers):
            return layer
        raise ValueError(f"grad_cam: layer '{layer.name}' is not a layer of model "
                         f"'{getattr(model, 'name', model)}'.")
    raise TypeError(f"grad_cam: layer must be a name, a Layer or None. "
                    f"Received: {layer!r} of type {type(layer).__name__}")


def layer_and_model_outputs(model: Any, x: Any, layer: Layer) -> tuple[Tensor, Tensor]:
    """(``layer``'s output, the model's output) on ``x`` in inference mode, the first as a
    graph leaf that requires grad, so ``backward`` from the second stops there.

    Nothing else requires grad during the run (the weights are switched off and restored), so
    the only graph recorded is the part of the model after ``layer``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.explain import layer_and_model_outputs
        >>> mc.set_seed(0)
        >>> model = mc.Sequential([mc.Input((4,)), mc.Dense(3, name="d1"), mc.Dense(1)])
        >>> a, y = layer_and_model_outputs(model, np.ones((2, 4)), model.get_layer("d1"))
        >>> y.backward(np.ones((2, 1)))
        >>> np.allclose(a.grad, model.get_layer(index=1).kernel.data.T)
        True
    """
    from minicnn.models.data import as_input_array

    x = x if isinstance(x, Tensor) else Tensor(as_input_array(x))
    x = Tensor(x.data)  # a constant: gradients stop at the leaf
    if not getattr(model, "built", True) and hasattr(model, "build"):
        model.build((None,) + x.shape[1:])
    weights = [w for w in model.weights if w.requires_grad]
    for w in weights:
        w.requires_grad = False
    grad_was_on, _grad_mode.enabled = _grad_mode.enabled, True  # also inside no_grad()
    try:
        plan = _plan_of(model)
        if plan is not None:
            return _run_plan(plan, x, layer)
        return _run_chain(model.layers, x, layer)
    finally:
        _grad_mode.enabled = grad_was_on
        for w in weights:
            w.requires_grad = True


def _leaf(value: Any, layer: Layer) -> Tensor:
    if not isinstance(value, Tensor):
        raise ValueError(f"grad_cam: layer '{layer.name}' has several outputs; explain a layer "
                         "with one output.")
    return Tensor(value.data, requires_grad=True)


def _run_chain(layers: Sequence[Layer], x: Tensor, layer: Layer) -> tuple[Tensor, Tensor]:
    """A ``Sequential``'s layers split at ``layer``: fused pairs never straddle the cut,
    since ``run_layers`` only fuses pairs inside each part."""
    from minicnn.models.fusion import run_layers

    index = next(i for i, candidate in enumerate(layers) if candidate is layer)
    leaf = _leaf(run_layers(layers[:index + 1], x), layer)
    return leaf, run_layers(layers[index + 1:], leaf)


def _plan_of(model: Any) -> Any:
    """The graph plan of a functional model (or of a Sequential built on one), else None."""
    if hasattr(model, "_chain_plan"):
        return model._chain_plan()
    return getattr(model, "_plan", None)


def _run_plan(plan: Any, x: Tensor, layer: Layer) -> tuple[Tensor, Tensor]:
    """A functional model's steps (``minicnn.models.graph.GraphPlan``), with ``layer``'s output
    replaced by a leaf; a fused pair that includes ``layer`` runs as two layers."""
    from minicnn.layers.node import flatten, pack_like
    from minicnn.models.fusion import run_layers

    if len(plan.input_keys) != 1 or len(plan.output_keys) != 1:
        raise ValueError("grad_cam: expects a model with one input and one output. "
                         f"Received: {len(plan.input_keys)} inputs and "
                         f"{len(plan.output_keys)} outputs.")
    calls = sum(step.layer is layer for step in plan.steps)
    if calls != 1:
        raise ValueError(f"grad_cam: layer '{layer.name}' is called {calls} times in the model; "
                         "explain a layer called once.")
    values: dict[Any, Any] = {plan.input_keys[0]: x}
    leaf = None
    skip: set[int] = set()
    for i, step in enumerate(plan.steps):
        if i in skip:
            continue
        j = plan.fused.get(i)
        if j is not None and layer is not step.layer and layer is not plan.steps[j].layer:
            values[plan.steps[j].outputs[0]] = run_layers(
                [step.layer, plan.steps[j].layer], values[step.args])
            skip.add(j)
            continue
        out = step.layer(pack_like(step.args, [values[k] for k in step.inputs]), training=False)
        if step.layer is layer:
            out = leaf = _leaf(out, layer)
        for key, value in zip(step.outputs, flatten(out)):
            values[key] = value
    return leaf, values[plan.output_keys[0]]
