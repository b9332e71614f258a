"""Optional integrations with outside services.

Nothing here is imported by the core ``minicnn`` package; each integration pulls in its
own extra dependencies (``pip install minicnn[facepp]`` for :mod:`minicnn.integrations.facepp`).
"""
