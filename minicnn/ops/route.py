"""The one door from the plain ops to the fast path (``minicnn.fast``).

Every op that has fast routes asks here, once per call, which ``Function`` runs it:
``pick(op, plain, **facts)`` returns the fast path's choice (``minicnn.fast.routes.choose``
reads its table of routes) or the plain Function. With ``MINICNN_FAST=0`` the answer is always
the plain Function and ``minicnn.fast`` is never imported. A new op (say a depthwise
convolution) calls ``pick`` the same way and runs plain until a row for it is added to the
table in ``minicnn/fast/routes.py``.

``MINICNN_PROFILE=1`` counts which route each op took (``minicnn.profiler``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from minicnn import profiler
from minicnn._env import env_flag

#: Whether the fast path may run (``MINICNN_FAST``, on by default). Read at import; tests
#: switch it by setting this attribute.
FAST: bool = env_flag("MINICNN_FAST", True)


def pick(op: str, plain: type, **facts: Any) -> type:
    """The Function class to run ``op`` with: the fast path's route, or ``plain``.

    Args:
        op: the op's name in the route table ("conv2d", "max_pool2d", ...).
        plain: the plain Function, used when no fast route applies.
        facts: what the routes look at (the op's Tensors and options).

    Example:
        >>> from minicnn.ops import route
        >>> from minicnn.ops.conv import MaxPool2DFn
        >>> route.pick("no_such_op", MaxPool2DFn) is MaxPool2DFn
        True
    """
    if FAST:
        from minicnn.fast import routes

        fn, name = routes.choose(op, facts)
        if fn is not None:
            profiler.count_route(op, name)
            return fn
    profiler.count_route(op, "plain")
    return plain


def fast(name: str) -> Callable | None:
    """A layer-level fast entry point (``"fuse_pair"`` in ``minicnn.fast.fused``;
    ``"foldable"``, ``"is_plain_relu"``, ``"takes_relu_input"``, ``"run_folded"`` in
    ``minicnn.fast.folding``;
    ``"bn_relu_fusable"``, ``"run_bn_relu"`` in ``minicnn.fast.bn_relu``;
    ``"pool_add_fusable"``, ``"run_pool_add"`` in ``minicnn.fast.pool_add``), or None on the
    plain path.

    Example:
        >>> from minicnn.ops import route
        >>> route.fast("fuse_pair") is None or callable(route.fast("fuse_pair"))
        True
    """
    if not FAST:
        return None
    from minicnn.fast import bn_relu, folding, fused, pool_add

    if name == "bn_relu_fusable":
        return bn_relu.fusable
    if name == "pool_add_fusable":
        return pool_add.fusable
    for module in (fused, folding, bn_relu, pool_add):
        entry = getattr(module, name, None)
        if entry is not None:
            return entry
    raise LookupError(f"no fast entry point {name!r}")


def kernel(kern: Callable) -> Callable:
    """``kern`` (a ``minicnn.kernels`` kernel, compiled serially) on the plain path; on the fast
    path a callable that takes its parallel build for large calls
    (``minicnn.fast.parallel.auto``).

    Example:
        >>> import numpy as np
        >>> from minicnn.kernels.jit import relu_
        >>> from minicnn.ops import route
        >>> y = np.array([[-1.0, 2.0]]); route.kernel(relu_)(y); y
        array([[0., 2.]])
    """
    if not FAST:
        return kern
    from minicnn.fast import parallel

    return parallel.auto(kern)


def batch_step(n_images: int) -> contextlib.AbstractContextManager:
    """The context for one training or inference step over ``n_images`` images.

    On the fast path it holds BLAS at one thread for the step (``minicnn.fast.chunks``);
    on the plain path it does nothing.

    Example:
        >>> from minicnn.ops.route import batch_step
        >>> with batch_step(4):
        ...     pass
    """
    if not FAST:
        return contextlib.nullcontext()
    from minicnn.fast import chunks

    return chunks.batch_step(n_images)
