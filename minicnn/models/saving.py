"""Whole-model and weights-only files: one ``.npz``, JSON metadata, no pickle, atomic writes.

Model file: metadata ``{"format": "minicnn.model", "config": ..., "compile_config": ...,
"weights": [[layer name, [weight names]], ...], "optimizer": {"iterations", "slots"}}`` and
arrays ``weights/<layer index>/<weight index>`` and ``optimizer/<slot>/<index>``.

Paths end in ``.npz`` (``.weights.npz`` by convention for weights-only files). Keras's own
names, ``.keras`` and ``.weights.h5``, get a real Keras file through ``minicnn.keras_compat``
when TensorFlow is installed (``minicnn.models.keras_files``); like Keras 3, which refuses
names it cannot honour, minicnn refuses any other name (``m.h5``, ``m``) instead of writing its
own format under it, and says how. Loading refuses a file
whose weights are NaN or infinite (naming the layer) unless ``allow_non_finite=True``, and
names a Keras file or a file that is no ``.npz`` at all as such.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from minicnn import io
from minicnn.models import keras_files

if TYPE_CHECKING:
    from minicnn.models.sequential import Sequential

MODEL_FORMAT = "minicnn.model"
WEIGHTS_FORMAT = "minicnn.weights"
VERSION = 1


def _weight_payload(model: Sequential) -> tuple[dict[str, np.ndarray], list[Any]]:
    arrays, index = {}, []
    for i, layer in enumerate(model.layers):
        index.append([layer.name, layer.weight_names()])
        for j, w in enumerate(layer.weights):
            arrays[f"weights/{i}/{j}"] = w.data
    return arrays, index


def _check_save_path(filepath: str | os.PathLike, who: str, conventional: str) -> None:
    """Refuse a path not ending in ``.npz``, as Keras 3 refuses one not ending in ``.keras``
    (the Keras names themselves are handled before this)."""
    path = os.fspath(filepath)
    if str(path).lower().endswith(".npz"):
        return
    ext = os.path.splitext(str(path))[1]
    keras_hint = ""
    if ext.lower() in (".h5", ".hdf5"):
        keras_hint = (" Keras 3 itself writes `.keras` models and `.weights.h5` weights; "
                      "minicnn writes those names as real Keras files when TensorFlow is "
                      "installed.")
    raise ValueError(
        f"{who}: the filename must end in `.npz` (minicnn's format; by convention "
        f"`{conventional}`), or be a Keras name (`.keras`, `.weights.h5`). "
        f"Received: filepath={path!r}.{keras_hint}"
    )


def save_model(model: Sequential, filepath: str | os.PathLike) -> None:
    """Write architecture, weights, compile config and optimizer state to one ``.npz``.

    This is ``Sequential.save``; the write is atomic (see ``minicnn.io``).

    Example:
        >>> import os, tempfile, minicnn as mc
        >>> from minicnn.models.saving import save_model
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> save_model(model, os.path.join(tempfile.mkdtemp(), "m.npz"))
    """
    if keras_files.keras_kind(os.fspath(filepath)) == "model":
        return keras_files.save_keras(model, os.fspath(filepath), "model")
    _check_save_path(filepath, "save", "model.npz")
    model._require_built("save")
    arrays, index = _weight_payload(model)
    meta: dict[str, Any] = {"format": MODEL_FORMAT, "version": VERSION,
                            "class_name": type(model).__name__, "config": model.get_config(),
                            "compile_config": model.compile_config(), "weights": index,
                            "optimizer": None}
    opt = model.optimizer
    if model.compiled and opt is not None and opt.built:
        state = opt.get_state()
        slots = [k for k in state if k != "iterations"]
        meta["optimizer"] = {"iterations": state["iterations"], "slots": slots}
        for name in slots:
            for k, arr in enumerate(state[name]):
                arrays[f"optimizer/{name}/{k}"] = arr
    io.save_arrays(filepath, arrays, meta)


def save_weights(model: Sequential, filepath: str | os.PathLike) -> None:
    """Write only the weights (``format: "minicnn.weights"``); ``Sequential.save_weights``.

    Example:
        >>> import os, tempfile, minicnn as mc
        >>> from minicnn.models.saving import save_weights
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> save_weights(model, os.path.join(tempfile.mkdtemp(), "m.weights.npz"))
    """
    if keras_files.keras_kind(os.fspath(filepath)) == "weights":
        return keras_files.save_keras(model, os.fspath(filepath), "weights")
    _check_save_path(filepath, "save_weights", "name.weights.npz")
    model._require_built("save_weights")
    arrays, index = _weight_payload(model)
    io.save_arrays(filepath, arrays, {"format": WEIGHTS_FORMAT, "version": VERSION,
                                      "weights": index})


def _check_format(meta: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") not in allowed:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise ValueError(f"Cannot load '{path}': expected a {' or '.join(allowed)} file. "
                         f"Received: format={found!r}")
    return meta


def _assign_weights(model: Sequential, arrays: dict[str, np.ndarray], index: list[Any],
                    path: str, allow_non_finite: bool = False) -> None:
    """Check every layer, weight, shape (and finiteness) first, then assign (nothing changes
    on error)."""
    if len(index) != len(model.layers):
        raise ValueError(f"Cannot load weights from '{path}': the file has "
                         f"{len(index)} layers, the model has {len(model.layers)}.")
    new_values = []
    for i, (layer, (saved_name, names)) in enumerate(zip(model.layers, index)):
        if len(names) != len(layer.weights):
            raise ValueError(
                f"Cannot load weights from '{path}': layer '{layer.name}' "
                f"({type(layer).__name__}) has {len(layer.weights)} weights, the file's layer "
                f"'{saved_name}' has {len(names)}."
            )
        values = []
        for j, (param, wname) in enumerate(zip(layer.weights, layer.weight_names())):
            key = f"weights/{i}/{j}"
            if key not in arrays:
                raise ValueError(f"Cannot load weights from '{path}': missing array {key!r} "
                                 f"for layer '{layer.name}' weight '{wname}'.")
            arr = arrays[key]
            if arr.shape != param.shape:
                raise ValueError(
                    f"Cannot load weights from '{path}': layer '{layer.name}' weight "
                    f"'{wname}' has shape {param.shape} in the model but {arr.shape} in the "
                    "file."
                )
            if not allow_non_finite:
                _check_finite(arr, layer.name, wname, path)
            values.append(arr)
        new_values.append(values)
    for layer, values in zip(model.layers, new_values):
        if values:
            layer.set_weights(values)


def _check_finite(arr: np.ndarray, layer: str, weight: str, path: str) -> None:
    if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
        nan, inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
        raise ValueError(
            f"Cannot load '{path}': layer '{layer}' weight '{weight}' holds {nan} NaN and "
            f"{inf} infinite values (of {arr.size}); a model trained into NaN predicts nothing "
            "useful. To load it anyway, for inspection, pass allow_non_finite=True."
        )


def _load(path: str) -> tuple[dict[str, np.ndarray], Any]:
    """``io.load_arrays`` with the diagnosis of a Keras file or of a file that is no model."""
    try:
        return io.load_arrays(path)
    except ValueError as e:
        kind = _sniff(path)
        if kind is None:
            raise
        raise ValueError(f"Cannot load '{path}': {kind}") from e


def _sniff(path: str) -> str | None:
    """What a file that ``np.load`` refused is: a Keras file, or something else (by its bytes)."""
    import zipfile

    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return ("it is an HDF5 file (a Keras .h5 model or weights file?), not a minicnn model "
                "file. Load a Keras model with minicnn.keras_compat.from_keras(path).")
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError):
            return "it is not a minicnn model file (a damaged zip archive)."
        if "config.json" in names or "model.weights.h5" in names:
            return ("it is a Keras .keras file, not a minicnn model file. Load it with "
                    "minicnn.keras_compat.from_keras(path).")
        if not any(n.endswith(".npy") for n in names):
            return ("it is not a minicnn model file (a zip archive without .npy arrays: "
                    f"{', '.join(names[:3])}{', ...' if len(names) > 3 else ''}).")
        return None
    if head.startswith(b"\x93NUMPY"):
        return "it is not a minicnn model file (a single .npy array, not an .npz archive)."
    return (f"it is not a minicnn model file (a .npz zip archive starts with 'PK'; this file "
            f"starts with {head[:8]!r}).")


def _is_keras_file(path: str) -> bool:
    found = _sniff(path)
    return found is not None and "Keras" in found


def load_weights(model: Sequential, filepath: str | os.PathLike,
                 allow_non_finite: bool = False) -> None:
    """Load weights from a weights or model file into ``model``; ``Sequential.load_weights``.

    Every layer, weight and shape is checked before anything is assigned, so a file that does
    not match raises ValueError and leaves the model unchanged. So does a NaN or infinite
    weight, unless ``allow_non_finite=True``.

    Example:
        >>> import os, tempfile, numpy as np, minicnn as mc
        >>> from minicnn.models.saving import load_weights, save_weights
        >>> a = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> b = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> path = os.path.join(tempfile.mkdtemp(), "a.weights.npz")
        >>> save_weights(a, path)
        >>> load_weights(b, path)
        >>> all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))
        True
    """
    path = os.fspath(filepath)
    if keras_files.keras_kind(path) == "weights" and _is_keras_file(path):
        model._require_built("load_weights")
        return keras_files.load_keras_weights(model, path)
    arrays, meta = _load(path)
    meta = _check_format(meta, path, (WEIGHTS_FORMAT, MODEL_FORMAT))
    model._require_built("load_weights")
    _assign_weights(model, arrays, meta["weights"], path, allow_non_finite)


def load_model(filepath: str | os.PathLike, compile: bool = True,
               allow_non_finite: bool = False) -> Sequential:
    """Load a model written by ``Sequential.save``: architecture, weights and, when it was
    compiled, its compile config and optimizer state (so training resumes where it stopped).

    A file with a NaN or infinite weight raises ValueError naming the layer and weight;
    ``allow_non_finite=True`` loads it anyway (to inspect a model that diverged). A Keras
    ``.keras`` file is read through ``minicnn.keras_compat.from_keras`` (TensorFlow needed;
    uncompiled); another Keras file raises ValueError pointing there.

    Example:
        >>> import os, tempfile, numpy as np, minicnn as mc
        >>> model = mc.Sequential([mc.Input((3,)), mc.Dense(2)])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model.save(path)
        >>> restored = mc.load_model(path)
        >>> np.array_equal(restored.predict(np.ones((1, 3)), verbose=0),
        ...                model.predict(np.ones((1, 3)), verbose=0))
        True
    """
    from minicnn.models.model import Model
    from minicnn.models.sequential import Sequential

    path = os.fspath(filepath)
    if keras_files.keras_kind(path) == "model" and _is_keras_file(path):
        return keras_files.load_keras_model(path, compile=compile)
    arrays, meta = _load(path)
    meta = _check_format(meta, path, (MODEL_FORMAT,))
    cls = Sequential if meta.get("class_name", "Sequential") == "Sequential" else Model
    try:
        model = cls.from_config(meta["config"])
    except (KeyError, TypeError, IndexError) as e:
        raise ValueError(f"Cannot load '{path}': invalid model config ({e}).") from e
    _assign_weights(model, arrays, meta["weights"], path, allow_non_finite)
    if compile and meta.get("compile_config"):
        model.compile_from_config(meta["compile_config"])
        opt_meta = meta.get("optimizer")
        if opt_meta:
            state: dict[str, Any] = {"iterations": opt_meta["iterations"]}
            for name in opt_meta["slots"]:
                n = sum(1 for k in arrays if k.startswith(f"optimizer/{name}/"))
                state[name] = [arrays[f"optimizer/{name}/{k}"] for k in range(n)]
            model.optimizer.set_state(state, model.trainable_weights)
    return model
