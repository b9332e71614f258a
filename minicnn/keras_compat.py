"""Move networks between minicnn and TensorFlow/Keras 3: architecture, configuration, weights.

minicnn uses Keras's layouts (NHWC activations, HWIO conv kernels, (in, out) dense kernels, and
``get_weights`` in Keras's order: kernel, then bias), so a transfer is a name mapping and a copy;
no array is transposed or reordered.

Supported layers: Input/InputLayer, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dropout,
Dense, Activation and Rescaling (scalar scale and offset), BatchNormalization, DepthwiseConv2D,
SeparableConv2D, GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, ReLU, LeakyReLU and
Reshape (Conv2D with dilation_rate and groups too), the image preprocessing layers RandomFlip,
RandomRotation, RandomZoom, RandomTranslation, RandomContrast, RandomBrightness, RandomCrop,
Resizing and CenterCrop (their seeds carried; see ``_contrast_to_keras`` for RandomContrast's
factor), with activations given as strings
("relu", "sigmoid", "tanh", "softmax", "linear"). Everything else, and every option minicnn
cannot honour (``channels_first``, regularisers, constraints, ``noise_shape``, batch renorm,
a non-float32 dtype policy, LoRA, quantisation, an initialiser with non-default arguments),
raises ``KerasCompatError`` naming the layer and the option. Initialisers are carried by name
(``GlorotUniform`` <-> "glorot_uniform"); their seeds are not (minicnn draws from
``minicnn.set_seed``'s generator).

Whole models: ``keras.Sequential`` <-> ``Sequential``, and functional ``keras.Model`` <->
``minicnn.Model`` (graph rebuilt node by node, layer names kept, shared layers shared, nested
models converted recursively, the merge layers ``Add``... ``Concatenate`` mapped one to one).

TensorFlow is imported only inside the functions that need it: ``import minicnn`` never loads it.

Example:
    >>> import os, tempfile, keras
    >>> from minicnn.keras_compat import from_keras, to_keras
    >>> k = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
    ...                       keras.layers.Flatten(), keras.layers.Dense(1, activation="sigmoid")])
    >>> model = from_keras(k)
    >>> [type(layer).__name__ for layer in model.layers], model.count_params()
    (['Conv2D', 'Flatten', 'Dense'], 93)
    >>> to_keras(model).save(os.path.join(tempfile.mkdtemp(), "roundtrip.keras"))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from minicnn import activations, initializers
from minicnn.layers import (  # noqa: I001
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    InputLayer,
    Layer,
    LeakyReLU,
    MaxPooling2D,
    ReLU,
    Rescaling,
    Reshape,
    SeparableConv2D,
    ZeroPadding2D,
)
from minicnn.layers.merge import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from minicnn.layers.preprocessing import (
    CenterCrop,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Resizing,
)

__all__ = [
    "KerasCompatError",
    "SUPPORTED_LAYERS",
    "from_keras",
    "layer_from_keras",
    "layer_to_keras",
    "to_keras",
]

#: Keras class name -> minicnn class (aliases MaxPool2D/AvgPool2D are the same classes).
SUPPORTED_LAYERS: dict[str, type[Layer]] = {
    "Conv2D": Conv2D,
    "MaxPooling2D": MaxPooling2D,
    "AveragePooling2D": AveragePooling2D,
    "Flatten": Flatten,
    "Dropout": Dropout,
    "Dense": Dense,
    "Activation": Activation,
    "Rescaling": Rescaling,
    "BatchNormalization": BatchNormalization,
    "DepthwiseConv2D": DepthwiseConv2D,
    "SeparableConv2D": SeparableConv2D,
    "GlobalAveragePooling2D": GlobalAveragePooling2D,
    "GlobalMaxPooling2D": GlobalMaxPooling2D,
    "ZeroPadding2D": ZeroPadding2D,
    "ReLU": ReLU,
    "LeakyReLU": LeakyReLU,
    "Reshape": Reshape,
}

# The merge layers (minicnn.layers.merge): no weights; Concatenate carries its axis.
SUPPORTED_LAYERS.update({"Add": Add, "Subtract": Subtract, "Multiply": Multiply,
                         "Average": Average, "Maximum": Maximum, "Minimum": Minimum,
                         "Concatenate": Concatenate})

# The image preprocessing layers (minicnn.layers.preprocessing): no weights, configs carried.
SUPPORTED_LAYERS.update({"RandomFlip": RandomFlip, "RandomRotation": RandomRotation,
                         "RandomZoom": RandomZoom, "RandomTranslation": RandomTranslation,
                         "RandomContrast": RandomContrast, "RandomBrightness": RandomBrightness,
                         "RandomCrop": RandomCrop, "Resizing": Resizing, "CenterCrop": CenterCrop})

# Keras initialiser class -> minicnn registry name. Carried only with Keras's default arguments.
_INITIALIZERS = {
    "GlorotUniform": "glorot_uniform",
    "GlorotNormal": "glorot_normal",
    "HeUniform": "he_uniform",
    "HeNormal": "he_normal",
    "Zeros": "zeros",
    "Ones": "ones",
    "RandomNormal": "random_normal",
    "RandomUniform": "random_uniform",
}

# Keras config keys that carry nothing minicnn needs (bookkeeping or handled elsewhere).
_IGNORED_KEYS = {"name", "trainable", "dtype", "seed_generator",
                 "renorm_momentum"}  # BatchNormalization: used only with renorm=True (refused)

# Keys that must hold exactly this value (anything else is an unsupported option).
_REQUIRED: dict[str, Any] = {
    "data_format": "channels_last",
    "dilation_rate": (1, 1),
    "groups": 1,
    "kernel_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "bias_constraint": None,
    "noise_shape": None,
    "quantization_config": None,
    "lora_rank": None,
    "depthwise_regularizer": None,
    "pointwise_regularizer": None,
    "beta_regularizer": None,
    "gamma_regularizer": None,
    "depthwise_constraint": None,
    "pointwise_constraint": None,
    "beta_constraint": None,
    "gamma_constraint": None,
    "synchronized": False,
    "renorm": False,
    "renorm_clipping": None,
    "pad_to_aspect_ratio": False,  # Resizing: minicnn resizes (or crops) only
    "antialias": False,
    "fill_mode": "constant",  # Resizing's (only with pad_to_aspect_ratio); carried by Random*
}

# Per class, the Keras config keys minicnn carries over as constructor arguments.
_CARRIED: dict[str, tuple[str, ...]] = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias",
               "kernel_initializer", "bias_initializer", "dilation_rate", "groups"),
    "Dense": ("units", "activation", "use_bias", "kernel_initializer", "bias_initializer"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "Flatten": (),
    "Dropout": ("rate", "seed"),
    "Activation": ("activation",),
    "Rescaling": ("scale", "offset"),
    "BatchNormalization": ("axis", "momentum", "epsilon", "center", "scale", "beta_initializer",
                           "gamma_initializer", "moving_mean_initializer",
                           "moving_variance_initializer"),
    "DepthwiseConv2D": ("kernel_size", "strides", "padding", "depth_multiplier", "dilation_rate",
                        "activation", "use_bias", "depthwise_initializer", "bias_initializer"),
    "SeparableConv2D": ("filters", "kernel_size", "strides", "padding", "depth_multiplier",
                        "dilation_rate", "activation", "use_bias", "depthwise_initializer",
                        "pointwise_initializer", "bias_initializer"),
    "GlobalAveragePooling2D": ("keepdims",),
    "GlobalMaxPooling2D": ("keepdims",),
    "ZeroPadding2D": ("padding",),
    "ReLU": ("max_value", "negative_slope", "threshold"),
    "LeakyReLU": ("negative_slope",),
    "Reshape": ("target_shape",),
}
_CARRIED.update({name: () for name in ("Add", "Subtract", "Multiply", "Average", "Maximum",
                                       "Minimum")})
_CARRIED["Concatenate"] = ("axis",)
_WARP = ("fill_mode", "interpolation", "seed", "fill_value")
_CARRIED.update({
    "RandomFlip": ("mode", "seed"),
    "RandomRotation": ("factor", *_WARP),
    "RandomZoom": ("height_factor", "width_factor", *_WARP),
    "RandomTranslation": ("height_factor", "width_factor", *_WARP),
    "RandomContrast": ("factor", "value_range", "seed"),
    "RandomBrightness": ("factor", "value_range", "seed"),
    "RandomCrop": ("height", "width", "seed"),
    "Resizing": ("height", "width", "interpolation", "crop_to_aspect_ratio", "fill_value"),
    "CenterCrop": ("height", "width"),
})


class KerasCompatError(ValueError):
    """A Keras layer, option or file that minicnn cannot represent (or the reverse).

    A ``ValueError`` subclass; the message names the layer and the option.

    Example:
        >>> import keras
        >>> from minicnn.keras_compat import KerasCompatError, layer_from_keras
        >>> try:
        ...     layer_from_keras(keras.layers.Conv2D(2, 3, data_format="channels_first"))
        ... except KerasCompatError as err:
        ...     print(type(err).__mro__[1].__name__)
        ValueError
    """


# --------------------------------------------------------------------------- helpers
def _import_keras():
    try:
        import keras
    except ImportError as err:  # pragma: no cover - exercised only without the test extra
        raise ImportError(
            "minicnn.keras_compat needs TensorFlow/Keras 3: pip install 'minicnn[test]' "
            "(or tensorflow-cpu)."
        ) from err
    return keras


def _who(klayer: Any) -> str:
    return f"layer '{getattr(klayer, 'name', '?')}' ({type(klayer).__name__})"


def _norm(value: Any) -> Any:
    """Lists and tuples compare equal in configs: (1, 1) == [1, 1]."""
    return tuple(value) if isinstance(value, list) else value


def _initializer_from_keras(value: Any, who: str, key: str) -> str:
    if isinstance(value, str):
        name = value.lower()
        if name in initializers._REGISTRY:
            return name
        raise KerasCompatError(f"from_keras: {who}: {key}={value!r} is not supported by minicnn.")
    class_name = value.get("class_name") if isinstance(value, dict) else type(value).__name__
    config = value.get("config", {}) if isinstance(value, dict) else value.get_config()
    if class_name not in _INITIALIZERS:
        raise KerasCompatError(
            f"from_keras: {who}: {key}={class_name} is not supported by minicnn "
            f"(supported: {sorted(_INITIALIZERS)})."
        )
    keras = _import_keras()
    default = getattr(keras.initializers, class_name)().get_config()
    differs = {k: v for k, v in config.items() if k != "seed" and _norm(v) != _norm(default.get(k))}
    if differs:
        raise KerasCompatError(
            f"from_keras: {who}: {key}={class_name} with non-default arguments {differs} is not "
            "supported by minicnn (only the default arguments are)."
        )
    return _INITIALIZERS[class_name]


def _activation_from_keras(value: Any, who: str) -> str:
    name = value if isinstance(value, str) else getattr(value, "__name__", repr(value))
    if name not in activations._REGISTRY:
        raise KerasCompatError(
            f"from_keras: {who}: activation={name!r} is not supported by minicnn "
            f"(supported: {sorted(activations._REGISTRY)})."
        )
    return name


def _keras_class_name(klayer: Any) -> str:
    name = type(klayer).__name__
    return {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D"}.get(name, name)


def _contrast_to_keras(factor: Any, who: str) -> tuple[float, float]:
    """RandomContrast's factor for Keras, meaning the same range.

    minicnn reads ``f`` as ``[1 - f, 1 + f]``; Keras 3 (3.15) turns a scalar ``f`` into the pair
    ``(0, f)``, i.e. ``[1, 1 + f]``, and sorts a pair. So a scalar goes over as ``(f, f)``, a
    pair as it is (which must be ordered, or Keras would swap it). From Keras the stored pair
    is carried unchanged and means the same in both.
    """
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        return abs(float(factor)), abs(float(factor))
    lo, hi = (float(v) for v in factor)
    if lo > hi:
        raise KerasCompatError(
            f"to_keras: {who}: Keras 3 sorts RandomContrast's factor pair, so (a, b) with a > b "
            f"would mean another range there. Received: factor={tuple(factor)!r}"
        )
    return lo, hi


# ------------------------------------------------------------------------ one layer
def layer_from_keras(klayer: Any, input_shape: Sequence[Any] | None = None) -> Layer:
    """A minicnn layer with ``klayer``'s configuration and, if it is built, its weights.

    Args:
        klayer: a Keras layer of a supported class.
        input_shape: the input shape (batch axis first) to build the minicnn layer for; needed
            to copy the weights of a built Keras layer with weights.

    Raises:
        KerasCompatError: an unsupported layer class or option, named in the message.

    Example:
        >>> import keras
        >>> from minicnn.keras_compat import layer_from_keras
        >>> dense = layer_from_keras(keras.layers.Dense(3, activation="relu"), (None, 4))
        >>> type(dense).__name__, dense.units, dense.kernel.shape
        ('Dense', 3, (4, 3))
    """
    class_name = _keras_class_name(klayer)
    who = _who(klayer)
    if class_name not in SUPPORTED_LAYERS:
        raise KerasCompatError(
            f"from_keras: {who} is not supported by minicnn "
            f"(supported: InputLayer, {', '.join(SUPPORTED_LAYERS)})."
        )
    config = klayer.get_config()
    dtype = config.get("dtype")
    dtype_name = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if dtype_name not in (None, "float32"):
        raise KerasCompatError(
            f"from_keras: {who}: dtype={dtype_name!r} is not supported (minicnn computes in "
            "float32)."
        )
    carried = _CARRIED[class_name]
    kwargs: dict[str, Any] = {"name": klayer.name, "trainable": klayer.trainable}
    for key, value in config.items():
        if key in _IGNORED_KEYS:
            continue
        if key in _REQUIRED and key not in carried:
            if _norm(value) != _REQUIRED[key] and not (key == "lora_rank" and not value):
                raise KerasCompatError(
                    f"from_keras: {who}: {key}={value!r} is not supported by minicnn "
                    f"(only {key}={_REQUIRED[key]!r})."
                )
            continue
        if key not in carried:
            if key == "lora_alpha":  # meaningful only with lora_rank, checked above
                continue
            raise KerasCompatError(
                f"from_keras: {who}: option {key}={value!r} is not supported by minicnn."
            )
        if key.endswith("_initializer"):
            value = _initializer_from_keras(value, who, key)
        elif key == "activation":
            value = _activation_from_keras(value, who)
        elif (key in ("scale", "offset") and class_name == "Rescaling"
              and not isinstance(value, (int, float))):
            raise KerasCompatError(
                f"from_keras: {who}: only a scalar {key} is supported. Received: {key}={value!r}"
            )
        elif isinstance(value, (list, tuple)):  # nested too: ZeroPadding2D's ((t, b), (l, r))
            value = tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in value)
        kwargs[key] = value
    layer = SUPPORTED_LAYERS[class_name](**kwargs)
    weights = [np.asarray(w) for w in klayer.get_weights()]
    if input_shape is not None:
        layer.ensure_built(tuple(input_shape))
    if weights:
        if not layer.built:
            raise KerasCompatError(
                f"from_keras: {who} has weights; pass input_shape= to build the minicnn layer."
            )
        layer.set_weights(weights)
    return layer


def layer_to_keras(layer: Layer, input_shape: Sequence[Any] | None = None) -> Any:
    """The Keras layer equivalent to a minicnn ``layer``; built and with its weights when
    ``input_shape`` (batch axis first) is given or the minicnn layer is built.

    Args:
        layer: a minicnn layer of a supported class.
        input_shape: the input shape (batch axis first) to build the Keras layer for.

    Raises:
        KerasCompatError: a minicnn layer or option with no Keras counterpart.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.keras_compat import layer_to_keras
        >>> dense = mc.Dense(3)
        >>> _ = dense(mc.Tensor([[1.0, 2.0, 3.0, 4.0]]))  # build it: the weights are copied
        >>> k = layer_to_keras(dense)
        >>> type(k).__name__, k.units, tuple(k.kernel.shape)
        ('Dense', 3, (4, 3))
    """
    keras = _import_keras()
    who = f"layer '{layer.name}' ({type(layer).__name__})"
    if isinstance(layer, InputLayer):
        return keras.layers.InputLayer(shape=layer.sample_shape, name=layer.name)
    class_name = next((k for k, cls in SUPPORTED_LAYERS.items() if type(layer) is cls), None)
    if class_name is None:
        raise KerasCompatError(f"to_keras: {who} has no Keras counterpart in minicnn's mapping.")
    try:
        config = layer.get_config()
    except ValueError as err:  # a custom activation or initialiser cannot be named
        raise KerasCompatError(f"to_keras: {who}: {err}") from err
    kwargs = {k: config[k] for k in ("name", "trainable", *_CARRIED[class_name]) if k in config}
    for key, value in kwargs.items():  # lists (JSON-friendly configs) as Keras's tuples
        if isinstance(value, list):
            kwargs[key] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    if class_name == "RandomContrast":
        kwargs["factor"] = _contrast_to_keras(kwargs["factor"], who)
    klayer = getattr(keras.layers, class_name)(**kwargs)
    shape = tuple(input_shape) if input_shape is not None else layer.input_shape
    if layer.weights:
        if shape is None:
            raise KerasCompatError(
                f"to_keras: {who} is not built; build it (or pass input_shape=) to move weights."
            )
        klayer.build(shape)
        klayer.set_weights(layer.get_weights())
    return klayer


# ------------------------------------------------------------------------ whole models
def _sequential_class():
    try:
        from minicnn.models.sequential import Sequential
    except ImportError as err:  # pragma: no cover - only before Sequential exists
        raise ImportError("from_keras needs minicnn.models.sequential.Sequential.") from err
    return Sequential


def _is_keras_functional(keras: Any, source: Any) -> bool:
    """A Keras model built from tensors (Keras's ``Functional``), as opposed to subclassed."""
    return (isinstance(source, keras.Model) and not isinstance(source, keras.Sequential)
            and hasattr(source, "_nodes_by_depth") and hasattr(source, "inputs"))


def _keras_node_args(node: dict[str, Any], who: str) -> Any:
    """A Keras config node ``{"args": [...], "kwargs": {...}}`` as minicnn's tensor references
    (``[layer name, node index, tensor index]``, in the same list structure)."""
    # Keras records the resolved ``training`` flag of layers that take one (Dropout's
    # ``training=False``, the preprocessing layers' ``training=True``), but a functional model's
    # own call passes its ``training`` on to every such layer over the recorded value: dropped.
    extra = {k: v for k, v in node.get("kwargs", {}).items()
             if v is not None and k != "training"}
    if extra:
        raise KerasCompatError(f"from_keras: {who} is called with arguments {extra}, which "
                               "minicnn does not support.")
    args = node.get("args", [])
    if len(args) != 1:
        raise KerasCompatError(f"from_keras: {who} is called with {len(args)} positional "
                               "arguments; minicnn layers take one (a tensor or a list).")

    def convert(value: Any) -> Any:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return list(value["config"]["keras_history"])
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        raise KerasCompatError(f"from_keras: {who} is called on {value!r}, not on tensors.")

    return convert(args[0])


def _functional_from_keras(keras: Any, source: Any) -> Any:
    from minicnn.models.model import Model, rebuild_graph

    config = source.get_config()

    def make_layer(spec: dict[str, Any]) -> Layer:
        klayer = source.get_layer(spec["name"])
        if spec["class_name"] == "InputLayer":
            shape = spec["config"].get("batch_shape") or spec["config"].get("batch_input_shape")
            return InputLayer(tuple(shape[1:]), name=spec["name"])
        if isinstance(klayer, keras.Model):
            return from_keras(klayer)
        shape = (spec.get("build_config") or {}).get("input_shape")
        flat = shape is not None and not any(isinstance(d, (list, tuple)) for d in shape)
        return layer_from_keras(klayer, input_shape=tuple(shape) if flat else None)

    minicnn_config = {
        "name": config.get("name", source.name),
        "trainable": source.trainable,
        "layers": [{**spec, "inbound_nodes": [
            _keras_node_args(node, f"layer '{spec['name']}'")
            for node in spec.get("inbound_nodes", [])]} for spec in config["layers"]],
        "input_layers": config["input_layers"],
        "output_layers": config["output_layers"],
    }
    return rebuild_graph(Model, minicnn_config, make_layer)


def from_keras(source: Any, model: Any = None) -> Any:
    """A minicnn model with the layers (names kept), configuration and weights of a Keras
    model: a ``Sequential`` for a ``keras.Sequential``, a ``Model`` with the same graph for a
    functional ``keras.Model`` (nested Sequential/functional models become nested models).

    Args:
        source: a ``keras.Sequential`` (built: give it an ``Input``) or functional
            ``keras.Model``, or a path to a ``.keras`` (or legacy ``.h5``) file saved by Keras,
            or a path to a ``.weights.h5`` file.
        model: only with a ``.weights.h5`` path, the architecture to load the weights into: a
            minicnn model (built) or a Keras model. The weights file holds no architecture, so
            without ``model`` a ``.weights.h5`` path raises.

    Raises:
        KerasCompatError: an unsupported layer or option (named), a subclassed Keras model, an
            unbuilt model or a ``.weights.h5`` path without ``model``.

    Example:
        >>> import keras
        >>> from minicnn.keras_compat import from_keras
        >>> k = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        >>> m = from_keras(k)
        >>> (m.layers[0].kernel.data == k.layers[0].kernel.numpy()).all()
        np.True_
    """
    keras = _import_keras()
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if path.endswith(".weights.h5"):
            if model is None:
                raise KerasCompatError(
                    f"from_keras: '{path}' holds weights only; pass model= (a built minicnn "
                    "model or a Keras model) with the same architecture."
                )
            kmodel = model if isinstance(model, keras.Model) else to_keras(model)
            kmodel.load_weights(path)
            return from_keras(kmodel)
        if model is not None:
            raise KerasCompatError("from_keras: model= is only used with a .weights.h5 path.")
        return from_keras(keras.models.load_model(path, compile=False))
    if _is_keras_functional(keras, source):
        return _functional_from_keras(keras, source)
    if not isinstance(source, keras.Sequential):
        raise KerasCompatError(
            "from_keras: only keras.Sequential models and functional keras.Model models are "
            f"supported (not subclassed models). Received: {type(source).__name__}"
        )
    try:
        input_shape = tuple(source.input_shape)
    except (AttributeError, ValueError) as err:
        raise KerasCompatError(
            f"from_keras: Keras model '{source.name}' is not built; start it with "
            "keras.Input(shape) or build it first."
        ) from err
    first = source.get_config()["layers"][0]
    input_name = first["config"].get("name") if first.get("class_name") == "InputLayer" else None
    layers: list[Layer] = [InputLayer(input_shape[1:], name=input_name)]
    shape = input_shape
    for klayer in source.layers:
        if isinstance(klayer, keras.Model):
            layer = from_keras(klayer)
        else:
            layer = layer_from_keras(klayer, input_shape=shape)
        shape = layer.compute_output_shape(shape) if isinstance(klayer, keras.Model) \
            else layer.output_shape
        layers.append(layer)
    return _sequential_class()(layers, name=source.name)


def _functional_to_keras(keras: Any, model: Any) -> Any:
    from minicnn.layers.node import flatten, pack_like

    ktensors: dict[int, Any] = {}
    klayers: dict[int, Any] = {}
    for t in model.inputs:
        layer = t.history[0]
        if not isinstance(layer, InputLayer):
            raise KerasCompatError(f"to_keras: model '{model.name}' starts from an "
                                   "intermediate tensor; only Input tensors are supported.")
        ktensors[id(t)] = keras.Input(layer.sample_shape, name=layer.name)
    for node in model._nodes:
        if node.is_input:
            continue
        layer = node.layer
        if id(layer) not in klayers:
            if hasattr(layer, "_plan") or hasattr(layer, "_chain_plan"):
                klayers[id(layer)] = to_keras(layer)
            else:
                shape = layer.input_shape if layer.weights else None
                klayers[id(layer)] = layer_to_keras(layer, input_shape=shape)
        args = pack_like(node.args, [ktensors[id(t)] for t in node.inputs])
        out = klayers[id(layer)](list(args) if isinstance(args, tuple) else args)
        for t, kt in zip(node.outputs, flatten(out)):
            ktensors[id(t)] = kt
    kinputs = pack_like(model._input_struct, [ktensors[id(t)] for t in model.inputs])
    koutputs = pack_like(model._output_struct, [ktensors[id(t)] for t in model.outputs])
    return keras.Model(kinputs, koutputs, name=model.name)


def to_keras(model: Any) -> Any:
    """A built Keras model with the layers, configuration and weights of a minicnn model: a
    ``keras.Sequential`` for a ``Sequential`` (which must be built: give it an ``Input`` or call
    it once), a functional ``keras.Model`` with the same graph for a ``Model``.

    Args:
        model: a built minicnn ``Sequential`` or ``Model``.

    Raises:
        KerasCompatError: an unbuilt model, or a layer or option with no Keras counterpart.

    Example:
        >>> import minicnn as mc
        >>> from minicnn.keras_compat import to_keras
        >>> k = to_keras(mc.Sequential([mc.Input((4,)), mc.Dense(2)]))
        >>> type(k).__name__, k.input_shape, k.count_params()
        ('Sequential', (None, 4), 10)
    """
    keras = _import_keras()
    if hasattr(model, "_plan") and not hasattr(model, "_chain_plan"):
        return _functional_to_keras(keras, model)
    shape = model.input_shape
    if shape is None or not model.built:
        raise KerasCompatError(
            f"to_keras: model '{model.name}' is not built; give it an Input(shape) or call it "
            "on data first."
        )
    klayers = []
    for layer in model.layers:
        if hasattr(layer, "_plan") or hasattr(layer, "_chain_plan"):  # a nested model
            klayers.append(to_keras(layer))
            shape = layer.compute_output_shape(shape)
            continue
        klayers.append(layer_to_keras(layer, input_shape=shape))
        shape = layer.output_shape
    kinput = keras.Input(tuple(model.input_shape[1:]), name=model.input_layer.name)
    kmodel = keras.Sequential([kinput, *klayers], name=model.name)
    return kmodel
