"""Data-movement kernels for convolution and pooling.

Kernels only move data; the wrappers in ``minicnn.ops.conv`` validate and BLAS multiplies.
Every numba kernel in ``jit.py`` has a slow, obviously-correct NumPy twin in ``reference.py``
with the same signature, and the tests check that the two agree.

Notation (as in DeZero's im2col): N batch, H W input height and width, C channels, KH KW kernel
or pool window, SH SW strides, PT PL padding before (top, left), OH OW output height and width.
"""

from minicnn.kernels.geometry import output_size_and_padding

__all__ = ["output_size_and_padding"]
