"""The flat training loop behind ``Sequential.fit``/``evaluate``/``predict``, Keras semantics.

One step: clear grads (``p.grad = None``), forward with ``training=True``, the fused loss,
``backward()``, then the optimizer update under ``no_grad()``.

No step ever writes a non-finite weight: a step whose input ``x``, loss or any gradient is NaN or
infinite is refused before the update (``guards.NonFiniteStepError``), and ``fit`` then stops
training, printing one line that names the epoch, the batch and what was not finite (Keras's
TerminateOnNaN, built in and stricter). ``fit`` stops rather than raises so that the History of
the epochs before survives; ``model.refused_step`` holds the line (None when every step ran).
The update itself runs with Ctrl-C deferred, so a KeyboardInterrupt leaves the model as it was
after the last completed step, never half-updated.
"""

from __future__ import annotations

import sys
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from minicnn.callbacks import Callback, CallbackList, History, ProgbarLogger
from minicnn.models import guards
from minicnn.models.data import (
    ArrayData,
    IterableData,
    batch_len,
    check_input_shape,
    class_weights_for,
    make_data,
    output_arrays,
    split_validation,
)
from minicnn.ops.route import batch_step
from minicnn.tensor import no_grad

if TYPE_CHECKING:
    from minicnn.models.sequential import Sequential


def check_verbose(verbose: Any, who: str) -> int:
    """Normalise ``verbose`` ("auto" -> 1) or raise a Keras-style ValueError naming ``who``.

    Example:
        >>> from minicnn.models.training import check_verbose
        >>> check_verbose("auto", "fit"), check_verbose(2, "fit")
        (1, 2)
    """
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(
            f"{who}: `verbose` must be 'auto', 0, 1 or 2. Received: verbose={verbose!r}"
        )
    return int(verbose)


def _callbacks(model: Sequential, callbacks: Any, verbose: int, **params: Any) -> CallbackList:
    user = list(callbacks or [])
    if not all(isinstance(cb, Callback) for cb in user):
        bad = next(cb for cb in user if not isinstance(cb, Callback))
        raise TypeError(f"`callbacks` must be a list of minicnn.callbacks.Callback. "
                        f"Received: {bad!r}")
    if verbose and not any(isinstance(cb, ProgbarLogger) for cb in user):
        user.append(ProgbarLogger())  # last, as Keras: it prints logs other callbacks add
    return CallbackList(user, model=model, verbose=verbose, **params)


def _logs(model: Sequential) -> dict[str, float]:
    # sorted by name, as Keras 3's logs (its backends return them through a tree flatten that
    # sorts dict keys): "accuracy - loss" in the epoch line, History and return_dict
    return dict(sorted((m.name, float(m.result())) for m in model.metrics))


def _reset(model: Sequential) -> None:
    for m in model.metrics:
        m.reset_state()


def train_step(model: Sequential, x: np.ndarray, y: np.ndarray,
               sample_weight: np.ndarray | None = None) -> float:
    """One optimisation step on a batch; returns the batch loss.

    Raises:
        guards.NonFiniteStepError: ``x``, the loss or a gradient is NaN or infinite; nothing
            was applied (weights, optimizer state and metrics are as they were).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models import training
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> training.train_step(model, np.zeros((4, 2), np.float32), np.ones((4, 1)))
        1.0
    """
    params = model.trainable_weights
    if not model.optimizer.built:
        model.optimizer.build(params)
    for p in params:
        p.grad = None
    guards.check_input(x)
    with batch_step(batch_len(x)):
        out = model(x, training=True)
        loss = _loss(model, y, out, sample_weight)
        value = float(loss.data)
        guards.check_loss(value)
        loss.backward()
        guards.check_gradients(model, params)
        with no_grad(), guards.deferred_interrupt():
            model.optimizer.apply(params)
    _update_metrics(model, y, output_arrays(out), value, batch_len(x), sample_weight)
    return value


def _loss(model: Sequential, y: Any, out: Any, sample_weight: np.ndarray | None) -> Any:
    # Keras: the per-sample losses times the weights, then the loss's reduction
    if sample_weight is None:
        return model.loss(y, out)
    return model.loss(y, out, sample_weight=sample_weight)


def test_step(model: Sequential, x: np.ndarray, y: np.ndarray,
              sample_weight: np.ndarray | None = None) -> float:
    """Forward and loss on a batch under no_grad; updates the running metrics.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models import training
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> training.test_step(model, np.zeros((4, 2), np.float32), np.full((4, 1), 2.0))
        4.0
    """
    with no_grad(), batch_step(batch_len(x)):
        out = model(x, training=False)
        value = float(_loss(model, y, out, sample_weight).data)
    _update_metrics(model, y, output_arrays(out), value, batch_len(x), sample_weight)
    return value


def _update_metrics(model: Sequential, y: Any, y_pred: np.ndarray, loss: float, n: int,
                    sample_weight: np.ndarray | None = None) -> None:
    model.metrics[0].update_state(loss, sample_weight=n)
    for m in model.metrics[1:]:
        # Keras: `metrics` ignore sample weights, `weighted_metrics` use them
        if sample_weight is not None and getattr(m, "weighted", False):
            m.update_state(y, y_pred, sample_weight=sample_weight)
        else:
            m.update_state(y, y_pred)


def _need_labels(y: Any, who: str) -> Any:
    if y is None:
        raise ValueError(f"{who}: the data must provide labels `y` (arrays, or (x, y) batches).")
    return y


def fit(model: Sequential, x: Any = None, y: Any = None, batch_size: int | None = 32,
        epochs: int = 1, verbose: Any = "auto", callbacks: Any = None,
        validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
        initial_epoch: int = 0, steps_per_epoch: int | None = None, *,
        class_weight: dict[int, float] | None = None, sample_weight: Any = None,
        validation_steps: int | None = None, validation_batch_size: int | None = None,
        validation_freq: int = 1) -> History:
    """The training loop behind ``Sequential.fit`` (see there for the arguments).

    For each epoch: reset the metrics, run ``train_step`` on every batch with the callbacks'
    batch hooks, then evaluate ``validation_data`` (adding ``val_`` keys) and call
    ``on_epoch_end``. Returns the ``History``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models import training
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> training.fit(model, np.zeros((4, 2)), np.ones(4), epochs=2, verbose=0).history
        {'loss': [1.0, 0.9604...]}
    """
    model._require_compiled("fit")
    verbose = check_verbose(verbose, "fit")
    batch_size = 32 if batch_size is None else batch_size
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"fit: `epochs` must be a non-negative int. Received: epochs={epochs!r}")
    if isinstance(validation_split, bool) or not 0.0 <= float(validation_split) < 1.0:
        raise ValueError("fit: `validation_split` must be a float in [0, 1). "
                         f"Received: validation_split={validation_split!r}")
    if steps_per_epoch is not None and (not isinstance(steps_per_epoch, (int, np.integer))
                                        or steps_per_epoch <= 0):
        raise ValueError("fit: `steps_per_epoch` must be a positive int or None. "
                         f"Received: steps_per_epoch={steps_per_epoch!r}")
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise ValueError("fit: `class_weight` must be a dict mapping class indices to "
                             f"weights. Received: class_weight={class_weight!r}")
        if sample_weight is not None:
            raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    if isinstance(validation_freq, bool) or not isinstance(validation_freq, int) \
            or validation_freq < 1:
        raise ValueError("fit: `validation_freq` must be a positive int. "
                         f"Received: validation_freq={validation_freq!r}")
    if validation_split:
        if x is None or y is None or hasattr(x, "__next__"):
            raise ValueError(
                "fit: `validation_split` is only supported for NumPy arrays (x and y). "
                f"Received: x of type {type(x).__name__}. Pass `validation_data` instead."
            )
        if validation_data is not None:
            warnings.warn("fit: both validation_split and validation_data given; "
                          "validation_data is used, as in Keras.", stacklevel=2)
        else:
            x, y, vx, vy = split_validation(x, y, float(validation_split))
            validation_data = (vx, vy)
            if sample_weight is not None:  # Keras splits the weights the same way
                sample_weight = np.asarray(sample_weight)
                validation_data = (vx, vy, sample_weight[len(x):])
                sample_weight = sample_weight[:len(x)]
    data = make_data(x, y, batch_size, shuffle, "fit", None, sample_weight)
    check_input_shape(model, data, "fit")
    steps = _steps(data, steps_per_epoch)
    if steps_per_epoch is not None and not isinstance(data, ArrayData):
        steps = steps_per_epoch
    batches = _EpochBatches(data, steps_per_epoch)
    val = _validation(validation_data, validation_batch_size or batch_size)
    if val is not None:
        check_input_shape(model, val, "fit")

    history = History()
    cbs = _callbacks(model, list(callbacks or []) + [history], verbose,
                     epochs=epochs, steps=steps)
    model.stop_training = False
    model.refused_step = None
    model.history = history
    cbs.on_train_begin()
    epoch_logs: dict[str, float] = {}
    for epoch in range(initial_epoch, epochs):
        _reset(model)
        cbs.on_epoch_begin(epoch)
        seen = 0
        for step, (xb, yb, wb) in enumerate(batches.epoch()):
            cbs.on_train_batch_begin(step)
            yb = _need_labels(yb, "fit")
            if class_weight is not None:
                if wb is not None:
                    raise ValueError("You cannot `class_weight` and `sample_weight` at the "
                                     "same time.")
                wb = class_weights_for(yb, class_weight)
            try:
                train_step(model, xb, yb, wb)
            except guards.NonFiniteStepError as e:
                _refuse(model, epoch, step, e)
            seen += 1
            logs = _logs(model)
            cbs.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        if seen == 0:
            warnings.warn("fit: your input ran out of data; interrupting training. Make sure "
                          "it can generate at least `steps_per_epoch * epochs` batches.",
                          stacklevel=2)
            break
        epoch_logs = _logs(model)
        if val is not None and (epoch + 1) % validation_freq == 0:
            val_logs = run_evaluation(model, val, callbacks=None, verbose=0,
                                      steps=validation_steps)
            epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            epoch_logs = dict(sorted(epoch_logs.items()))  # Keras: val_ keys sorted in too
            _reset(model)
        cbs.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    cbs.on_train_end(epoch_logs)
    return history


def _refuse(model: Sequential, epoch: int, step: int, error: guards.NonFiniteStepError) -> None:
    """Report a refused step in one line and stop training (the weights are unchanged)."""
    model.refused_step = (f"Epoch {epoch + 1}, batch {step}: {error.what}; the step was refused "
                          "and the weights left as they were, terminating training.")
    print(model.refused_step, file=sys.stdout)
    model.stop_training = True


class _EpochBatches:
    """Keras's EpochIterator: with ``steps_per_epoch`` one iterator runs on across epochs (an
    epoch takes the next ``steps_per_epoch`` batches, ends early where the data ends, and the
    data restarts — reshuffled — in the following epoch); without it each epoch is one pass."""

    def __init__(self, data: ArrayData | IterableData, steps_per_epoch: int | None):
        self.data, self.steps = data, steps_per_epoch
        self.num_batches = _steps(data, None)
        self.iterator: Any = None
        self.seen = 0

    def epoch(self) -> Any:
        if self.steps is None:
            yield from self.data.batches()
            return
        if self.iterator is None:
            self.iterator, self.seen = iter(self.data.batches()), 0
        for _ in range(self.steps):
            if self.num_batches and self.seen >= self.num_batches:
                break
            try:
                batch = next(self.iterator)
            except StopIteration:
                self.iterator = None
                return
            self.seen += 1
            yield batch
        if self.num_batches and self.seen >= self.num_batches:
            self.iterator = None


def _steps(data: ArrayData | IterableData, steps_per_epoch: int | None) -> int | None:
    if isinstance(data, ArrayData):
        return len(data) if steps_per_epoch is None else min(steps_per_epoch, len(data))
    return data.known_length()


def _validation(validation_data: Any, batch_size: int) -> ArrayData | IterableData | None:
    if validation_data is None:
        return None
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) \
            and hasattr(validation_data[0], "shape"):
        weights = validation_data[2] if len(validation_data) == 3 else None
        return make_data(validation_data[0], validation_data[1], batch_size, False, "fit",
                         sample_weight=weights)
    return make_data(validation_data, None, batch_size, False, "fit")


def run_evaluation(model: Sequential, data: ArrayData | IterableData, callbacks: Any,
                   verbose: int, steps: int | None = None) -> dict[str, float]:
    """Evaluate over ``data``; returns the logs (loss first, then metrics).

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models import training
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> from minicnn.models.data import make_data
        >>> data = make_data(np.zeros((4, 2)), np.ones(4), 2, False, "evaluate")
        >>> training.run_evaluation(model, data, callbacks=None, verbose=0)
        {'loss': 1.0}
    """
    _reset(model)
    cbs = _callbacks(model, callbacks, verbose, epochs=1,
                     steps=steps if steps is not None else _steps(data, None))
    cbs.on_test_begin()
    logs: dict[str, float] = {}
    for step, (xb, yb, wb) in enumerate(data.batches()):
        if steps is not None and step >= steps:
            break
        cbs.on_test_batch_begin(step)
        test_step(model, xb, _need_labels(yb, "evaluate"), wb)
        logs = _logs(model)
        cbs.on_test_batch_end(step, logs)
    logs = _logs(model)
    cbs.on_test_end(logs)
    return logs


def evaluate(model: Sequential, x: Any = None, y: Any = None, batch_size: int | None = 32,
             verbose: Any = "auto", return_dict: bool = False, steps: int | None = None,
             callbacks: Any = None, sample_weight: Any = None) -> Any:
    """The loop behind ``Sequential.evaluate``: the loss (and metrics) over the data.

    Returns a float, ``[loss, metric...]``, or a dict with ``return_dict=True``.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models import training
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> training.evaluate(model, np.zeros((4, 2)), np.ones(4), verbose=0)
        1.0
    """
    model._require_compiled("evaluate")
    verbose = check_verbose(verbose, "evaluate")
    data = make_data(x, y, 32 if batch_size is None else batch_size, False, "evaluate", steps,
                     sample_weight)
    check_input_shape(model, data, "evaluate")
    logs = run_evaluation(model, data, callbacks, verbose, steps)
    if return_dict:
        return logs
    values = [logs[m.name] for m in model.metrics]  # the list keeps compile order, as Keras
    return values[0] if len(values) == 1 else values


def predict(model: Sequential, x: Any, batch_size: int | None = 32, verbose: Any = "auto",
            steps: int | None = None, callbacks: Any = None) -> np.ndarray:
    """The loop behind ``Sequential.predict``: outputs for every batch, concatenated.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models import training
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> training.predict(model, np.zeros((5, 2)), batch_size=2, verbose=0).shape
        (5, 1)
    """
    verbose = check_verbose(verbose, "predict")
    data = make_data(x, None, 32 if batch_size is None else batch_size, False, "predict", steps)
    check_input_shape(model, data, "predict")
    cbs = _callbacks(model, callbacks, verbose, epochs=1, steps=_steps(data, steps))
    cbs.on_predict_begin()
    outputs = []
    for step, (xb, _) in enumerate(data.epoch()):
        if steps is not None and step >= steps:
            break
        cbs.on_predict_batch_begin(step)
        outputs.append(model.predict_on_batch(xb))
        cbs.on_predict_batch_end(step, None)
    cbs.on_predict_end()
    if not outputs:
        raise ValueError("predict: the input produced no batches. Received: an empty input.")
    return np.concatenate(outputs, axis=0)
