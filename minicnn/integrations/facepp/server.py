"""The stand-in Face++ server: :class:`.standin.StandIn` behind a loopback HTTP server.

Example:
    >>> from minicnn.data import data_root
    >>> from minicnn.integrations.facepp import Client
    >>> with StandInServer() as server:  # accepts demo-key / demo-secret unless told otherwise
    ...     with Client("demo-key", "demo-secret", base_url=server.url) as client:
    ...         faces = client.detect(data_root() / "faces" / "obama.jpg")
    >>> len(faces), faces[0].gender, faces[0].age
    (1, 'Male', 51)
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .forms import FormField, parse_form, parse_query
from .standin import Reply, StandIn

log = logging.getLogger("minicnn.integrations.facepp.server")

#: Whole-request limit: a 2 MiB image plus room for the other form fields. Larger bodies get
#: the proxy's plain-text 413, as the real service does (its exact limit is unconfirmed).
MAX_BODY = 2 * 1024 * 1024 + 256 * 1024
_DRAIN_LIMIT = 16 * 1024 * 1024  # read (and drop) at most this much of an oversized body


@dataclass(frozen=True)
class RecordedRequest:
    """A request as the server received it, for tests to inspect.

    ``fields`` maps text field names to values (files excluded); ``files`` maps file field
    names to ``(filename, content_type, size in bytes)``.
    """

    method: str
    path: str
    content_type: str
    fields: dict[str, str]
    files: dict[str, tuple[str | None, str | None, int]]
    body_size: int
    status: int


class StandInServer:
    """A Face++ stand-in listening on 127.0.0.1 (port 0: any free port).

    Args:
        host: a loopback address; anything else is refused.
        port: the port, 0 for an ephemeral one.
        **options: passed to :class:`.standin.StandIn` (credentials, seed, concurrency, ...).

    Attributes:
        api: the :class:`.standin.StandIn` answering (use ``inject``/``slow``/``annotate``).
        requests: every request received, in order.

    Example:
        >>> from minicnn.data import data_root
        >>> from minicnn.integrations.facepp import Backoff, Client
        >>> with StandInServer(seed=0) as server:
        ...     server.api.inject("concurrency", times=2)  # the next two calls get 403
        ...     with Client("demo-key", "demo-secret", base_url=server.url,
        ...                 backoff=Backoff(base=0.0)) as c:  # retry at once
        ...         faces = c.detect(data_root() / "faces" / "obama.jpg")
        >>> [r.status for r in server.requests]
        [403, 403, 200]
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the stand-in only listens on loopback. Received: host={host!r}")
        self.api = StandIn(**options)
        self.requests: list[RecordedRequest] = []
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to give the client, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandInServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` or KeyboardInterrupt."""
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> StandInServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _make_handler(server: StandInServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self._serve("POST")

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            ctype = self.headers.get("Content-Type", "")
            if length > MAX_BODY:
                self._drain(length)
                self._record(method, parts.path, ctype, [], length, 413)
                self._send(413, "Request Entity Too Large", "text/plain")
                return
            body = self.rfile.read(length) if length else b""
            fields = parse_form(ctype, body) + parse_query(parts.query)
            if method != "POST":  # only POST routes exist
                reply = Reply(404, {"error_message": "API_NOT_FOUND"})
            else:
                reply = server.api.handle(parts.path, fields)
            self._record(method, parts.path, ctype, fields, length, reply.status)
            if isinstance(reply.body, str):
                self._send(reply.status, reply.body, "text/html")
            else:
                self._send(reply.status, json.dumps(reply.body), "application/json")

        def _drain(self, length: int) -> None:
            if length > _DRAIN_LIMIT:
                self.close_connection = True
                return
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)

        def _send(self, status: int, text: str, ctype: str) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", f"{ctype}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _record(
            self, method: str, path: str, ctype: str, fields: list[FormField], size: int,
            status: int,
        ) -> None:
            text = {f.name: f.text for f in fields if f.filename is None}
            files = {f.name: (f.filename, f.content_type, len(f.value))
                     for f in fields if f.filename is not None}
            server.requests.append(
                RecordedRequest(method, path, ctype, text, files, size, status)
            )

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            # Only the request line (never the body, which carries api_secret).
            log.info("%s - %s", self.address_string(), format % args)

    return Handler
