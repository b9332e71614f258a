"""``batch_step``, kept importable from here for the models that use it.

The chunked routes it belonged to moved to ``minicnn.fast.chunks``; the step context is now
``minicnn.ops.route.batch_step`` (a no-op on the plain path).
"""

from minicnn.ops.route import batch_step

__all__ = ["batch_step"]
