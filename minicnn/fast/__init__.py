"""The fast path: everything in minicnn that exists only for speed.

The plain ops (``minicnn.ops``) ask ``minicnn.ops.route.pick`` which Function runs each call;
with the fast path on (the default; ``MINICNN_FAST=0`` switches it off and this package is then
never imported) the answer comes from one table, ``routes.ROUTES``:

- ``routes``    the table of routes, when each applies and the measured reason; ``choose``
- ``conv``      the fast convolution and pooling Functions, one per route
- ``fused``     Conv2D(relu) + MaxPooling2D as one operation, chunk by chunk in cache
- ``chunks``    a batch as chunks of images on a thread pool (one image at inference: its
                output rows in bands); the per-step BLAS hold
- ``winograd``  Winograd F(2x2, 3x3) transforms (numba) for 3x3 stride-1 convolutions
- ``pointwise`` SeparableConv2D's 1x1 matmul in row chunks (a batch) or bands (one image)
- ``separable`` SeparableConv2D at inference as one op, the depthwise output kept in cache
- ``folding``   BatchNormalization (and a ReLU) folded into the convolution before it
- ``bn_relu``   BatchNormalization -> ReLU as one op, training and inference
- ``pool_add``  MaxPooling2D -> Add as one pass at inference
- ``epilogue``  a GEMM's bias and ReLU in one numba pass
- ``parallel``  parallel builds of the plain kernels for large calls
- ``blas``      holding numpy's BLAS at one thread (threadpoolctl), fork- and thread-safe
- ``threads``   numba's OpenMP threads set to wait passively, without touching os.environ
- ``memory``    glibc allocator thresholds, applied at the first step (not at import)
"""
