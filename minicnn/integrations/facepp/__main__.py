"""Entry point of ``python -m minicnn.integrations.facepp``."""

from .cli import main

if __name__ == "__main__":  # guarded so that doctest collection can import this module
    raise SystemExit(main())
