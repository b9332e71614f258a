"""Callbacks for ``fit``: History, progress logging, EarlyStopping, ModelCheckpoint, NaN guard.

They follow Keras 3's hooks and semantics (``on_epoch_end(epoch, logs)`` with ``logs`` holding
``loss``, metrics and ``val_`` entries), so Keras callback code reads the same here.

Example:
    >>> import minicnn as mc
    >>> stop = mc.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    >>> stop.patience
    2
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

from minicnn.progbar import Progbar


class Callback:
    """Base class: override any hook; ``self.model`` is set by ``fit``.

    Example:
        >>> import minicnn as mc
        >>> class Count(mc.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print("epoch", epoch)
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None: ...
    def on_train_end(self, logs: dict | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_test_begin(self, logs: dict | None = None) -> None: ...
    def on_test_end(self, logs: dict | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_begin(self, logs: dict | None = None) -> None: ...
    def on_predict_end(self, logs: dict | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None: ...


class CallbackList(Callback):
    """Dispatches every hook to a list of callbacks, in order (``fit`` builds one).

    Args:
        callbacks: ``Callback`` instances.
        model: the model, given to each callback's ``set_model``.
        **params: e.g. ``epochs``, ``steps``, ``verbose``, given to each ``set_params``.

    Example:
        >>> import minicnn as mc
        >>> log = mc.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: print(e, logs))
        >>> mc.callbacks.CallbackList([log], epochs=1).on_epoch_end(0, {"loss": 0.5})
        0 {'loss': 0.5}
    """

    def __init__(self, callbacks: Sequence[Callback] = (), model: Any = None,
                 **params: Any):
        super().__init__()
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    "callbacks must be minicnn.callbacks.Callback instances. "
                    f"Received: {cb!r}"
                )
        if model is not None:
            self.set_model(model)
        self.set_params(params)

    def set_model(self, model):
        super().set_model(model)
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs)


class History(Callback):
    """Records every epoch's logs: ``history.history["loss"]`` is a list, one per epoch.

    Example:
        >>> import minicnn as mc
        >>> h = mc.callbacks.History(); h.on_train_begin(); h.on_epoch_end(0, {"loss": 1.0})
        >>> h.history, h.epoch
        ({'loss': [1.0]}, [0])
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` (when N > 1) and the progress bar or per-epoch line, as Keras.

    ``fit``, ``evaluate`` and ``predict`` add one when ``verbose`` is not 0.

    Args:
        stream: where to print (default ``sys.stdout``).
        clock: time source for the bar (default ``time.time``); tests inject a fake one.

    Example:
        >>> import io, numpy as np, minicnn as mc
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> out = io.StringIO()
        >>> logger = mc.callbacks.ProgbarLogger(stream=out, clock=lambda: 0.0)
        >>> _ = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=2, verbose=2, callbacks=[logger])
        >>> print(out.getvalue(), end="")
        Epoch 1/2
        1/1 - 0s - 0s/step - loss: 0.0000e+00
        Epoch 2/2
        1/1 - 0s - 0s/step - loss: 0.0000e+00
    """

    def __init__(self, stream: TextIO | None = None, clock: Callable[[], float] | None = None):
        super().__init__()
        self.stream = stream
        self.clock = clock
        self.progbar: Progbar | None = None
        self.seen = 0
        self.target: int | None = None
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _out(self) -> TextIO:
        return self.stream if self.stream is not None else sys.stdout

    def _new_bar(self) -> None:
        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose, stream=self._out(),
                               clock=self.clock)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar()
        if self.verbose and self.epochs > 1:
            self._out().write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_predict_end(self, logs=None):
        self._finalize(None)

    def _update(self, batch, logs):
        self.seen = batch + 1
        if self.verbose == 1 and self.progbar is not None:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if self.progbar is None:
            return
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


class _MonitorCallback(Callback):
    """Shared ``monitor``/``mode``/``min_delta`` logic (Keras's MonitorCallback)."""

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", min_delta: float = 0.0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(
                f"{type(self).__name__}: `mode` must be 'auto', 'min' or 'max'. "
                f"Received: mode={mode!r}"
            )
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(float(min_delta))
        self.best: float | None = None
        self._greater: bool | None = None

    def _set_direction(self) -> None:
        if self.mode != "auto":
            self._greater = self.mode == "max"
            return
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            self._greater = False
        for metric in getattr(self.model, "metrics", None) or []:
            if getattr(metric, "name", None) == name:
                self._greater = getattr(metric, "direction", "up") == "up"
        if self._greater is None:
            raise ValueError(
                f"{type(self).__name__} received monitor={self.monitor!r} but cannot tell "
                "whether it should be maximized or minimized. Pass mode='max' or mode='min'."
            )

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self._greater:
            return value - self.min_delta > reference
        return value + self.min_delta < reference


class EarlyStopping(_MonitorCallback):
    """Stop training when ``monitor`` has stopped improving, as Keras 3.

    Args:
        monitor: log key to watch ("val_loss", "val_accuracy", "loss"...).
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints ``Epoch N: early stopping``.
        mode: "min", "max" or "auto" (from the metric's direction; losses are minimised).
        baseline: training stops unless the monitored value beats it within ``patience``.
        restore_best_weights: at the end of training, put back the weights of the best epoch.
        start_from_epoch: epochs to wait before monitoring starts.

    Example:
        >>> import minicnn as mc
        >>> mc.callbacks.EarlyStopping(monitor="val_accuracy", mode="max").mode
        'max'
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta)
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights: list[np.ndarray] | None = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self._greater is None:
            self._set_direction()
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(_MonitorCallback):
    """Save the model (or its weights) at the end of every epoch, or only on improvement.

    Args:
        filepath: path, formatted with ``epoch`` (1-based) and the logs:
            ``"ckpt-{epoch:02d}-{val_loss:.2f}.npz"``.
        monitor: log key compared when ``save_best_only``.
        verbose: 1 prints Keras's ``Epoch N: val_loss improved from ...`` lines.
        save_best_only: write only when ``monitor`` improves.
        save_weights_only: write ``save_weights`` files instead of whole models.
        mode: "min", "max" or "auto".

    Example:
        >>> import minicnn as mc
        >>> mc.callbacks.ModelCheckpoint("m-{epoch:02d}.npz").filepath
        'm-{epoch:02d}.npz'
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", initial_value_threshold: float | None = None):
        super().__init__(monitor, mode)
        self.filepath = str(filepath)
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.best = initial_value_threshold

    def _path(self, epoch: int, logs: dict) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint: failed to format filepath {self.filepath!r}: the logs have "
                f"no key {e}. Available keys: {sorted(logs)}"
            ) from e

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._greater is None and self.save_best_only:
            self._set_direction()
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available.",
                              stacklevel=2)
            else:
                best_str = "None" if self.best is None else f"{self.best:.5f}"
                if not self._is_improvement(current, self.best):
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from "
                              f"{best_str}")
                    return
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                          f"{current:.5f}, saving model to {path}")
                self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    ``fit`` already does this itself (raising nothing, printing which epoch and batch); this
    class exists for Keras code that passes it explicitly.

    Example:
        >>> import minicnn as mc
        >>> isinstance(mc.callbacks.TerminateOnNaN(), mc.callbacks.Callback)
        True
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Epoch {self.epoch + 1}, batch {batch}: invalid loss {loss}, "
                  "terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, l: ...)``.

    Example:
        >>> import minicnn as mc
        >>> cb = mc.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None)
        >>> cb.on_epoch_end(0, {})
    """

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
              "on_train_batch_begin", "on_train_batch_end")

    def __init__(self, **hooks: Callable[..., Any]):
        super().__init__()
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise ValueError(
                    f"LambdaCallback: unknown hook. Expected one of {self._HOOKS}. "
                    f"Received: {name}"
                )
            setattr(self, name, fn)


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of each epoch from ``schedule``.

    Args:
        schedule: ``schedule(epoch, lr) -> new_lr`` with ``epoch`` counted from 0 (Keras's
            signature; a one-argument ``schedule(epoch)`` is accepted too).
        verbose: 1 prints the rate whenever it changes.

    Example:
        >>> import minicnn as mc
        >>> step = mc.callbacks.LearningRateScheduler(
        ...     lambda epoch, lr: 1e-3 if epoch < 10 else 1e-4)
        >>> step.schedule(12, 1e-3)
        0.0001
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: `schedule` must be callable. Received: {schedule!r}"
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        old = float(optimizer.learning_rate)
        try:
            new = self.schedule(epoch, old)
        except TypeError:  # a one-argument schedule(epoch)
            new = self.schedule(epoch)
        if isinstance(new, bool) or not isinstance(new, (int, float)) or not math.isfinite(new):
            raise ValueError(
                "LearningRateScheduler: the schedule must return a finite number. "
                f"Received: {new!r} for epoch {epoch}"
            )
        optimizer.learning_rate = float(new)
        if self.verbose and new != old:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")
