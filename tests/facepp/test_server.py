"""The stand-in server on its own: envelope, precedence and each error response."""

from __future__ import annotations

import base64
import io
import re
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import requests
from PIL import Image

from minicnn.integrations.facepp.server import StandInServer

from .conftest import KEY, SECRET

AUTH = {"api_key": KEY, "api_secret": SECRET}
REQUEST_ID = re.compile(r"\d{10},[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}")


def post(server, api, data=None, files=None, **kwargs):
    return requests.post(f"{server.url}/facepp/v3/{api}", data=data, files=files, timeout=10,
                         **kwargs)


def png(size=(64, 64)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (128, 128, 128)).save(buf, "PNG")
    return buf.getvalue()


def test_detect_envelope(server, faces_dir):
    r = post(server, "detect", {**AUTH, "return_attributes": "gender,age,smiling"},
             {"image_file": (faces_dir / "obama_and_biden.jpg").read_bytes()})
    body = r.json()
    assert r.status_code == 200 and "error_message" not in body
    assert REQUEST_ID.fullmatch(body["request_id"]) and isinstance(body["time_used"], int)
    assert len(base64.b64decode(body["image_id"])) == 16
    assert body["face_num"] == len(body["faces"]) == 2
    first = body["faces"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", first["face_token"])
    assert first["face_rectangle"] == {"top": 430, "left": 770, "width": 200, "height": 200}
    assert first["attributes"] == {"gender": {"value": "Male"}, "age": {"value": 65},
                                   "smile": {"value": 99.104, "threshold": 50.0}}


def test_detect_urlencoded_base64(server, faces_dir):
    b64 = base64.b64encode((faces_dir / "obama_small.jpg").read_bytes()).decode()
    r = post(server, "detect", {**AUTH, "image_base64": b64})
    assert r.status_code == 200 and r.json()["face_num"] == 1
    assert "attributes" not in r.json()["faces"][0]  # none requested
    assert server.requests[0].content_type == "application/x-www-form-urlencoded"


def test_detect_precedence_file_over_base64_over_url(server, faces_dir):
    kit = base64.b64encode((faces_dir / "kit_with_rose.jpg").read_bytes()).decode()
    r = post(server, "detect", {**AUTH, "image_base64": kit, "image_url": "http://example.com/x"},
             {"image_file": (faces_dir / "obama.jpg").read_bytes()})
    assert r.json()["face_num"] == 1  # obama.jpg, not the two faces of kit_with_rose.jpg
    r = post(server, "detect", {**AUTH, "image_base64": kit, "image_url": "http://example.com/x"})
    assert r.json()["face_num"] == 2


def test_detect_image_url_from_loopback_only(server, faces_dir):
    handler = partial(SimpleHTTPRequestHandler, directory=str(faces_dir))
    handler.log_message = lambda *a: None
    files = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=files.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        url = f"http://127.0.0.1:{files.server_address[1]}/two_people.jpg"
        assert post(server, "detect", {**AUTH, "image_url": url}).json()["face_num"] == 2
    finally:
        files.shutdown()
        files.server_close()
        thread.join()
    r = post(server, "detect", {**AUTH, "image_url": "http://example.com/a.jpg"})
    assert (r.status_code, r.json()["error_message"]) == (400, "INVALID_IMAGE_URL: image_url")


def test_attributes_only_for_five_largest_unless_paid(server, crowd):
    buf = io.BytesIO()
    crowd.save(buf, "PNG")
    data = {"return_attributes": "gender", "calculate_all": "1"}
    r = post(server, "detect", {**AUTH, **data}, {"image_file": buf.getvalue()})
    assert (r.status_code, r.json()["error_message"]) == (
        403, "INSUFFICIENT_PERMISSION: calculate_all")
    r = post(server, "detect", {**AUTH, "return_attributes": "gender"},
             {"image_file": buf.getvalue()})
    assert ["attributes" in f for f in r.json()["faces"]] == [True] * 5 + [False] * 2
    paid = {"api_key": "paid-key", "api_secret": SECRET, **data}
    r = post(server, "detect", paid, {"image_file": buf.getvalue()})
    assert all("attributes" in f for f in r.json()["faces"])


def test_compare_envelope_and_largest_face(server, faces_dir):
    b64 = base64.b64encode((faces_dir / "two_people.jpg").read_bytes()).decode()
    r = post(server, "compare", {**AUTH, "image_base64_2": b64},
             {"image_file1": (faces_dir / "obama2.jpg").read_bytes()})
    body = r.json()
    assert r.status_code == 200
    assert set(body) == {"request_id", "time_used", "confidence", "thresholds", "image_id1",
                         "image_id2", "faces1", "faces2"}
    assert body["thresholds"] == {"1e-3": 62.327, "1e-4": 69.101, "1e-5": 73.975}
    assert body["faces2"][0]["face_rectangle"]["left"] == 220  # Obama's is the largest box
    assert body["confidence"] > 80
    assert set(body["faces2"][0]) == {"face_token", "face_rectangle"}


def test_compare_no_face_omits_confidence(server, faces_dir):
    r = post(server, "compare", {**AUTH},
             {"image_file1": (faces_dir / "obama.jpg").read_bytes(), "image_file2": png()})
    body = r.json()
    assert r.status_code == 200 and body["faces2"] == []
    assert "confidence" not in body and "thresholds" not in body


def test_compare_tokens_and_invalid_token(server, faces_dir):
    d = post(server, "detect", AUTH, {"image_file": (faces_dir / "biden.jpg").read_bytes()})
    token = d.json()["faces"][0]["face_token"]
    r = post(server, "compare", {**AUTH, "face_token1": token},
             {"image_file2": (faces_dir / "two_people.jpg").read_bytes()})
    assert "image_id1" not in r.json() and "faces1" not in r.json()
    assert r.json()["confidence"] < 60  # biden vs the largest face, Obama's
    bad = "0" * 32
    r = post(server, "compare", {**AUTH, "face_token1": bad, "face_token2": token})
    assert (r.status_code, r.json()["error_message"]) == (400, f"INVALID_FACE_TOKEN: {bad}")


@pytest.mark.parametrize(
    ("api", "data", "files", "status", "message"),
    [
        ("detect", {}, {"image_file": png()}, 400, "MISSING_ARGUMENTS: api_key"),
        ("detect", AUTH, None, 400, "MISSING_ARGUMENTS: image_url, image_file, image_base64"),
        ("compare", AUTH, {"image_file": png(), "image_file2": png()}, 400,
         "MISSING_ARGUMENTS: face_token1, image_url1, image_base64_1, image_file1"),
        ("detect", {**AUTH, "return_attributes": "glass"}, {"image_file": png()}, 400,
         "BAD_ARGUMENTS: return_attributes"),
        ("detect", {**AUTH, "return_landmark": "3"}, {"image_file": png()}, 400,
         "BAD_ARGUMENTS: return_landmark"),
        ("detect", AUTH, {"image_file": b"GIF89a not really"}, 400,
         "IMAGE_ERROR_UNSUPPORTED_FORMAT: image_file"),
        ("detect", {**AUTH, "image_base64": "***"}, None, 400,
         "IMAGE_ERROR_UNSUPPORTED_FORMAT: image_base64"),
        ("detect", AUTH, {"image_file": png((47, 100))}, 400, "INVALID_IMAGE_SIZE: image_file"),
        ("detect", AUTH, {"image_file": png((4097, 48))}, 400, "INVALID_IMAGE_SIZE: image_file"),
        ("detect", AUTH, {"image_file": b"\xff" * (2 * 1024 * 1024 + 1)}, 400,
         "IMAGE_FILE_TOO_LARGE: image_file"),
        ("compare", {**AUTH, "image_base64_1": base64.b64encode(png((30, 30))).decode()},
         {"image_file2": png()}, 400, "INVALID_IMAGE_SIZE: image_base64_1"),
        ("detect", {"api_key": KEY, "api_secret": "nope"}, {"image_file": png()}, 401,
         "AUTHENTICATION_ERROR"),
        ("detect", {**AUTH, "face_rectangle": "1,2,3,4"}, {"image_file": png()}, 403,
         "INSUFFICIENT_PERMISSION: face_rectangle"),
    ],
)
def test_error_responses(server, api, data, files, status, message):
    r = post(server, api, data, files)
    body = r.json()
    assert (r.status_code, body["error_message"]) == (status, message)
    assert REQUEST_ID.fullmatch(body["request_id"]) and isinstance(body["time_used"], int)


def test_denied_key_has_no_envelope(server):
    r = post(server, "detect", {"api_key": "denied-key", "api_secret": SECRET},
             {"image_file": png()})
    denied = {"error_message": "AUTHORIZATION_ERROR:Denied by Admin"}
    assert (r.status_code, r.json()) == (403, denied)


def test_unknown_api_is_404_without_envelope(server):
    r = requests.post(f"{server.url}/facepp/v3/search", data=AUTH, timeout=10)
    assert (r.status_code, r.json()) == (404, {"error_message": "API_NOT_FOUND"})
    r = requests.get(f"{server.url}/facepp/v3/detect", timeout=10)
    assert r.status_code == 404


def test_oversized_body_is_413_plain_text(server):
    r = post(server, "detect", AUTH, {"image_file": b"\0" * (3 * 1024 * 1024)})
    assert r.status_code == 413 and r.headers["Content-Type"].startswith("text/plain")
    assert r.text == "Request Entity Too Large"


@pytest.mark.parametrize(
    ("kind", "status", "json_body"),
    [("concurrency", 403, True), ("internal", 500, True), ("bad_gateway", 502, False),
     ("unavailable", 503, False), ("gateway_timeout", 504, False),
     ("download_timeout", 412, True)],
)
def test_injected_faults_hit_the_next_requests_only(server, kind, status, json_body):
    server.api.inject(kind, times=2)
    codes = [post(server, "detect", AUTH, {"image_file": png()}) for _ in range(3)]
    assert [r.status_code for r in codes] == [status, status, 200]
    if json_body:
        assert "error_message" in codes[0].json()
    else:
        assert codes[0].headers["Content-Type"].startswith("text/html")


def test_concurrency_limit_per_key(server):
    server.api.slow(0.3)
    first = threading.Thread(target=post, args=(server, "detect", AUTH, {"image_file": png()}))
    first.start()
    deadline = time.monotonic() + 5
    while not server.api._in_flight.get(KEY) and time.monotonic() < deadline:
        time.sleep(0.01)
    r = post(server, "detect", AUTH, {"image_file": png()})
    first.join()
    assert (r.status_code, r.json()["error_message"]) == (403, "CONCURRENCY_LIMIT_EXCEEDED")


def test_downscaled_copy_still_finds_the_faces(server, faces_dir):
    small = Image.open(faces_dir / "obama_and_biden.jpg").resize((500, 357))
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=70)
    faces = post(server, "detect", AUTH, {"image_file": buf.getvalue()}).json()["faces"]
    assert [f["face_rectangle"]["left"] for f in faces] == [192, 281]  # 770/4, 1125/4


def test_only_loopback():
    with pytest.raises(ValueError, match="loopback"):
        StandInServer(host="0.0.0.0")


def test_every_shared_photo_is_known(server, faces_dir):
    counts = {}
    for path in sorted(faces_dir.iterdir()):
        r = post(server, "detect", AUTH, {"image_file": path.read_bytes()})
        counts[path.name] = r.json()["face_num"]
    assert counts == {
        "32bit.png": 1, "biden.jpg": 1, "kit_with_rose.jpg": 2, "obama-1080p.jpg": 1,
        "obama.jpg": 1, "obama2.jpg": 1, "obama_and_biden.jpg": 2,
        "obama_partial_face.jpg": 1, "obama_small.jpg": 1, "two_people.jpg": 2,
    }
    noise = np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, "PNG")
    assert post(server, "detect", AUTH, {"image_file": buf.getvalue()}).json()["faces"] == []
