"""The Face++ behaviour of the stand-in server, without any HTTP: fields in, (status, body) out.

It follows docs/facepp.md's contract: envelope, field precedence, largest-first faces with
attributes for the five largest, Compare on the largest face per side, and the error strings.
Faces come from :mod:`.annotations` (the shared photos, plus any registered with
:meth:`StandIn.annotate`); any other image has no faces.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import ipaddress
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from .annotations import SHARED_PHOTOS, AnnotatedFace, Photo, thumbnail
from .annotations import find as find_photo
from .forms import FormField

DETECT, COMPARE = "/facepp/v3/detect", "/facepp/v3/compare"
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MIN_SIDE, MAX_SIDE = 48, 4096
ANALYSED_FACES = 5  # a free key gets attributes for the five largest faces only
SMILE_THRESHOLD = 50.0
THRESHOLDS = {"1e-3": 62.327, "1e-4": 69.101, "1e-5": 73.975}
ATTRIBUTES = frozenset(
    "gender age smiling headpose facequality blur eyestatus emotion ethnicity beauty "
    "mouthstatus eyegaze skinstatus".split()
)

#: Scripted failures: kind -> (status, error_message or plain-text body, is JSON).
FAULTS: dict[str, tuple[int, str, bool]] = {
    "concurrency": (403, "CONCURRENCY_LIMIT_EXCEEDED", True),
    "internal": (500, "INTERNAL_ERROR", True),
    "bad_gateway": (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", False),
    "unavailable": (503, "<html><body><h1>503 Service Unavailable</h1></body></html>", False),
    "gateway_timeout": (504, "<html><body><h1>504 Gateway Time-out</h1></body></html>", False),
    "download_timeout": (412, "IMAGE_DOWNLOAD_TIMEOUT", True),
    "denied": (403, "AUTHORIZATION_ERROR:Denied by Client", True),
    "auth": (401, "AUTHENTICATION_ERROR", True),
}


@dataclass(frozen=True)
class Reply:
    """What the HTTP layer sends: a JSON object, or plain text when ``body`` is a str."""

    status: int
    body: dict[str, Any] | str


@dataclass
class _Detected:
    """A face the stand-in found, in the received image's pixels."""

    key: str  # "<photo>#<index>": the same face in any copy of the photo
    rect: dict[str, int]
    face: AnnotatedFace


class _ApiError(Exception):
    def __init__(self, status: int, message: str, envelope: bool = True) -> None:
        super().__init__(message)
        self.status, self.message, self.envelope = status, message, envelope


@dataclass
class StandIn:
    """Face++ Detect/Compare over plain Python values.

    Args:
        credentials: ``{api_key: api_secret}`` accepted.
        standard_keys: keys treated as paid (``calculate_all``, ``face_rectangle`` allowed).
        denied_keys: keys answered 403 ``AUTHORIZATION_ERROR:Denied by Admin``.
        concurrency: requests one key may have in flight before 403 CONCURRENCY_LIMIT_EXCEEDED.
        seed: seeds face tokens and image ids (``None``: random).
    """

    credentials: dict[str, str] = field(default_factory=lambda: {"demo-key": "demo-secret"})
    standard_keys: set[str] = field(default_factory=set)
    denied_keys: set[str] = field(default_factory=set)
    concurrency: int = 1
    seed: int | None = None
    photos: list[Photo] = field(default_factory=lambda: list(SHARED_PHOTOS))
    fetch_timeout: float = 5.0
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self._faults: deque[tuple[str, float]] = deque()
        self._tokens: dict[str, _Detected] = {}

    # -- test controls -----------------------------------------------------------------------

    def inject(self, kind: str, times: int = 1) -> None:
        """Refuse the next ``times`` authenticated requests with fault ``kind`` (see FAULTS)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {sorted(FAULTS)}")
        with self._lock:
            self._faults.extend([(kind, 0.0)] * times)

    def slow(self, seconds: float, times: int = 1) -> None:
        """Delay the next ``times`` authenticated replies by ``seconds`` (then answer normally)."""
        with self._lock:
            self._faults.extend([("slow", seconds)] * times)

    def annotate(
        self, image: Image.Image | bytes, faces: list[AnnotatedFace], name: str = "registered"
    ) -> None:
        """Teach the stand-in the faces of another image (boxes in that image's pixels)."""
        pil = Image.open(io.BytesIO(image)) if isinstance(image, bytes) else image
        with self._lock:
            self.photos.append(Photo(name, pil.size, thumbnail(pil), tuple(faces)))

    # -- the API -----------------------------------------------------------------------------

    def handle(self, path: str, fields: list[FormField]) -> Reply:
        """Answer one POST to ``path`` with the given form fields."""
        started = time.monotonic()
        form = _first_of_each(fields)
        try:
            if path not in (DETECT, COMPARE):
                raise _ApiError(404, "API_NOT_FOUND", envelope=False)
            key = self._authenticate(form)
            with self._admitted(key):
                body = self._detect(form, key) if path == DETECT else self._compare(form)
            status = 200
        except _ApiError as err:
            if err.status in (502, 503, 504):
                return Reply(err.status, err.message)
            status, body = err.status, {"error_message": err.message}
            if not err.envelope:
                return Reply(status, body)
        body["request_id"] = f"{int(time.time())},{uuid.uuid4()}"
        body["time_used"] = int((time.monotonic() - started) * 1000)
        return Reply(status, body)

    def _authenticate(self, form: dict[str, FormField]) -> str:
        for name in ("api_key", "api_secret"):
            if name not in form:
                raise _ApiError(400, f"MISSING_ARGUMENTS: {name}")
        key, secret = form["api_key"].text, form["api_secret"].text
        if self.credentials.get(key) != secret:
            raise _ApiError(401, "AUTHENTICATION_ERROR")
        if key in self.denied_keys:
            raise _ApiError(403, "AUTHORIZATION_ERROR:Denied by Admin", envelope=False)
        return key

    @contextmanager
    def _admitted(self, key: str):
        with self._lock:
            busy = self._in_flight.get(key, 0) >= self.concurrency
            fault = None
            if not busy:
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
                fault = self._faults.popleft() if self._faults else None
        if busy:
            raise _ApiError(403, "CONCURRENCY_LIMIT_EXCEEDED")
        try:
            if fault is not None and fault[0] == "slow":
                self.sleep(fault[1])
            elif fault is not None:
                status, message, _ = FAULTS[fault[0]]
                raise _ApiError(status, message, envelope=fault[0] != "denied")
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1

    def _detect(self, form: dict[str, FormField], key: str) -> dict[str, Any]:
        attributes = _attribute_names(form)
        landmark = form["return_landmark"].text if "return_landmark" in form else "0"
        if landmark not in ("0", "1", "2"):
            raise _ApiError(400, "BAD_ARGUMENTS: return_landmark")
        calculate_all = form["calculate_all"].text if "calculate_all" in form else "0"
        if calculate_all not in ("0", "1"):
            raise _ApiError(400, "BAD_ARGUMENTS: calculate_all")
        for paid in ("calculate_all", "face_rectangle"):
            if paid in form and key not in self.standard_keys and form[paid].text != "0":
                raise _ApiError(403, f"INSUFFICIENT_PERMISSION: {paid}")
        param, image = self._image(form, ("image_file", "image_base64", "image_url"))
        faces = self._locate(image)
        if "face_rectangle" in form:
            faces = _restrict(faces, _parse_rectangle(form["face_rectangle"].text))
        analysed = len(faces) if calculate_all == "1" else ANALYSED_FACES
        out = []
        for i, found in enumerate(faces):
            item: dict[str, Any] = {
                "face_token": self._remember(found),
                "face_rectangle": found.rect,
            }
            if attributes and i < analysed:
                item["attributes"] = _attributes(found.face, attributes)
            out.append(item)
        return {"image_id": self._image_id(), "faces": out, "face_num": len(out)}

    def _compare(self, form: dict[str, FormField]) -> dict[str, Any]:
        body: dict[str, Any] = {}
        chosen = []
        for side in ("1", "2"):
            token_field = f"face_token{side}"
            if token_field in form:
                token = form[token_field].text
                if token not in self._tokens:
                    raise _ApiError(400, f"INVALID_FACE_TOKEN: {token}")
                chosen.append(self._tokens[token])
                continue
            names = (f"image_file{side}", f"image_base64_{side}", f"image_url{side}")
            _, image = self._image(form, names, missing=(token_field, *names[::-1]))
            faces = self._locate(image)
            body[f"image_id{side}"] = self._image_id()
            body[f"faces{side}"] = [
                {"face_token": self._remember(f), "face_rectangle": f.rect} for f in faces
            ]
            chosen.append(faces[0] if faces else None)
        if chosen[0] is not None and chosen[1] is not None:
            body["confidence"] = similarity(chosen[0].key, chosen[0].face,
                                            chosen[1].key, chosen[1].face)
            body["thresholds"] = dict(THRESHOLDS)
        return body

    # -- images and faces ----------------------------------------------------------------------

    def _image(
        self, form: dict[str, FormField], names: tuple[str, ...], missing: tuple[str, ...] = ()
    ) -> tuple[str, Image.Image]:
        """The image of the highest-precedence field present (file > base64 > url)."""
        for name in names:
            if name not in form:
                continue
            raw = form[name].value
            if "base64" in name:
                try:
                    raw = base64.b64decode(raw, validate=True)
                except (binascii.Error, ValueError):
                    raise _ApiError(400, f"IMAGE_ERROR_UNSUPPORTED_FORMAT: {name}") from None
            elif "url" in name:
                raw = self._fetch(form[name].text, name)
            return name, _decode(raw, name)
        listed = missing or (names[2], names[0], names[1])
        raise _ApiError(400, "MISSING_ARGUMENTS: " + ", ".join(listed))

    def _fetch(self, url: str, name: str) -> bytes:
        """Download ``image_url``: loopback only, so the stand-in never leaves the machine."""
        host = urlsplit(url).hostname or ""
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if urlsplit(url).scheme not in ("http", "https") or not loopback:
            raise _ApiError(400, f"INVALID_IMAGE_URL: {name}")
        try:
            with urllib.request.urlopen(url, timeout=self.fetch_timeout) as resp:  # noqa: S310
                return resp.read(MAX_IMAGE_BYTES + 1)
        except TimeoutError:
            raise _ApiError(412, f"IMAGE_DOWNLOAD_TIMEOUT: {name}") from None
        except (urllib.error.URLError, OSError):
            raise _ApiError(400, f"INVALID_IMAGE_URL: {name}") from None

    def _locate(self, image: Image.Image) -> list[_Detected]:
        with self._lock:
            photos = list(self.photos)
        photo = find_photo(image, photos)
        if photo is None:
            return []
        sx, sy = image.size[0] / photo.size[0], image.size[1] / photo.size[1]
        found = [
            _Detected(
                key=f"{photo.name}#{i}",
                rect={"top": round(f.top * sy), "left": round(f.left * sx),
                      "width": round(f.width * sx), "height": round(f.height * sy)},
                face=f,
            )
            for i, f in enumerate(photo.faces)
        ]
        return sorted(found, key=lambda d: -d.rect["width"] * d.rect["height"])

    def _remember(self, found: _Detected) -> str:
        with self._lock:
            token = f"{self._rng.getrandbits(128):032x}"
            self._tokens[token] = found
        return token

    def _image_id(self) -> str:
        with self._lock:
            return base64.b64encode(self._rng.getrandbits(128).to_bytes(16, "big")).decode()


def similarity(key1: str, face1: AnnotatedFace, key2: str, face2: AnnotatedFace) -> float:
    """Deterministic Compare confidence: 97–99.9 for the same annotated face, 86–96 for two
    faces with the same identity label, 8–48 otherwise (all thresholds are 62–74)."""
    a, b = sorted((key1, key2))
    h = int.from_bytes(hashlib.sha256(f"{a}|{b}".encode()).digest()[:4], "big") / 2**32
    if key1 == key2:
        value = 97.0 + 2.9 * h
    elif face1.identity is not None and face1.identity == face2.identity:
        value = 86.0 + 10.0 * h
    else:
        value = 8.0 + 40.0 * h
    return round(value, 3)


def _first_of_each(fields: list[FormField]) -> dict[str, FormField]:
    form: dict[str, FormField] = {}
    for f in fields:
        form.setdefault(f.name, f)
    return form


def _attribute_names(form: dict[str, FormField]) -> list[str]:
    if "return_attributes" not in form:
        return []
    names = [n.strip() for n in form["return_attributes"].text.split(",") if n.strip()]
    if names == ["none"]:
        return []
    if not names or any(n not in ATTRIBUTES for n in names):
        raise _ApiError(400, "BAD_ARGUMENTS: return_attributes")
    return names


def _decode(raw: bytes, name: str) -> Image.Image:
    """Validate like Face++: size in bytes, then format, then pixel size."""
    if len(raw) > MAX_IMAGE_BYTES:
        raise _ApiError(400, f"IMAGE_FILE_TOO_LARGE: {name}")
    try:
        image = Image.open(io.BytesIO(raw))
    except (UnidentifiedImageError, OSError):
        raise _ApiError(400, f"IMAGE_ERROR_UNSUPPORTED_FORMAT: {name}") from None
    if image.format not in ("JPEG", "PNG"):
        raise _ApiError(400, f"IMAGE_ERROR_UNSUPPORTED_FORMAT: {name}")
    if not MIN_SIDE <= min(image.size) or max(image.size) > MAX_SIDE:
        raise _ApiError(400, f"INVALID_IMAGE_SIZE: {name}")
    try:
        image.load()
    except OSError:
        raise _ApiError(400, f"IMAGE_ERROR_UNSUPPORTED_FORMAT: {name}") from None
    return image


def _parse_rectangle(text: str) -> dict[str, int]:
    try:
        top, left, width, height = (int(v) for v in text.split(","))
    except ValueError:
        raise _ApiError(400, "BAD_ARGUMENTS: face_rectangle") from None
    if min(top, left) < 0 or min(width, height) <= 0:
        raise _ApiError(400, "BAD_ARGUMENTS: face_rectangle")
    return {"top": top, "left": left, "width": width, "height": height}


def _restrict(faces: list[_Detected], rect: dict[str, int]) -> list[_Detected]:
    """``face_rectangle``: one face, the given box, described by the face it overlaps most."""
    def overlap(d: _Detected) -> int:
        r = d.rect
        w = min(r["left"] + r["width"], rect["left"] + rect["width"]) - max(r["left"], rect["left"])
        h = min(r["top"] + r["height"], rect["top"] + rect["height"]) - max(r["top"], rect["top"])
        return max(0, w) * max(0, h)

    best = max(faces, key=overlap, default=None)
    if best is None or overlap(best) == 0:
        return []
    return [_Detected(best.key, rect, best.face)]


def _attributes(face: AnnotatedFace, names: list[str]) -> dict[str, Any]:
    """The requested attributes; names without annotated data get fixed neutral values."""
    smile = round(face.smile, 3)
    happy = round(min(100.0, smile), 3)
    table: dict[str, Any] = {
        "gender": {"value": face.gender},
        "age": {"value": face.age},
        "smiling": {"value": smile, "threshold": SMILE_THRESHOLD},
        "headpose": {"pitch_angle": 0.0, "roll_angle": 0.0, "yaw_angle": 0.0},
        "facequality": {"value": 80.0, "threshold": 70.1},
        "blur": {"blurness": {"value": 1.0, "threshold": 50.0}},
        "emotion": {"anger": 0.0, "disgust": 0.0, "fear": 0.0, "happiness": happy,
                    "neutral": round(100.0 - happy, 3), "sadness": 0.0, "surprise": 0.0},
        "beauty": {"male_score": 70.0, "female_score": 70.0},
        "mouthstatus": {"surgical_mask_or_respirator": 0.0, "other_occlusion": 0.0,
                        "close": 100.0 - happy, "open": happy},
        "skinstatus": {"health": 50.0, "stain": 10.0, "acne": 5.0, "dark_circle": 10.0},
    }
    out = {}
    for name in names:
        if name in table:  # ethnicity, eyestatus, eyegaze: not simulated (see docs)
            out["smile" if name == "smiling" else name] = table[name]
    return out
