"""The core never imports the integration, and the integration imports requests lazily."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import REPO

CHECK = (
    "import sys, minicnn; assert 'minicnn.integrations.facepp' not in sys.modules; "
    "import minicnn.integrations.facepp as f; assert 'requests' not in sys.modules; "
    "print(sorted(f.__all__)[:3])"
)


def test_imports_are_light():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['AllPairs', 'Backoff', 'Client']"
