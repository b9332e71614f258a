"""Fitting images to Face++'s limits, and mapping the boxes back."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from minicnn.integrations.facepp import FaceppError, FaceRectangle
from minicnn.integrations.facepp.images import MAX_BYTES, prepare


@pytest.fixture(scope="module")
def huge_jpeg(faces_dir) -> bytes:
    """obama-1080p.jpg blown up to 5000 px wide with mild noise: over 3 MB and 4096 px."""
    base = Image.open(faces_dir / "obama-1080p.jpg").convert("RGB").resize((5000, 2813))
    noise = np.random.default_rng(0).integers(-6, 7, (2813, 5000, 3), dtype=np.int16)
    noisy = np.clip(np.asarray(base, dtype=np.int16) + noise, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noisy).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    assert len(data) > 3_000_000
    return data


def test_big_image_is_fitted_and_boxes_mapped_back(client, server, huge_jpeg):
    (face,) = client.detect(huge_jpeg)
    name, ctype, size = server.requests[0].files["image_file"]
    assert (name, ctype) == ("fitted.jpg", "image/jpeg") and size <= MAX_BYTES
    # the annotated box (140, 855, 245, 245) at 1920x1080, scaled to 5000x2813 (±2 px rounding)
    expected = FaceRectangle(top=365, left=2227, width=638, height=638)
    for got, want in zip(
        (face.rectangle.top, face.rectangle.left, face.rectangle.width, face.rectangle.height),
        (expected.top, expected.left, expected.width, expected.height), strict=True,
    ):
        assert abs(got - want) <= 2


def test_prepare_keeps_aspect_and_limits(huge_jpeg):
    prepared = prepare(huge_jpeg)
    assert prepared.sent_size == (4096, 2304) and prepared.original_size == (5000, 2813)
    assert len(prepared.data) <= MAX_BYTES
    sx, sy = prepared.scale
    assert sx == pytest.approx(5000 / 4096) and sy == pytest.approx(2813 / 2304)


def test_small_image_is_refused_without_a_request(client, server):
    tiny = Image.new("RGB", (60, 40))
    with pytest.raises(FaceppError, match="60x40 px; Face\\+\\+ needs at least 48 px") as info:
        client.detect(tiny)
    assert info.value.status is None and info.value.code == "INVALID_IMAGE_SIZE"
    assert server.requests == []


@pytest.mark.parametrize("fmt", ["BMP", "GIF", "WEBP", "TIFF"])
def test_other_formats_are_reencoded(client, server, faces_dir, fmt):
    buf = io.BytesIO()
    Image.open(faces_dir / "obama_small.jpg").save(buf, fmt)
    (face,) = client.detect(buf.getvalue())
    _, ctype, _ = server.requests[0].files["image_file"]
    assert ctype in ("image/png", "image/jpeg")
    assert abs(face.rectangle.left - 97) <= 1 and abs(face.rectangle.top - 60) <= 1


def test_unreadable_bytes_are_a_clear_error(client, server):
    with pytest.raises(FaceppError, match="not an image Pillow can read"):
        client.detect(b"definitely not an image")
    assert server.requests == []


def test_files_within_limits_are_sent_unchanged(faces_dir):
    raw = (faces_dir / "obama.jpg").read_bytes()
    prepared = prepare(faces_dir / "obama.jpg")
    assert prepared.data == raw and prepared.scale == (1.0, 1.0)


def test_rgba_array_like_pil_is_flattened_on_white():
    rgba = Image.new("RGBA", (100, 100), (255, 0, 0, 0))
    prepared = prepare(rgba)
    sent = Image.open(io.BytesIO(prepared.data))
    assert sent.mode == "RGB" and sent.getpixel((50, 50)) == (255, 255, 255)
