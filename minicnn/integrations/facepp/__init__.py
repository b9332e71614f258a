"""Face++ (Megvii FacePlusPlus) v3 Detect and Compare: a thin client, a CLI and a stand-in server.

Needs the ``facepp`` extra (``pip install 'minicnn[facepp]'``); the core ``minicnn`` package
never imports this module.

Example:
    >>> from minicnn.integrations.facepp import Client
    >>> client = Client.from_env()  # doctest: +SKIP
    >>> for face in client.detect("obama.jpg"):  # doctest: +SKIP
    ...     print(face.gender, face.age, face.smile, face.rectangle)
"""

from .client import DEFAULT_BASE_URL, HOSTS, Client
from .draw import draw
from .errors import FaceppError
from .results import AllPairs, Comparison, Face, FaceRectangle, PairScore
from .retry import Backoff

__all__ = [
    "AllPairs",
    "Backoff",
    "Client",
    "Comparison",
    "DEFAULT_BASE_URL",
    "Face",
    "FaceRectangle",
    "FaceppError",
    "HOSTS",
    "PairScore",
    "draw",
]
