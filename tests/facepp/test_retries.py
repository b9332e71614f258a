"""Retry policy: each transient fault recovered, each final one surfaced after one request."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from PIL import Image

from minicnn.integrations.facepp import Backoff, Client, FaceppError

from .conftest import KEY, SECRET

RETRYABLE = ["concurrency", "internal", "bad_gateway", "unavailable", "gateway_timeout",
             "download_timeout"]


@pytest.mark.parametrize("kind", RETRYABLE)
def test_transient_fault_is_retried_with_backoff(client, server, sleeps, faces_dir, kind):
    server.api.inject(kind, times=2)
    faces = client.detect(faces_dir / "obama.jpg")
    assert len(faces) == 1
    assert [r.status for r in server.requests][-1] == 200 and len(server.requests) == 3
    # equal jitter: retry n waits within [w/2, w], w = min(cap, base * 2**n)
    assert len(sleeps.calls) == 2
    assert 0.5 <= sleeps.calls[0] <= 1.0 and 1.0 <= sleeps.calls[1] <= 2.0


def test_gives_up_after_max_retries(client, server, sleeps, faces_dir):
    server.api.inject("internal", times=10)
    with pytest.raises(FaceppError) as info:
        client.detect(faces_dir / "obama.jpg")
    assert info.value.status == 500 and info.value.error_message == "INTERNAL_ERROR"
    assert info.value.request_id and len(server.requests) == 4  # 1 + max_retries
    assert len(sleeps.calls) == 3 and sleeps.calls[2] <= 4.0


def test_backoff_is_capped():
    b = Backoff(base=1.0, cap=4.0, seed=1)
    assert all(2.0 <= b.delay(n) <= 4.0 for n in range(3, 12))


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("bad_secret", 401, "AUTHENTICATION_ERROR"),
        ("denied", 403, "AUTHORIZATION_ERROR"),
        ("bad_image", 400, "IMAGE_ERROR_UNSUPPORTED_FORMAT"),
        ("bad_path", 404, "API_NOT_FOUND"),
        ("injected_403", 403, "AUTHORIZATION_ERROR"),
    ],
)
def test_final_errors_are_not_retried(server, sleeps, faces_dir, setup, status, code):
    key, secret, base = KEY, SECRET, server.url
    if setup == "bad_secret":
        secret = "wrong"
    elif setup == "denied":
        key = "denied-key"
    elif setup == "bad_path":
        base = server.url + "/v2"
    elif setup == "injected_403":
        server.api.inject("denied")
    client = Client(key, secret, base_url=base, sleep=sleeps)
    image = faces_dir / "obama.jpg"
    if setup == "bad_image":
        # detect() would re-encode a GIF; post one directly to reach the server's check
        with pytest.raises(FaceppError) as info:
            client._post("detect", {}, {"image_file": _gif()})
    else:
        with pytest.raises(FaceppError) as info:
            client.detect(image)
    assert (info.value.status, info.value.code) == (status, code)
    assert len(server.requests) == 1 and sleeps.calls == []
    client.close()


def test_413_plain_text_is_surfaced_once(client, server, sleeps):
    with pytest.raises(FaceppError) as info:
        client._post("detect", {"padding": "x" * (3 * 1024 * 1024)}, {})
    assert info.value.status == 413 and info.value.error_message == "Request Entity Too Large"
    assert len(server.requests) == 1 and sleeps.calls == []


def test_timeout_is_retried(server, sleeps, faces_dir):
    server.api.slow(0.6)

    def sleep(seconds: float) -> None:  # record, and wait out the abandoned slow request
        sleeps(seconds)
        time.sleep(0.5)

    with Client(KEY, SECRET, base_url=server.url, timeout=0.3, sleep=sleep) as client:
        faces = client.detect(faces_dir / "obama_small.jpg")
    assert len(faces) == 1 and len(sleeps.calls) == 1


def test_connection_error_is_retried_then_surfaced(sleeps, faces_dir):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(KEY, SECRET, base_url=f"http://127.0.0.1:{port}", max_retries=2, sleep=sleeps)
    with pytest.raises(FaceppError, match="cannot connect") as info:
        client.detect(faces_dir / "obama_small.jpg")
    assert info.value.status is None and info.value.retryable
    assert len(sleeps.calls) == 2


def test_one_request_in_flight_per_client(server, faces_dir):
    """Threads sharing a client queue behind its one slot, so a 1-QPS key never sees 403."""
    server.api.slow(0.2, times=2)
    client = Client(KEY, SECRET, base_url=server.url, max_retries=0)
    errors: list[Exception] = []

    def call() -> None:
        try:
            client.detect(faces_dir / "obama_small.jpg")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert errors == [] and [r.status for r in server.requests] == [200, 200, 200]


def test_two_clients_hit_the_concurrency_limit_and_recover(server, faces_dir, sleeps):
    server.api.slow(0.3)
    slow_client = Client(KEY, SECRET, base_url=server.url, max_retries=0)
    thread = threading.Thread(target=slow_client.detect, args=(faces_dir / "obama_small.jpg",))
    thread.start()
    deadline = time.monotonic() + 5
    while not server.api._in_flight.get(KEY) and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until the slow request is in flight
    other = Client(KEY, SECRET, base_url=server.url, backoff=Backoff(0.2, 0.4), max_retries=3)
    faces = other.detect(faces_dir / "obama_small.jpg")
    thread.join(timeout=10)
    assert len(faces) == 1
    assert 403 in [r.status for r in server.requests]


def _gif():
    import io

    from minicnn.integrations.facepp.images import PreparedImage

    buf = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buf, "GIF")
    return PreparedImage(buf.getvalue(), "x.gif", "image/gif", (64, 64), (64, 64))
