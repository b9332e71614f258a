"""Keras's own file names in ``save`` / ``save_weights`` / ``load_model`` / ``load_weights``.

A Keras 3 script saves ``model.keras`` and ``name.weights.h5``. minicnn never writes its own
format under those names (Keras 3 itself refuses a name it cannot honour): with TensorFlow
installed it writes a real Keras file through ``minicnn.keras_compat`` (``to_keras``), and
reads one back with ``from_keras``; without TensorFlow it refuses with a message saying how.
A compiled model's compile settings travel in a ``.keras`` file as Keras keeps them: the Keras
model is compiled with the same optimizer (and schedule), loss and metrics before it is saved,
and ``load_model`` compiles the minicnn model from the file's compile configuration, as Keras's
own ``load_model`` does. A setting with no minicnn counterpart is named in a warning and the
model is returned uncompiled (Keras does the same when it cannot compile). The optimizer's
state (Adam's moments, the step count) does not travel: minicnn's ``.npz`` keeps it.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from typing import Any

from minicnn import io

#: suffix -> what Keras 3 keeps under it
KERAS_SUFFIXES = {".keras": "model", ".weights.h5": "weights"}


def keras_kind(path: str) -> str | None:
    """"model" for ``*.keras``, "weights" for ``*.weights.h5``, else None.

    Example:
        >>> from minicnn.models.keras_files import keras_kind
        >>> keras_kind("m.keras"), keras_kind("w.weights.h5"), keras_kind("m.h5")
        ('model', 'weights', None)
    """
    lower = path.lower()
    return next((kind for suffix, kind in KERAS_SUFFIXES.items() if lower.endswith(suffix)),
                None)


def _keras(who: str, path: str) -> Any:
    try:
        from minicnn.keras_compat import _import_keras

        return _import_keras()
    except ImportError as err:
        raise ValueError(
            f"{who}: '{path}' is a Keras file name, and writing or reading a real Keras file "
            "needs TensorFlow (pip install tensorflow-cpu). Without it, use minicnn's own "
            "format: a name ending in `.npz` (by convention `model.npz`)."
        ) from err


def save_keras(model: Any, path: str, kind: str) -> None:
    """Write ``model`` (``kind`` "model") or its weights ("weights") as a Keras file,
    atomically: Keras writes into a private folder, the bytes then go through
    ``minicnn.io.atomic_write``."""
    who = "save" if kind == "model" else "save_weights"
    _keras(who, path)
    from minicnn.keras_compat import to_keras

    kmodel = to_keras(model)
    if kind == "model" and model.compiled:
        kmodel.compile(**keras_compile_args(model.compile_config()))
        # built (fresh slots): Keras then saves and reloads the optimizer without a warning
        kmodel.optimizer.build(kmodel.trainable_variables)
    folder = tempfile.mkdtemp(prefix="minicnn-keras-")
    try:
        staged = os.path.join(folder, os.path.basename(path))
        if kind == "model":
            kmodel.save(staged)
        else:
            kmodel.save_weights(staged)
        with open(staged, "rb") as f:
            data = f.read()
        io.atomic_write(path, lambda out: out.write(data))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def load_keras_model(path: str, compile: bool = True) -> Any:
    """The minicnn model of a Keras ``.keras`` file, compiled from the file's compile
    configuration when it has one and ``compile`` (as Keras's ``load_model``)."""
    _keras("load_model", path)
    from minicnn.keras_compat import from_keras

    model = from_keras(path)
    config = _stored_compile_config(path) if compile else None
    if config:
        try:
            model.compile(**minicnn_compile_args(config))
        except ValueError as err:
            warnings.warn(f"load_model: '{path}' was loaded uncompiled: its compile "
                          f"configuration has no minicnn counterpart ({err}). Call "
                          "model.compile(...) before training.", stacklevel=3)
    return model


# ---------------------------------------------------------------- compile settings, both ways


def _keras_object(getter: Any, spec: dict[str, Any]) -> Any:
    return getter({"class_name": spec["class_name"], "config": dict(spec["config"])})


def keras_compile_args(config: dict[str, Any]) -> dict[str, Any]:
    """``keras.Model.compile`` arguments for a minicnn ``compile_config()``.

    minicnn's ``Accuracy`` is Keras's ``"accuracy"`` string (chosen by the output's shape), not
    ``keras.metrics.Accuracy`` (exact equality), so it goes over as the string.
    """
    from minicnn.keras_compat import _import_keras

    keras = _import_keras()

    def metric(spec: dict[str, Any]) -> Any:
        if spec["class_name"] == "Accuracy":
            return "accuracy"
        return _keras_object(keras.metrics.get, spec)

    optimizer = {**config["optimizer"], "config": dict(config["optimizer"]["config"])}
    learning_rate = optimizer["config"].get("learning_rate")
    if isinstance(learning_rate, dict):  # a schedule: Keras's own object
        optimizer["config"]["learning_rate"] = keras.optimizers.schedules.deserialize(
            {"class_name": learning_rate["class_name"], "config": learning_rate["config"]})
    loss = config.get("loss")
    return {
        "optimizer": _keras_object(keras.optimizers.get, optimizer),
        "loss": ([_keras_object(keras.losses.get, s) for s in loss] if isinstance(loss, list)
                 else None if loss is None else _keras_object(keras.losses.get, loss)),
        "metrics": [metric(s) for s in config.get("metrics", [])] or None,
        "weighted_metrics": [metric(s) for s in config.get("weighted_metrics", [])] or None,
    }


def _stored_compile_config(path: str) -> dict[str, Any] | None:
    """The ``compile_config`` a ``.keras`` file (a zip with ``config.json``) holds, if any."""
    with zipfile.ZipFile(path) as archive:
        stored = json.loads(archive.read("config.json"))
    return stored.get("compile_config") or None


def _minicnn_object(module: Any, spec: Any, what: str) -> Any:
    """A minicnn optimizer, loss or metric for one entry of Keras's compile configuration: a
    name string as it is, a serialised object by class name with the arguments minicnn's class
    takes (Keras adds ones with no effect here, such as ``dtype`` or ``use_ema`` at its
    default)."""
    if isinstance(spec, str):
        return spec
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ValueError(f"the {what} {spec!r} is neither a name nor a serialised object")
    cls = module._CLASSES.get(spec["class_name"])
    if cls is None:
        raise ValueError(f"minicnn has no {what} {spec['class_name']!r}")
    config = dict(spec.get("config") or {})
    learning_rate = config.get("learning_rate")
    if isinstance(learning_rate, dict):  # a schedule, serialised the same way
        from minicnn.optimizers import schedules

        config["learning_rate"] = _minicnn_object(schedules, learning_rate,
                                                  "learning-rate schedule")
    accepted = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        config = {k: v for k, v in config.items() if k in accepted}
    return cls(**config)


def minicnn_compile_args(config: dict[str, Any]) -> dict[str, Any]:
    """``minicnn`` ``compile`` arguments for a Keras ``get_compile_config()``.

    Raises:
        ValueError: an optimizer, loss or metric minicnn does not have (named).
    """
    import minicnn.losses as losses
    import minicnn.metrics as metrics
    from minicnn import optimizers

    def many(value: Any, module: Any, what: str) -> Any:
        if value is None:
            return None
        if isinstance(value, (list, tuple)):
            return [many(v, module, what) for v in value]
        if isinstance(value, dict) and "class_name" not in value:  # per output name
            return {k: many(v, module, what) for k, v in value.items()}
        return _minicnn_object(module, value, what)

    return {
        "optimizer": _minicnn_object(optimizers, config.get("optimizer") or "rmsprop",
                                     "optimizer"),
        "loss": many(config.get("loss"), losses, "loss"),
        "metrics": many(config.get("metrics"), metrics, "metric"),
        "weighted_metrics": many(config.get("weighted_metrics"), metrics, "metric"),
    }


def load_keras_weights(model: Any, path: str) -> None:
    """Keras ``.weights.h5`` weights into the built minicnn ``model``."""
    _keras("load_weights", path)
    from minicnn.keras_compat import from_keras

    model.set_weights(from_keras(path, model=model).get_weights())
