import os
from pathlib import Path

import numpy as np
import pytest

import minicnn as mc

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same global seed and fresh layer names."""
    mc.set_seed(1234)
    mc.clear_session()
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder: $MINICNN_DATA, else ../shared/data beside the repository."""
    return Path(os.environ.get("MINICNN_DATA", REPO.parent / "shared" / "data"))
