"""Entry point of ``python -m minicnn.integrations.facepp``."""

from .cli import main

raise SystemExit(main())
