"""Parity tests against live TensorFlow/Keras 3.

TensorFlow settings, fixed here before anything imports it:

* ``TF_ENABLE_ONEDNN_OPTS=0`` (unless already set): TF's own Eigen kernels instead of oneDNN's.
  oneDNN picks its kernels (and so its summation order) by CPU instruction set, so its float
  results vary from machine to machine; Eigen's do not. The tolerances were checked with both
  settings (run with ``TF_ENABLE_ONEDNN_OPTS=1`` to see), and the tie rule of max-pool
  gradients is the same under both.
* ``TF_CPP_MIN_LOG_LEVEL=2``: no C++ info/warning chatter in test output.

In CI (``CI=true``) a missing TensorFlow FAILS every parity test; elsewhere it skips them with the
reason. ``MINICNN_RECORD_PARITY=1`` writes the worst error of every check to
``tests/parity/parity_results.json`` at the end of the session (see ``update_doc.py``).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import time
from pathlib import Path

import pytest

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RESULTS_PATH = Path(__file__).with_name("parity_results.json")

try:
    _tf = importlib.import_module("tensorflow")
    _keras = importlib.import_module("keras")
    _IMPORT_ERROR: Exception | None = None
except ImportError as err:  # pragma: no cover - the test extra installs TensorFlow
    _tf = _keras = None
    _IMPORT_ERROR = err


@pytest.fixture(autouse=True)
def _require_tensorflow():
    if _IMPORT_ERROR is None:
        yield
        return
    reason = f"TensorFlow/Keras is not importable ({_IMPORT_ERROR}); install the test extra"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}. In CI the parity tests must run, so this is a failure.")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _same_keras_weights_every_run():
    """Seed Keras's initializers before each test, so every run compares the same weights.

    No verdict rests on which seed this is: comparisons through ReLU and max-pool near-ties
    (where the two libraries' float32 roundings can pick different sides, and which ties exist
    depends on the CPU's BLAS kernels) run in float64 or are built to be insensitive to them
    (see docs/keras-parity.md, "Why long training runs drift apart").
    """
    if _keras is not None:
        _keras.utils.set_random_seed(0)
    yield


@pytest.fixture(scope="session")
def tf():
    return _tf


@pytest.fixture(scope="session")
def keras():
    _keras.config.set_floatx("float32")
    return _keras


# ------------------------------------------------------------------------ recording
_WORST: dict[str, dict] = {}


@pytest.fixture
def record(request):
    """``record(check, error)``: keep the worst ``error`` seen for ``check`` this session."""

    def _record(check: str, error: float) -> float:
        error = float(error)
        best = _WORST.get(check)
        if best is None or error > best["worst"]:
            _WORST[check] = {"worst": error, "case": request.node.name}
        return error

    return _record


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("MINICNN_RECORD_PARITY") != "1" or not _WORST:
        return
    payload = {
        "recorded": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "tensorflow": getattr(_tf, "__version__", None),
        "keras": getattr(_keras, "__version__", None),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
        "machine": platform.machine(),
        "checks": dict(sorted(_WORST.items())),
    }
    RESULTS_PATH.write_text(json.dumps(payload, indent=2) + "\n")
