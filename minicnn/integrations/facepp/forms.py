"""Parsing the two POST body encodings Face++ accepts (for the stand-in server)."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class FormField:
    """One form field: ``filename`` is set for uploaded files."""

    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None

    @property
    def text(self) -> str:
        """The value decoded as UTF-8 (undecodable bytes replaced)."""
        return self.value.decode("utf-8", errors="replace")


def parse_form(content_type: str, body: bytes) -> list[FormField]:
    """Fields of a ``multipart/form-data`` or ``application/x-www-form-urlencoded`` body.

    Any other content type yields no fields (the caller then reports the missing arguments).

    Example:
        >>> [f.text for f in parse_form("application/x-www-form-urlencoded", b"a=1&b=x+y")]
        ['1', 'x y']
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        return parse_query(body.decode("utf-8", errors="replace"))
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, body)
    return []


def parse_query(query: str) -> list[FormField]:
    """Fields of a urlencoded string (a body or a URL's query)."""
    return [FormField(k, v.encode()) for k, v in parse_qsl(query, keep_blank_values=True)]


def _parse_multipart(content_type: str, body: bytes) -> list[FormField]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return []
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        ctype = part.get_content_type() if part.get("content-type") else None
        fields.append(FormField(str(name), payload, filename, ctype))
    return fields
