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


def fit_window(
    input_shape: tuple, window: tuple[int, int], strides: tuple[int, int], padding: str,
    who: str, kind: str = "kernel",
) -> tuple[int | None, int | None, int, int]:
    """(OH, OW, PT, PL) of a window over an NHWC input, or a ValueError saying it does not fit.

    The one place that checks a window fits its input: the layers call it when they build
    (``compute_output_shape``) and the ops when they run, with the same message. Unknown
    sizes (None) give None and padding 0.

    Args:
        input_shape: (N, H, W, C).  window: (KH, KW).  strides: (SH, SW).
        padding: "valid" or "same".  who: the layer or op named in the error.
        kind: "kernel" or "pool", for the message.

    Example:
        >>> from minicnn.kernels.geometry import fit_window
        >>> fit_window((1, 5, 5, 3), (3, 3), (2, 2), "valid", "conv2d")
        (2, 2, 0, 0)
        >>> fit_window((1, 2, 5, 3), (3, 3), (1, 1), "valid", "conv2d")
        Traceback (most recent call last):
        ...
        ValueError: conv2d: a 3-wide kernel with stride 1 and padding='valid' does not fit an input of size 2. Received: input_shape=(1, 2, 5, 3)
    """  # noqa: E501
    out: list = []
    for size, k, s in zip(input_shape[1:3], window, strides):
        if size is None:
            out.append((None, 0))
            continue
        o, before = output_size_and_padding(size, k, s, padding)
        if o <= 0:
            what = f"a {k}-wide kernel" if kind == "kernel" else f"a pool of {k}"
            raise ValueError(
                f"{who}: {what} with stride {s} and padding='{padding}' does not fit an input "
                f"of size {size}. Received: input_shape={tuple(input_shape)}"
            )
        out.append((o, before))
    (OH, PT), (OW, PL) = out
    return OH, OW, PT, PL
