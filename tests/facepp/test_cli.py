"""The CLI: golden output in both languages, JSON, exit statuses, --draw, progress, subprocess."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from minicnn.integrations.facepp import Client
from minicnn.integrations.facepp.cli import main

from .conftest import KEY, REPO, SECRET

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("FACEPP_UPDATE_GOLDEN") == "1"


def check_golden(name: str, text: str) -> None:
    """Compare with golden/<name> exactly (FACEPP_UPDATE_GOLDEN=1 rewrites it)."""
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"output differs from {path}"


@pytest.fixture
def run(server, faces_dir, monkeypatch):
    """Run main() in-process from the photos' folder; returns (status, stdout, stderr)."""
    monkeypatch.chdir(faces_dir)
    env = {"FACEPP_API_KEY": KEY, "FACEPP_API_SECRET": SECRET, "FACEPP_BASE_URL": server.url}

    def _run(*argv: str, environ: dict | None = None, stderr: io.StringIO | None = None):
        out, err = io.StringIO(), stderr or io.StringIO()
        status = main(list(argv), stdout=out, stderr=err, environ=env if environ is None
                      else environ)
        return status, out.getvalue(), err.getvalue()

    return _run


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_detect_golden(run, lang):
    status, out, err = run("detect", "obama_and_biden.jpg", "kit_with_rose.jpg", "--lang", lang)
    assert (status, err) == (0, "")
    check_golden(f"detect_{lang}.txt", out)


def test_detect_single_zh_matches_the_original_wording(run):
    status, out, _ = run("detect", "obama.jpg", "--lang", "zh")
    assert status == 0
    check_golden("detect_single_zh.txt", out)
    assert out.splitlines()[:3] == ["共检测到1张人脸", "第1个人的数据", "性别Male"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compare_golden(run, lang):
    status, out, _ = run("compare", "obama.jpg", "obama2.jpg", "--lang", lang)
    assert status == 0
    check_golden(f"compare_{lang}.txt", out)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compare_all_golden(run, lang):
    status, out, _ = run("compare", "two_people.jpg", "obama_and_biden.jpg", "--all",
                         "--lang", lang)
    assert status == 0
    check_golden(f"compare_all_{lang}.txt", out)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_compare_no_face_golden(run, tmp_path, blank, lang):
    blank.save(tmp_path / "blank.png")
    status, out, _ = run("compare", "obama.jpg", str(tmp_path / "blank.png"), "--lang", lang)
    assert status == 0
    check_golden(f"compare_noface_{lang}.txt", out)


def test_detect_json(run):
    status, out, _ = run("detect", "two_people.jpg", "--json")
    data = json.loads(out)
    assert status == 0 and data["images"][0]["image"] == "two_people.jpg"
    faces = data["images"][0]["faces"]
    assert data["images"][0]["face_num"] == 2 and faces[0]["gender"] == "Male"
    assert faces[0]["rectangle"] == {"top": 70, "left": 220, "width": 160, "height": 160}


def test_compare_json(run):
    _, out, _ = run("compare", "obama.jpg", "biden.jpg", "--json", "--level", "1e-5")
    data = json.loads(out)
    assert data["same_person"] is False and data["level"] == "1e-5"
    assert set(data["thresholds"]) == {"1e-3", "1e-4", "1e-5"}
    _, out, _ = run("compare", "two_people.jpg", "obama.jpg", "--all", "--json")
    pairs = json.loads(out)["pairs"]
    assert [p["same_person"] for p in pairs] == [True, False]


def test_api_error_is_one_line_and_status_1(run, server):
    env = {"FACEPP_API_KEY": KEY, "FACEPP_API_SECRET": "wrong", "FACEPP_BASE_URL": server.url}
    status, out, err = run("detect", "obama.jpg", environ=env)
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "HTTP 401" in err and "obama.jpg: AUTHENTICATION_ERROR" in err


def test_network_error_is_status_1(run):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"FACEPP_API_KEY": KEY, "FACEPP_API_SECRET": SECRET,
           "FACEPP_BASE_URL": f"http://127.0.0.1:{port}"}
    status, _, err = run("detect", "obama.jpg", "--retries", "0", environ=env)
    assert status == 1 and err.count("\n") == 1 and "cannot connect" in err


def test_missing_image_is_status_1(run):
    status, _, err = run("detect", "no-such-photo.jpg")
    assert status == 1 and "image file not found: no-such-photo.jpg" in err


def test_missing_keys_is_a_usage_error(run):
    status, out, err = run("detect", "obama.jpg", environ={})
    assert status == 2 and out == ""
    assert "FACEPP_API_KEY" in err and "FACEPP_API_SECRET" in err


@pytest.mark.parametrize("argv", [["detect"], ["detect", "x.jpg", "--lang", "fr"], ["nope"],
                                  ["compare", "a.jpg"]])
def test_bad_usage_is_status_2(run, argv):
    status, _, err = run(*argv)
    assert status == 2 and "usage:" in err


def test_flags_override_env(run, server):
    status, out, _ = run("detect", "obama_small.jpg", "--api-key", KEY, "--api-secret", SECRET,
                         "--base-url", server.url, environ={})
    assert status == 0 and out.startswith("Detected 1 face(s)")


def test_draw_one_and_many(run, tmp_path):
    status, _, _ = run("detect", "obama.jpg", "--draw", str(tmp_path / "one.png"))
    assert status == 0 and Image.open(tmp_path / "one.png").size == (910, 1137)
    status, _, _ = run("detect", "obama.jpg", "biden.jpg", "--draw", str(tmp_path / "many"))
    assert status == 0
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == [
        "biden.faces.png", "obama.faces.png"]


def test_progress_only_for_many_images_or_a_tty(run):
    _, _, err = run("detect", "obama_small.jpg", "obama_small.jpg")
    assert err == ""
    _, _, err = run("detect", *["obama_small.jpg"] * 10)
    assert err.splitlines()[-1] == "[############################] 10/10 obama_small.jpg"
    assert len(err.splitlines()) == 10

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    _, _, err = run("detect", "obama_small.jpg", "obama.jpg", stderr=Tty())
    assert err.startswith("\r\x1b[K[##############--------------] 1/2 obama_small.jpg")
    assert err.endswith("2/2 obama.jpg\n")


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEPP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def test_subprocess_detect(server, faces_dir):
    env = _subprocess_env(FACEPP_API_KEY=KEY, FACEPP_API_SECRET=SECRET,
                          FACEPP_BASE_URL=server.url, PYTHONIOENCODING="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "minicnn.integrations.facepp", "detect", "obama.jpg", "--lang",
         "zh"], cwd=faces_dir, env=env, capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8") == (GOLDEN / "detect_single_zh.txt").read_text("utf-8")
    assert SECRET.encode() not in proc.stdout + proc.stderr


def test_subprocess_serve(faces_dir):
    proc = subprocess.Popen(
        [sys.executable, "-m", "minicnn.integrations.facepp", "serve", "--port", "0"],
        env=_subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("Face++ stand-in listening on http://127.0.0.1:")
        url = first.split()[-1]
        rest = [proc.stdout.readline() for _ in range(4)]
        assert rest[1].strip() == f"export FACEPP_BASE_URL={url}"
        with Client("demo-key", "demo-secret", base_url=url) as client:
            assert len(client.detect(faces_dir / "two_people.jpg")) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if SIGINT was lost
            proc.kill()
            proc.wait()
    # once (2026-11-27, a fresh clone's first full run) the server had not exited 10 s after
    # SIGINT and was killed; not reproduced in 14 reruns, idle or under load: keep its stderr
    assert proc.returncode == 0, f"exit status {proc.returncode}; stderr: {proc.stderr.read()!r}"
    proc.stdout.close()
    proc.stderr.close()
