"""The Face++ v3 client: Detect, Compare and every-pair Compare over HTTPS."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from .errors import FaceppError
from .images import ImageInput, PreparedImage, prepare
from .results import (
    AllPairs,
    Comparison,
    Face,
    PairScore,
    parse_comparison,
    parse_faces,
    parse_thresholds,
)
from .retry import Backoff

log = logging.getLogger("minicnn.integrations.facepp")

#: Region names accepted for ``base_url`` (a key works only on the host of its console).
HOSTS = {
    "us": "https://api-us.faceplusplus.com",
    "intl": "https://api-us.faceplusplus.com",
    "cn": "https://api-cn.faceplusplus.com",
    "china": "https://api-cn.faceplusplus.com",
}
DEFAULT_BASE_URL = HOSTS["us"]

#: Attribute names Detect accepts in ``return_attributes`` (contract §1.3).
ATTRIBUTES = frozenset(
    "gender age smiling headpose facequality blur eyestatus emotion ethnicity beauty "
    "mouthstatus eyegaze skinstatus".split()
)
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def resolve_base_url(base_url: str) -> str:
    """``"us"``/``"cn"`` (or a full URL) as the service root without a trailing slash.

    Plain ``http://`` is accepted only for loopback hosts (the stand-in server), so the
    credentials never travel unencrypted.

    Example:
        >>> resolve_base_url("cn")
        'https://api-cn.faceplusplus.com'
    """
    name = base_url.strip()
    if name.lower() in HOSTS:
        return HOSTS[name.lower()]
    parts = urlsplit(name)
    if parts.scheme == "https" and parts.hostname:
        return name.rstrip("/")
    if parts.scheme == "http" and parts.hostname in _LOOPBACK:
        return name.rstrip("/")
    raise ValueError(
        "base_url must be 'us', 'cn', an https:// URL, or an http:// URL on 127.0.0.1/localhost. "
        f"Received: base_url={base_url!r}"
    )


class Client:
    """A thin client for Face++ v3 Detect and Compare.

    Args:
        api_key: the key from the Face++ console.
        api_secret: its secret; never shown in reprs, logs or errors.
        base_url: ``"us"`` (international, default), ``"cn"`` (China), or a URL.
        timeout: seconds to wait for each HTTP response.
        max_retries: extra attempts after a transient failure (contract §5.4).
        backoff: the delay policy between attempts.
        max_in_flight: requests this client may have open at once (free keys allow about one).
        sleep: the function used to wait (tests pass a recorder).

    Example:
        >>> from minicnn.data import data_root
        >>> from minicnn.integrations.facepp.server import StandInServer
        >>> with StandInServer() as server:  # offline stand-in; for the service: base_url="us"
        ...     with Client("demo-key", "demo-secret", base_url=server.url) as client:
        ...         faces = client.detect(data_root() / "faces" / "obama.jpg")
        >>> faces[0].gender, faces[0].rectangle.top
        ('Male', 160)
    """

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        max_retries: int = 3,
        *,
        backoff: Backoff | None = None,
        max_in_flight: int = 1,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key or not api_secret:
            raise ValueError("api_key and api_secret must be non-empty strings")
        if max_retries < 0 or max_in_flight < 1 or timeout <= 0:
            raise ValueError(
                "expected max_retries >= 0, max_in_flight >= 1 and timeout > 0. Received: "
                f"max_retries={max_retries}, max_in_flight={max_in_flight}, timeout={timeout}"
            )
        self.api_key = api_key
        self._secret = _Secret(api_secret)
        self.base_url = resolve_base_url(base_url)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._session: Any = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> Client:
        """A client from ``FACEPP_API_KEY``, ``FACEPP_API_SECRET`` and ``FACEPP_BASE_URL``.

        Raises:
            FaceppError: a key variable is missing or empty (status ``None``).

        Example:
            >>> Client.from_env({"FACEPP_API_KEY": "k", "FACEPP_API_SECRET": "s"}).base_url
            'https://api-us.faceplusplus.com'
        """
        env = os.environ if environ is None else environ
        key, secret = env.get("FACEPP_API_KEY", ""), env.get("FACEPP_API_SECRET", "")
        if not key or not secret:
            raise FaceppError(
                None, "missing credentials: set FACEPP_API_KEY and FACEPP_API_SECRET"
            )
        kwargs.setdefault("base_url", env.get("FACEPP_BASE_URL") or DEFAULT_BASE_URL)
        return cls(key, secret, **kwargs)

    def __repr__(self) -> str:
        return f"Client(api_key={self.api_key!r}, api_secret='***', base_url={self.base_url!r})"

    def close(self) -> None:
        """Close the pooled HTTP connections."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- API calls -------------------------------------------------------------------------

    def detect(
        self, image: ImageInput, attributes: Iterable[str] = ("gender", "age", "smiling")
    ) -> list[Face]:
        """Every face in ``image``, largest first, boxes in the caller's pixels.

        Args:
            image: a path, bytes, a Pillow image or an HxWx3 uint8 array.
            attributes: Detect attribute names (``"smiling"`` comes back as ``smile``);
                empty for boxes only.

        Raises:
            FaceppError: the service refused the call, or the image is unusable.

        Example:
            >>> from minicnn.data import data_root
            >>> from minicnn.integrations.facepp.server import StandInServer
            >>> with StandInServer() as server:
            ...     with Client("demo-key", "demo-secret", base_url=server.url) as client:
            ...         faces = client.detect(data_root() / "faces" / "two_people.jpg")
            >>> [f.age for f in faces]
            [49, 68]
        """
        names = list(attributes)
        unknown = sorted(set(names) - ATTRIBUTES)
        if unknown:
            raise ValueError(
                f"unknown Face++ attributes {unknown}; expected some of {sorted(ATTRIBUTES)}"
            )
        prepared = prepare(image)
        fields = {"return_attributes": ",".join(names) if names else "none"}
        body = self._post("detect", fields, {"image_file": prepared})
        return parse_faces(body, "faces", *prepared.scale)

    def compare(self, image1: ImageInput | Face, image2: ImageInput | Face) -> Comparison:
        """Compare the largest face of each side (Face++ picks it; see docs/facepp.md).

        A side may also be a :class:`Face` from :meth:`detect` (sent as its face_token).
        When a side has no face the result has ``confidence=None`` instead of raising.

        Example:
            >>> from minicnn.data import data_root
            >>> from minicnn.integrations.facepp.server import StandInServer
            >>> photos = data_root() / "faces"
            >>> with StandInServer() as server:
            ...     with Client("demo-key", "demo-secret", base_url=server.url) as client:
            ...         c = client.compare(photos / "obama.jpg", photos / "obama2.jpg")
            >>> c.confidence, c.is_same_person("1e-4")
            (87.624, True)
        """
        fields: dict[str, str] = {}
        files: dict[str, PreparedImage] = {}
        scales = []
        for side, image in ((1, image1), (2, image2)):
            if isinstance(image, Face):
                fields[f"face_token{side}"] = image.token
                scales.append((1.0, 1.0))
            else:
                prepared = prepare(image)
                files[f"image_file{side}"] = prepared
                scales.append(prepared.scale)
        body = self._post("compare", fields, files)
        result = parse_comparison(body, scales[0], scales[1])
        if isinstance(image1, Face):
            result = replace(result, face1=image1)
        if isinstance(image2, Face):
            result = replace(result, face2=image2)
        return result

    def compare_all(
        self,
        image1: ImageInput,
        image2: ImageInput,
        attributes: Iterable[str] = ("gender", "age", "smiling"),
        max_pairs: int = 100,
    ) -> AllPairs:
        """Detect both images, then Compare every face pair by face_token.

        This answers "how similar is each face in photo 1 to each in photo 2", which a single
        Compare (largest face only) cannot. It costs ``2 + n1 * n2`` requests.

        Args:
            max_pairs: refuse (``ValueError``) before comparing more pairs than this.

        Example:
            >>> from minicnn.data import data_root
            >>> from minicnn.integrations.facepp.server import StandInServer
            >>> photos = data_root() / "faces"
            >>> with StandInServer() as server:
            ...     with Client("demo-key", "demo-secret", base_url=server.url) as client:
            ...         pairs = client.compare_all(photos / "kit_with_rose.jpg",
            ...                                    photos / "obama.jpg")
            >>> len(pairs.pairs), pairs.best().is_same_person()
            (2, False)
        """
        faces1 = self.detect(image1, attributes)
        faces2 = self.detect(image2, attributes)
        if len(faces1) * len(faces2) > max_pairs:
            raise ValueError(
                f"{len(faces1)} x {len(faces2)} face pairs exceed max_pairs={max_pairs}; "
                "raise max_pairs to compare them all"
            )
        pairs = []
        for i, a in enumerate(faces1):
            for j, b in enumerate(faces2):
                body = self._post("compare", {"face_token1": a.token, "face_token2": b.token}, {})
                if body.get("confidence") is None:
                    raise FaceppError(200, "unexpected response from Face++: no confidence "
                                      "for a face_token pair", body.get("request_id"))
                pairs.append(PairScore(i, j, float(body["confidence"]), parse_thresholds(body)))
        return AllPairs(faces1, faces2, pairs)

    # -- transport ---------------------------------------------------------------------------

    def _post(
        self, api: str, fields: dict[str, str], files: Mapping[str, PreparedImage]
    ) -> dict:
        """POST with retries; returns the JSON body of a 2xx answer."""
        url = f"{self.base_url}/facepp/v3/{api}"
        attempt = 0
        while True:
            try:
                with self._slots:
                    return self._post_once(url, api, fields, files)
            except FaceppError as err:
                if not err.retryable or attempt >= self.max_retries:
                    log.info("Face++ %s failed: %s", api, err)
                    raise
                wait = self.backoff.delay(attempt)
                attempt += 1
                log.info(
                    "Face++ %s: %s; retry %d/%d in %.2fs",
                    api, err.error_message, attempt, self.max_retries, wait,
                )
                self._sleep(wait)

    def _post_once(
        self, url: str, api: str, fields: dict[str, str], files: Mapping[str, PreparedImage]
    ) -> dict:
        requests = _requests()
        data = {"api_key": self.api_key, "api_secret": self._secret.reveal(), **fields}
        upload = {k: (p.filename, p.data, p.content_type) for k, p in files.items()}
        started = time.monotonic()
        try:
            # multipart when there is a file, urlencoded otherwise; TLS is always verified.
            resp = self._http().post(
                url, data=data, files=upload or None, timeout=self.timeout, verify=True
            )
        except requests.Timeout:
            raise FaceppError(None, f"timed out after {self.timeout}s calling {api}",
                              retryable=True) from None
        except requests.ConnectionError:
            raise FaceppError(None, f"cannot connect to {self.base_url} ({api})",
                              retryable=True) from None
        except requests.RequestException as exc:
            raise FaceppError(None, f"HTTP error calling {api}: {type(exc).__name__}") from None
        log.debug("POST %s -> %d in %.3fs", url, resp.status_code, time.monotonic() - started)
        body = _json_or_none(resp)
        if 200 <= resp.status_code < 300 and isinstance(body, dict):
            return body
        if isinstance(body, dict) and body.get("error_message"):
            raise FaceppError(resp.status_code, str(body["error_message"]), body.get("request_id"))
        text = (resp.text or "").strip().splitlines()
        reason = text[0][:200] if text else (resp.reason or "no body")
        raise FaceppError(resp.status_code, reason)

    def _http(self) -> Any:
        if self._session is None:
            self._session = _requests().Session()
        return self._session


class _Secret:
    """Holds the api_secret so that reprs, ``vars()`` dumps and traceback locals show ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __reduce__(self):  # pickling would write the secret out; refuse
        raise TypeError("the Face++ api_secret cannot be pickled")


def _json_or_none(resp: Any) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _requests() -> Any:
    try:
        import requests
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the Face++ client needs 'requests': pip install 'minicnn[facepp]'"
        ) from exc
    return requests
