"""Face++ (Megvii FacePlusPlus) v3 Detect and Compare: a thin client, a CLI and a stand-in server.

Needs the ``facepp`` extra (``pip install 'minicnn[facepp]'``); the core ``minicnn`` package
never imports this module.

Example:
    >>> from minicnn.data import data_root
    >>> from minicnn.integrations.facepp import Client
    >>> from minicnn.integrations.facepp.server import StandInServer
    >>> with StandInServer() as server:  # offline stand-in; for the service: Client.from_env()
    ...     with Client("demo-key", "demo-secret", base_url=server.url) as client:
    ...         for face in client.detect(data_root() / "faces" / "obama.jpg"):
    ...             print(face.gender, face.age, face.smile, face.rectangle)
    Male 51 97.512 FaceRectangle(top=160, left=355, width=270, height=270)
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
