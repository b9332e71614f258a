"""The api_secret never appears in a repr, an exception, a log line or CLI output."""

from __future__ import annotations

import io
import logging
import pickle
import socket

import pytest

from minicnn.integrations.facepp import Client, FaceppError
from minicnn.integrations.facepp.cli import main

from .conftest import KEY, SECRET


def test_repr_hides_secret(client):
    assert SECRET not in repr(client) and SECRET not in str(client)
    assert "api_secret='***'" in repr(client)
    assert SECRET not in repr(vars(client))  # not even under an obvious attribute name


def test_exceptions_and_logs_hide_secret(server, faces_dir, sleeps, caplog):
    caplog.set_level(logging.DEBUG)  # includes urllib3's and the client's debug lines
    server.api.inject("internal", times=1)
    with Client(KEY, SECRET, base_url=server.url, sleep=sleeps) as client:
        client.detect(faces_dir / "obama_small.jpg")  # one retry, logged
        bad = Client(KEY, SECRET, base_url=server.url + "/nope", sleep=sleeps)
        with pytest.raises(FaceppError) as info:
            bad.detect(faces_dir / "obama_small.jpg")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FaceppError) as net:
        Client(KEY, SECRET, base_url=f"http://127.0.0.1:{port}", max_retries=1,
               sleep=sleeps).detect(faces_dir / "obama_small.jpg")
    for err in (info.value, net.value):
        text = str(err) + repr(err) + repr(err.__cause__) + repr(err.__context__)
        assert SECRET not in text
        assert SECRET not in repr(pickle.loads(pickle.dumps(err)))
    assert "retry 1/3" in caplog.text  # something was logged...
    assert SECRET not in caplog.text  # ...and the secret was not


@pytest.mark.parametrize(
    "argv",
    [
        ["detect", "obama.jpg", "--json"],
        ["compare", "obama.jpg", "biden.jpg", "--all", "--json"],
        ["detect", "obama.jpg", "--api-secret", "wrong-" + SECRET],
        ["detect", "missing.jpg"],
    ],
)
def test_cli_output_hides_secret(server, faces_dir, monkeypatch, caplog, argv):
    caplog.set_level(logging.DEBUG)
    monkeypatch.chdir(faces_dir)
    out, err = io.StringIO(), io.StringIO()
    env = {"FACEPP_API_KEY": KEY, "FACEPP_API_SECRET": SECRET, "FACEPP_BASE_URL": server.url}
    main(argv, stdout=out, stderr=err, environ=env)
    assert out.getvalue() or err.getvalue()
    assert SECRET not in out.getvalue() + err.getvalue() + caplog.text
