"""Callbacks for ``fit``: History, progress logging, EarlyStopping, ModelCheckpoint, NaN guard,
CSVLogger, ReduceLROnPlateau, LearningRateScheduler, LambdaCallback.

They follow Keras 3's hooks and semantics (``on_epoch_end(epoch, logs)`` with ``logs`` holding
``loss``, metrics and ``val_`` entries), so Keras callback code reads the same here.

Example:
    >>> import minicnn as mc
    >>> stop = mc.callbacks.EarlyStopping(monitor="val_loss", patience=2)
    >>> stop.patience
    2
"""

from __future__ import annotations

import collections
import csv
import math
import os
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
    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs)  # Keras's legacy alias

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...
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
        save_freq: only "epoch" (Keras's default); batch counts raise a ValueError.
        initial_value_threshold: the value ``monitor`` must beat for the first save.

    Files are written by ``save`` / ``save_weights``: minicnn's ``.npz``, or a real Keras file
    for a Keras script's ``.keras`` / ``.weights.h5`` names (TensorFlow needed).

    Example:
        >>> import minicnn as mc
        >>> mc.callbacks.ModelCheckpoint("m-{epoch:02d}.npz").filepath
        'm-{epoch:02d}.npz'
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: Any = "epoch",
                 initial_value_threshold: float | None = None):
        super().__init__(monitor, mode)
        if save_freq != "epoch":
            raise ValueError("ModelCheckpoint: minicnn saves at the end of epochs only; "
                             f"`save_freq` must be 'epoch'. Received: save_freq={save_freq!r}")
        self.save_freq = save_freq
        self.filepath = os.fspath(filepath)
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
    class exists for Keras code that passes it explicitly. As Keras 3's, it prints
    ``Batch N: Invalid loss, terminating training``, or with ``raise_error=True`` raises a
    RuntimeError instead.

    Example:
        >>> import minicnn as mc
        >>> isinstance(mc.callbacks.TerminateOnNaN(), mc.callbacks.Callback)
        True
    """

    def __init__(self, raise_error: bool = False) -> None:
        super().__init__()
        self.raise_error = bool(raise_error)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. "
                                   f"Loss value: {loss}. Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, l: ...)``.

    Example:
        >>> import minicnn as mc
        >>> cb = mc.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None)
        >>> cb.on_epoch_end(0, {})
    """

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
              "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
              "on_test_batch_begin", "on_test_batch_end", "on_predict_begin",
              "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")

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
        verbose: 1 prints the rate set at each epoch, as Keras.

    As Keras 3, the rate is added to each epoch's logs as ``learning_rate`` (so it appears in
    History, CSVLogger files and the epoch line).

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
        old = _logged_rate(optimizer)  # as Keras reads its float32 variable
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
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:  # Keras 3 adds the rate to the epoch's logs (and so History)
            logs["learning_rate"] = _logged_rate(self.model.optimizer)


def _logged_rate(optimizer: Any) -> float:
    """The rate as Keras logs it: read from a float32 variable, so 0.001 shows as
    0.0010000000474974513."""
    return float(np.float32(optimizer.learning_rate))


class CSVLogger(Callback):
    """Write each epoch's logs as a CSV row, as Keras 3: an ``epoch`` column (0-based) then the
    log keys sorted by name; when the first epoch's logs have no ``val_`` keys, ``val_``
    columns are added anyway and filled with ``NA`` (Keras's quirk).

    Args:
        filename: the CSV file.
        separator: the field delimiter.
        append: add to an existing file (its header is written only if it is empty).

    Example:
        >>> import os, tempfile, numpy as np, minicnn as mc
        >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1)])
        >>> model.compile(optimizer=mc.optimizers.SGD(0.0), loss="mse")
        >>> _ = model.fit(np.zeros((4, 2)), np.ones(4), epochs=2, verbose=0,
        ...               callbacks=[mc.callbacks.CSVLogger(path)])
        >>> print(open(path).read(), end="")
        epoch,loss,val_loss
        0,1.0,NA
        1,1.0,NA
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self.writer: csv.DictWriter | None = None
        self.csv_file: TextIO | None = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        mode = "w"
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not f.readline()
            mode = "a"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")  # noqa: SIM115
        self.writer, self.keys = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((k, _csv_value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(value: Any) -> Any:
    if isinstance(value, str) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class ReduceLROnPlateau(_MonitorCallback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving, as Keras 3.

    After ``patience`` epochs without an improvement larger than ``min_delta`` the rate becomes
    ``max(lr * factor, min_lr)``, then ``cooldown`` epochs pass before counting again. The rate
    is compared and logged as Keras's float32 variable holds it, and added to each epoch's logs
    as ``learning_rate`` (so the epoch line and History show it, as Keras 3's do).

    Args:
        monitor: the log key to watch.
        factor: the multiplier (< 1).
        patience: epochs without improvement before a reduction.
        verbose: 1 prints ``Epoch N: ReduceLROnPlateau reducing learning rate to ...``.
        mode: "auto", "min" or "max".
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before resuming normal operation.
        min_lr: the floor of the learning rate.

    Example:
        >>> import minicnn as mc
        >>> mc.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5).factor
        0.2
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs: Any):
        if kwargs:
            raise ValueError(f"ReduceLROnPlateau: argument(s) not recognized: {sorted(kwargs)}")
        super().__init__(monitor, mode, min_delta)
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self._greater is None:
            self._set_direction()
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = _logged_rate(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old_lr = _logged_rate(optimizer)
        if np.float32(old_lr) > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                      f"{new_lr}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0
