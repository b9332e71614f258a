"""Fixtures: the shared photos, a stand-in server on an ephemeral loopback port, a client."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minicnn.integrations.facepp import Backoff, Client
from minicnn.integrations.facepp.annotations import AnnotatedFace
from minicnn.integrations.facepp.server import StandInServer

REPO = Path(__file__).resolve().parents[2]
KEY = "test-key"
SECRET = "s3cr3t-Do-Not-Print-7f2a"  # must never show up in any output


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """``$MINICNN_DATA/faces``, by default ``<repo>/../shared/data/faces``."""
    root = Path(os.environ.get("MINICNN_DATA", REPO.parent / "shared" / "data"))
    path = root / "faces"
    if not path.is_dir():
        if os.environ.get("CI", "").lower() == "true":  # CI has shared/ beside the clone
            pytest.fail(f"face photos not found at {path}; set MINICNN_DATA")
        pytest.skip(f"face photos not found at {path}; set MINICNN_DATA")
    return path


@pytest.fixture
def server():
    """A stand-in with one free key, one paid key and one denied key; seeded tokens."""
    with StandInServer(
        credentials={KEY: SECRET, "paid-key": SECRET, "denied-key": SECRET},
        standard_keys={"paid-key"},
        denied_keys={"denied-key"},
        seed=0,
    ) as srv:
        yield srv


class SleepRecorder:
    """Stands in for time.sleep: records the requested waits, never waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def client(server, sleeps):
    with Client(KEY, SECRET, base_url=server.url, timeout=5.0, max_retries=3,
                backoff=Backoff(base=1.0, cap=4.0, seed=0), sleep=sleeps) as c:
        yield c


@pytest.fixture
def crowd(server):
    """A 640x480 noise image registered with seven faces of decreasing size, shuffled."""
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), "RGB")
    sizes = [40, 100, 70, 120, 50, 90, 60]  # largest first would be 120, 100, 90, 70, 60, 50, 40
    faces = [
        AnnotatedFace(10 + (i % 2) * 200, 10 + i * 85, s, s, f"p{i}", "Female", 20 + i, 10.0 * i)
        for i, s in enumerate(sizes)
    ]
    server.api.annotate(image, faces, name="crowd")
    return image


@pytest.fixture
def blank() -> Image.Image:
    """A 200x200 noise image: no face the stand-in knows."""
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 256, (200, 200, 3), dtype=np.uint8), "RGB")
