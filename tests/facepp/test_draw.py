"""draw() writes a copy of the photo with numbered boxes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from minicnn.integrations.facepp import Face, FaceRectangle, draw
from minicnn.integrations.facepp.draw import label


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_draw_changes_pixels_at_the_box_only(client, faces_dir, tmp_path, suffix):
    src = faces_dir / "two_people.jpg"
    faces = client.detect(src)
    out = draw(src, faces, tmp_path / f"boxes{suffix}")
    before = np.asarray(Image.open(src).convert("RGB"), dtype=np.int16)
    after = np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)
    assert after.shape == before.shape
    tolerance = 0 if suffix == ".png" else 3  # JPEG re-encoding moves pixels a little
    for f in faces:
        r = f.rectangle
        edge = (r.top + r.height, slice(r.left + 5, r.left + r.width - 5))  # the bottom side
        assert np.abs(after[edge] - before[edge]).max(axis=-1).mean() > 60
    far = (slice(600, 650), slice(500, 560))  # below both faces, between the people
    assert np.abs(after[far] - before[far]).mean() <= tolerance


def test_labels():
    f = Face("t", FaceRectangle(0, 0, 9, 9), "Male", 51, 97.5, 50.0)
    assert label(2, f) == "2 M 51 :)"
    assert label(7, Face("t", FaceRectangle(0, 0, 9, 9))) == "7"
