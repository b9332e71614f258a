"""docs/facepp.md's Python examples run as written against the stand-in server."""

from __future__ import annotations

import contextlib
import io
import re

from .conftest import KEY, REPO, SECRET

DOC = REPO / "docs" / "facepp.md"


def test_doc_examples_run(server, faces_dir, blank, tmp_path, monkeypatch):
    for photo in faces_dir.iterdir():
        (tmp_path / photo.name).symlink_to(photo)
    blank.save(tmp_path / "no_face.png")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACEPP_API_KEY", KEY)
    monkeypatch.setenv("FACEPP_API_SECRET", SECRET)
    monkeypatch.setenv("FACEPP_BASE_URL", server.url)
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - our own docs
    printed = out.getvalue().splitlines()
    assert printed[0] == "2 faces"
    assert "True" in printed and "None (2,) None" in printed
    assert "None IMAGE_ERROR_UNSUPPORTED_FORMAT" in printed
    assert (tmp_path / "boxes.png").exists()
    assert printed[-2:] == ["2", "gender,age,smiling"]
