"""The layer configurations that every check of a convolution or pooling layer walks: the
TensorFlow parity tests (tests/parity/test_layers_parity.py) and the ONNX export tests
(tests/test_onnx_export.py) run the same grid, so a geometry added here is checked by both.
"""

from __future__ import annotations

import itertools

SIZES = [(7, 9), (8, 8)]  # odd and even heights/widths: the 'same' split differs between them

CONV_GRID = [
    dict(kernel_size=k, strides=s, padding=p, size=hw, channels=c)
    for k, s, p, hw, c in itertools.product(
        (1, 3, 5), (1, 2), ("valid", "same"), SIZES, ((1, 1), (3, 4))
    )
] + [
    # non-square windows and strides, even kernels (asymmetric 'same' padding at stride 1)
    dict(kernel_size=(3, 5), strides=(2, 1), padding="same", size=(8, 9), channels=(2, 3)),
    dict(kernel_size=(2, 4), strides=1, padding="same", size=(7, 8), channels=(2, 3)),
    dict(kernel_size=(1, 3), strides=(1, 3), padding="valid", size=(6, 10), channels=(2, 3)),
    dict(kernel_size=4, strides=3, padding="same", size=(10, 11), channels=(3, 2)),
] + [
    # 3x3 stride 1 with >= 16 input channels, through both of minicnn's routes: im2col and
    # Winograd F(2x2, 3x3) (opt-in with MINICNN_WINOGRAD=1)
    dict(kernel_size=3, strides=1, padding=p, size=hw, channels=c, winograd=w)
    for p, hw, c, w in itertools.product(("valid", "same"), ((7, 9), (8, 8)),
                                         ((16, 8), (64, 32)), (False, True))
]

#: (pool size, strides (None: the pool size), padding, (H, W))
POOL_GRID = list(itertools.product((2, 3), (None, 1, 2), ("valid", "same"), SIZES))


def conv_case_id(case: dict) -> str:
    """A readable test id for a ``CONV_GRID`` entry.

    Example:
        >>> conv_case_id(CONV_GRID[0])
        '1-1-valid-(7, 9)-(1, 1)'
    """
    keys = ("kernel_size", "strides", "padding", "size", "channels")
    return "-".join(f"{case[k]}" for k in keys) + ("-winograd" if case.get("winograd") else "")
