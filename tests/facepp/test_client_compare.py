"""Client.compare and compare_all over real HTTP to the stand-in."""

from __future__ import annotations

import pytest

from minicnn.integrations.facepp import FaceRectangle

from .conftest import SECRET


def test_compare_sends_both_files_with_their_own_names(client, server, faces_dir):
    client.compare(faces_dir / "obama.jpg", faces_dir / "obama2.jpg")
    (req,) = server.requests
    assert req.path == "/facepp/v3/compare"
    assert set(req.files) == {"image_file1", "image_file2"}  # not two "image_file" fields
    assert req.fields["api_secret"] == SECRET


def test_same_person_scores_high(client, faces_dir):
    c = client.compare(faces_dir / "obama.jpg", faces_dir / "obama2.jpg")
    assert c.confidence > 80
    assert c.thresholds == {"1e-3": 62.327, "1e-4": 69.101, "1e-5": 73.975}
    assert all(c.is_same_person(level) for level in ("1e-3", "1e-4", "1e-5"))
    assert c.face1.rectangle == FaceRectangle(160, 355, 270, 270)
    assert c.face2.rectangle == FaceRectangle(300, 205, 300, 300)


def test_different_people_score_low(client, faces_dir):
    c = client.compare(faces_dir / "obama.jpg", faces_dir / "biden.jpg")
    assert c.confidence < c.thresholds["1e-3"]
    assert c.is_same_person() is False


def test_compare_uses_the_largest_face_of_each_side(client, faces_dir):
    # Biden's box is the larger one in obama_and_biden.jpg, so Obama is compared with Biden.
    c = client.compare(faces_dir / "obama.jpg", faces_dir / "obama_and_biden.jpg")
    assert c.face2.rectangle == FaceRectangle(430, 770, 200, 200)
    assert c.is_same_person() is False


def test_no_face_is_a_result_not_an_exception(client, faces_dir, blank):
    c = client.compare(faces_dir / "obama.jpg", blank)
    assert c.confidence is None and c.thresholds == {} and not c.has_faces
    assert c.face1 is not None and c.face2 is None
    assert c.missing_faces == (2,)
    assert c.is_same_person() is None


def test_compare_faces_by_token_is_urlencoded(client, server, faces_dir):
    (a,) = client.detect(faces_dir / "obama.jpg")
    (b,) = client.detect(faces_dir / "obama_small.jpg")
    c = client.compare(a, b)
    req = server.requests[-1]
    assert req.content_type == "application/x-www-form-urlencoded"
    assert req.fields["face_token1"] == a.token and req.fields["face_token2"] == b.token
    assert req.files == {}
    assert c.face1 == a and c.face2 == b and c.is_same_person("1e-5")


def test_compare_all_scores_every_pair(client, server, faces_dir):
    pairs = client.compare_all(faces_dir / "two_people.jpg", faces_dir / "obama_and_biden.jpg")
    assert [f.rectangle.left for f in pairs.faces1] == [220, 770]  # obama, biden
    assert [f.rectangle.left for f in pairs.faces2] == [770, 1125]  # biden, obama
    grid = pairs.matrix()
    assert grid[0][1] > 80 and grid[1][0] > 80  # same people across photos
    assert grid[0][0] < 60 and grid[1][1] < 60
    assert [(p.index1, p.index2) for p in pairs.pairs if p.is_same_person()] == [(0, 1), (1, 0)]
    assert len(server.requests) == 2 + 4


def test_compare_all_is_bounded(client, server, crowd, faces_dir):
    with pytest.raises(ValueError, match="7 x 2 face pairs exceed max_pairs=10"):
        client.compare_all(crowd, faces_dir / "two_people.jpg", max_pairs=10)
    assert len(server.requests) == 2  # the two detects, no compare


def test_is_same_person_rejects_unknown_level(client, faces_dir):
    c = client.compare(faces_dir / "obama.jpg", faces_dir / "obama2.jpg")
    with pytest.raises(ValueError, match="level must be one of 1e-3, 1e-4, 1e-5"):
        c.is_same_person("0.001")
