"""Guards around one training step: refuse non-finite steps, and apply updates all-or-nothing.

``train_step`` calls these so that no optimiser step ever writes a NaN or infinite weight (a
step whose input, loss or any gradient is not finite is refused before the update), and so that
Ctrl-C never lands halfway through an update (some weights stepped, others not).
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from minicnn.tensor import Tensor

if TYPE_CHECKING:
    from minicnn.models.sequential import Sequential
    from minicnn.tensor import Parameter


class NonFiniteStepError(FloatingPointError):
    """A training step refused because its input, loss or a gradient is NaN or infinite.

    ``what`` says which ("the input x holds 1 NaN value", "the gradient of layer 'dense'
    weight 'kernel' holds 3 NaN values", ...); the weights were left as they were.

    Example:
        >>> from minicnn.models.guards import NonFiniteStepError
        >>> str(NonFiniteStepError("the loss is nan"))
        'the loss is nan'
    """

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def _all_finite(a: np.ndarray) -> bool:
    # a sum is one fast pass and is NaN/inf whenever any element is; only then (or on an
    # overflow of finite values) is the exact, slower elementwise test needed
    if a.dtype.kind not in "fc" or a.size == 0:
        return True
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(float(np.sum(a))):
            return True
    return bool(np.isfinite(a).all())


def _count(a: np.ndarray) -> str:
    nan = int(np.isnan(a).sum())
    inf = int(np.isinf(a).sum())
    parts = [f"{n} {kind} value{'s' if n != 1 else ''}" for n, kind in ((nan, "NaN"),
                                                                        (inf, "infinite")) if n]
    return " and ".join(parts)


def check_input(x: Any) -> None:
    """Raise NonFiniteStepError if the batch ``x`` (an array, or a list or dict of them for a
    model with several inputs) holds NaN or infinite values.

    Example:
        >>> import numpy as np
        >>> from minicnn.models.guards import check_input
        >>> check_input(np.array([1.0, np.nan, np.inf, np.nan]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        minicnn...NonFiniteStepError: the input x holds 2 NaN values and 1 infinite value
    """
    if isinstance(x, dict):
        x = list(x.values())
    parts = x if isinstance(x, (list, tuple)) else [x]
    for i, part in enumerate(parts):
        a = part.data if isinstance(part, Tensor) else np.asarray(part)
        if not _all_finite(a):
            which = "the input x" if len(parts) == 1 else f"input {i} of x"
            raise NonFiniteStepError(f"{which} holds {_count(a)}")


def check_loss(value: float) -> None:
    """Raise NonFiniteStepError if the batch loss is NaN or infinite."""
    if not math.isfinite(value):
        raise NonFiniteStepError(f"the loss is {value}")


def _weight_names(model: Sequential) -> dict[int, str]:
    names = {}
    for layer in model.layers:
        for param, wname in zip(layer.weights, layer.weight_names()):
            names[id(param)] = f"layer '{layer.name}' weight '{wname}'"
    return names


def check_gradients(model: Sequential, params: Sequence[Parameter]) -> None:
    """Raise NonFiniteStepError naming the first layer and weight whose gradient is not finite.

    Example:
        >>> import numpy as np, minicnn as mc
        >>> from minicnn.models.guards import check_gradients
        >>> model = mc.Sequential([mc.Input((2,)), mc.Dense(1, name="out")])
        >>> kernel, bias = model.trainable_weights
        >>> kernel.grad, bias.grad = np.zeros((2, 1)), np.array([np.inf])
        >>> check_gradients(model, model.trainable_weights)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        minicnn...NonFiniteStepError: the gradient of layer 'out' weight 'bias' holds 1 infinite...
    """
    for p in params:
        if p.grad is not None and not _all_finite(p.grad):
            name = _weight_names(model).get(id(p), f"weight '{p.name}'")
            raise NonFiniteStepError(f"the gradient of {name} holds {_count(p.grad)}")


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back until the block ends, so an update is applied whole or not.

    Only in the main thread and only while Python's default handler is installed (another
    handler is the program's own business); elsewhere the block runs unguarded.

    Example:
        >>> import os, signal
        >>> from minicnn.models.guards import deferred_interrupt
        >>> done = []
        >>> try:
        ...     with deferred_interrupt():
        ...         os.kill(os.getpid(), signal.SIGINT)
        ...         done.append("the whole block ran")
        ... except KeyboardInterrupt:
        ...     done.append("then the interrupt")
        >>> done
        ['the whole block ran', 'then the interrupt']
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    caught: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
