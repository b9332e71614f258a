"""Output sizes and TensorFlow's padding rule for convolution and pooling windows."""

from __future__ import annotations


def output_size_and_padding(size: int, window: int, stride: int, padding: str) -> tuple[int, int]:
    """Return (output size, padding before) along one axis.

    "valid": out = floor((size - window) / stride) + 1, no padding.
    "same":  out = ceil(size / stride); the total padding max((out - 1) * stride + window - size, 0)
             is split with the smaller half before, so the odd pixel goes bottom/right (TF's rule).
    The output may be <= 0 for "valid"; callers turn that into an error naming the layer.

    Args:
        size: the input length along the axis.  window: the kernel or pool length.
        stride: the step.  padding: "valid" or "same".

    Example:
        >>> from minicnn.kernels.geometry import output_size_and_padding
        >>> output_size_and_padding(5, 3, 2, "valid"), output_size_and_padding(4, 3, 2, "same")
        ((2, 0), (2, 0))
    """
    if padding == "valid":
        return (size - window) // stride + 1, 0
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2
