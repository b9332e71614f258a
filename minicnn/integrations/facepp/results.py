"""Typed results of Detect and Compare, and their parsing from Face++ JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import FaceppError

#: The false-accept levels Face++ returns thresholds for (contract §2.4).
LEVELS = ("1e-3", "1e-4", "1e-5")


@dataclass(frozen=True)
class FaceRectangle:
    """A face box in pixels: ``top`` is y and ``left`` is x of the upper-left corner.

    Example:
        >>> FaceRectangle(top=10, left=20, width=30, height=30).area
        900
    """

    top: int
    left: int
    width: int
    height: int

    @property
    def area(self) -> int:
        """width × height, the size Face++ orders faces by."""
        return self.width * self.height

    def scaled(self, sx: float, sy: float) -> FaceRectangle:
        """The same box in an image ``sx`` times wider and ``sy`` times taller."""
        return FaceRectangle(
            top=round(self.top * sy),
            left=round(self.left * sx),
            width=round(self.width * sx),
            height=round(self.height * sy),
        )


@dataclass(frozen=True)
class Face:
    """One detected face; attributes are ``None`` when not requested or not analysed
    (a free key analyses only the five largest faces).

    Example:
        >>> f = Face("0" * 32, FaceRectangle(1, 2, 3, 3), "Male", 51, 97.2, 50.0)
        >>> f.smiling
        True
    """

    token: str
    rectangle: FaceRectangle
    gender: str | None = None
    age: int | None = None
    smile: float | None = None
    smile_threshold: float | None = None

    @property
    def smiling(self) -> bool | None:
        """``smile > smile_threshold``, or ``None`` when smile was not returned."""
        if self.smile is None or self.smile_threshold is None:
            return None
        return self.smile > self.smile_threshold


@dataclass(frozen=True)
class Comparison:
    """The answer of Compare: one face per side (the largest), a confidence and the thresholds
    from the same response. ``confidence`` is ``None`` when a side had no face.

    Example:
        >>> c = Comparison(88.0, {"1e-3": 62.3, "1e-4": 69.1, "1e-5": 74.0}, None, None)
        >>> c.is_same_person("1e-5")
        True
    """

    confidence: float | None
    thresholds: dict[str, float]
    face1: Face | None
    face2: Face | None
    request_id: str | None = None

    @property
    def has_faces(self) -> bool:
        """False when Face++ found no face on at least one side (nothing was compared)."""
        return self.confidence is not None

    @property
    def missing_faces(self) -> tuple[int, ...]:
        """The sides (1, 2) given as images in which no face was found."""
        return tuple(i for i, f in ((1, self.face1), (2, self.face2)) if f is None)

    def is_same_person(self, level: str = "1e-4") -> bool | None:
        """``confidence >= thresholds[level]``; ``None`` when there was nothing to compare.

        Args:
            level: false-accept rate of the threshold: ``"1e-3"``, ``"1e-4"`` or ``"1e-5"``.
        """
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}. Received: level={level!r}")
        if self.confidence is None:
            return None
        return self.confidence >= self.thresholds[level]


@dataclass(frozen=True)
class PairScore:
    """Compare's answer for face ``index1`` of image 1 against face ``index2`` of image 2
    (0-based indexes into :attr:`AllPairs.faces1` / :attr:`AllPairs.faces2`)."""

    index1: int
    index2: int
    confidence: float
    thresholds: dict[str, float]

    def is_same_person(self, level: str = "1e-4") -> bool:
        """``confidence >= thresholds[level]`` with the thresholds of this pair's response."""
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}. Received: level={level!r}")
        return self.confidence >= self.thresholds[level]


@dataclass(frozen=True)
class AllPairs:
    """Every face of image 1 compared with every face of image 2.

    Example:
        >>> pairs = AllPairs([], [], [])
        >>> pairs.matrix(), pairs.best()
        ([], None)
    """

    faces1: list[Face]
    faces2: list[Face]
    pairs: list[PairScore] = field(default_factory=list)

    def matrix(self) -> list[list[float]]:
        """Confidences as rows of image-1 faces and columns of image-2 faces."""
        grid = [[float("nan")] * len(self.faces2) for _ in self.faces1]
        for p in self.pairs:
            grid[p.index1][p.index2] = p.confidence
        return grid

    def best(self) -> PairScore | None:
        """The most similar pair, or ``None`` when a side has no face."""
        return max(self.pairs, key=lambda p: p.confidence, default=None)


def parse_rectangle(data: Any, sx: float = 1.0, sy: float = 1.0) -> FaceRectangle:
    """A ``face_rectangle`` object mapped by ``(sx, sy)`` back to the caller's pixels."""
    try:
        rect = FaceRectangle(
            top=int(data["top"]),
            left=int(data["left"]),
            width=int(data["width"]),
            height=int(data["height"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad_response(f"face_rectangle is malformed: {data!r}") from exc
    return rect if (sx, sy) == (1.0, 1.0) else rect.scaled(sx, sy)


def parse_face(data: Any, sx: float = 1.0, sy: float = 1.0) -> Face:
    """One element of ``faces`` (Detect) or ``faces1``/``faces2`` (Compare)."""
    if not isinstance(data, dict) or "face_token" not in data:
        raise _bad_response(f"a face lacks face_token: {data!r}")
    attrs = data.get("attributes") or {}
    gender = (attrs.get("gender") or {}).get("value")
    age = (attrs.get("age") or {}).get("value")
    smile = attrs.get("smile") or {}
    return Face(
        token=str(data["face_token"]),
        rectangle=parse_rectangle(data.get("face_rectangle"), sx, sy),
        gender=gender,
        age=None if age is None else int(age),
        smile=None if smile.get("value") is None else float(smile["value"]),
        smile_threshold=None if smile.get("threshold") is None else float(smile["threshold"]),
    )


def parse_faces(body: dict, key: str = "faces", sx: float = 1.0, sy: float = 1.0) -> list[Face]:
    """All faces under ``key``, largest first (stable for equal sizes)."""
    faces = [parse_face(f, sx, sy) for f in body.get(key) or []]
    return sorted(faces, key=lambda f: -f.rectangle.area)


def parse_thresholds(body: dict) -> dict[str, float]:
    """The ``thresholds`` object as floats keyed ``"1e-3"``, ``"1e-4"``, ``"1e-5"``."""
    raw = body.get("thresholds") or {}
    try:
        return {level: float(raw[level]) for level in LEVELS}
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad_response(f"thresholds are malformed: {raw!r}") from exc


def parse_comparison(
    body: dict, scale1: tuple[float, float], scale2: tuple[float, float]
) -> Comparison:
    """A Compare response; a missing ``confidence`` means a side had no face (not an error)."""
    faces1 = parse_faces(body, "faces1", *scale1)
    faces2 = parse_faces(body, "faces2", *scale2)
    if body.get("confidence") is None:
        return Comparison(None, {}, faces1[0] if faces1 else None,
                          faces2[0] if faces2 else None, body.get("request_id"))
    return Comparison(
        confidence=float(body["confidence"]),
        thresholds=parse_thresholds(body),
        face1=faces1[0] if faces1 else None,
        face2=faces2[0] if faces2 else None,
        request_id=body.get("request_id"),
    )


def _bad_response(what: str) -> FaceppError:
    return FaceppError(200, f"unexpected response from Face++: {what}")
