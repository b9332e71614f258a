"""Client.detect over real HTTP to the stand-in: what is sent and what is parsed."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from minicnn.integrations.facepp import Client, Face, FaceppError, FaceRectangle
from minicnn.integrations.facepp.client import resolve_base_url

from .conftest import KEY, SECRET


def test_detect_sends_multipart_image_file_and_attributes(client, server, faces_dir):
    client.detect(faces_dir / "obama.jpg")
    (req,) = server.requests
    assert req.path == "/facepp/v3/detect" and req.method == "POST"
    assert req.content_type.startswith("multipart/form-data; boundary=")
    assert req.fields == {"api_key": KEY, "api_secret": SECRET,
                          "return_attributes": "gender,age,smiling"}
    # the file is sent byte for byte when it already fits Face++'s limits
    raw = (faces_dir / "obama.jpg").read_bytes()
    assert req.files == {"image_file": ("image.jpg", "image/jpeg", len(raw))}


def test_detect_parses_faces_in_photo_pixels(client, faces_dir):
    (face,) = client.detect(faces_dir / "obama.jpg")
    assert re.fullmatch(r"[0-9a-f]{32}", face.token)
    assert face.rectangle == FaceRectangle(top=160, left=355, width=270, height=270)
    assert (face.gender, face.age, face.smile, face.smile_threshold) == ("Male", 51, 97.512, 50.0)
    assert face.smiling is True


def test_detect_two_faces_largest_first(client, faces_dir):
    faces = client.detect(faces_dir / "kit_with_rose.jpg")
    assert [f.gender for f in faces] == ["Female", "Male"]
    assert faces[0].rectangle.area >= faces[1].rectangle.area
    assert faces[1].smiling is False


@pytest.mark.parametrize("kind", ["path", "str", "bytes", "pil", "array"])
def test_detect_accepts_every_image_kind(client, faces_dir, kind):
    path = faces_dir / "two_people.jpg"
    image = {
        "path": path,
        "str": str(path),
        "bytes": path.read_bytes(),
        "pil": Image.open(path),
        "array": np.asarray(Image.open(path).convert("RGB")),
    }[kind]
    faces = client.detect(image)
    assert [f.rectangle.left for f in faces] == [220, 770]


def test_rgba_png_is_sent_as_is(client, server, faces_dir):
    (face,) = client.detect(faces_dir / "32bit.png")
    assert server.requests[0].files["image_file"][:2] == ("image.png", "image/png")
    assert face.rectangle == FaceRectangle(300, 205, 300, 300)


def test_only_five_largest_faces_have_attributes(client, crowd):
    faces = client.detect(crowd)
    assert [f.rectangle.width for f in faces] == [120, 100, 90, 70, 60, 50, 40]
    assert all(f.gender == "Female" and f.age is not None for f in faces[:5])
    assert all(f.gender is None and f.age is None and f.smile is None for f in faces[5:])


def test_no_attributes_sends_none(client, server, faces_dir):
    (face,) = client.detect(faces_dir / "obama_small.jpg", attributes=())
    assert server.requests[0].fields["return_attributes"] == "none"
    assert face.gender is None and face.rectangle == FaceRectangle(60, 97, 125, 125)


def test_unknown_attribute_is_refused_before_sending(client, server, faces_dir):
    with pytest.raises(ValueError, match="unknown Face\\+\\+ attributes \\['glass'\\]"):
        client.detect(faces_dir / "obama.jpg", attributes=("glass",))
    assert server.requests == []


def test_unknown_image_has_no_faces(client, blank):
    assert client.detect(blank) == []


def test_missing_file_is_a_clear_error(client, tmp_path):
    with pytest.raises(FaceppError, match="image file not found"):
        client.detect(tmp_path / "nope.jpg")


def test_bad_array_shape(client):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        client.detect(np.zeros((64, 64), dtype=np.uint8))


def test_regions_and_urls():
    assert resolve_base_url("us") == "https://api-us.faceplusplus.com"
    assert resolve_base_url("CN") == "https://api-cn.faceplusplus.com"
    assert resolve_base_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    with pytest.raises(ValueError, match="base_url"):
        resolve_base_url("http://api-us.faceplusplus.com")  # secrets never go out unencrypted


def test_from_env():
    c = Client.from_env({"FACEPP_API_KEY": "k", "FACEPP_API_SECRET": "s", "FACEPP_BASE_URL": "cn"})
    assert c.base_url == "https://api-cn.faceplusplus.com"
    assert Client.from_env({"FACEPP_API_KEY": "k", "FACEPP_API_SECRET": "s"}).base_url == (
        "https://api-us.faceplusplus.com"
    )
    with pytest.raises(FaceppError, match="FACEPP_API_KEY and FACEPP_API_SECRET"):
        Client.from_env({"FACEPP_API_KEY": "k"})


def test_results_are_plain_dataclasses():
    face = Face("t" * 32, FaceRectangle(1, 2, 3, 4), "Male", 30, 10.0, 50.0)
    assert face.rectangle.scaled(2.0, 0.5) == FaceRectangle(top=0, left=4, width=6, height=2)
    assert face.smiling is False
    buf = io.StringIO()
    print(face, file=buf)
    assert "Male" in buf.getvalue()
