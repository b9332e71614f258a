"""Drawing numbered face boxes with short labels onto a copy of the photo."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from PIL import ImageDraw, ImageFont

from .images import ImageInput, _to_rgb, open_image
from .results import Face

_COLOURS = ((255, 64, 64), (64, 200, 64), (64, 128, 255), (255, 200, 0), (200, 64, 255))


def label(index: int, face: Face) -> str:
    """The short label drawn above a box: ``"1 M 51 :)"`` (number, gender, age, smiling).

    Example:
        >>> from minicnn.integrations.facepp.results import FaceRectangle
        >>> label(1, Face("t", FaceRectangle(0, 0, 9, 9), "Female", 25, 27.8, 50.0))
        '1 F 25'
    """
    parts = [str(index)]
    if face.gender:
        parts.append(face.gender[0])
    if face.age is not None:
        parts.append(str(face.age))
    if face.smiling:
        parts.append(":)")
    return " ".join(parts)


def draw(image: ImageInput, faces: Sequence[Face], path: str | os.PathLike) -> Path:
    """Write ``image`` with each face's box and label to ``path`` (format from the suffix).

    Args:
        image: the photo the faces were detected in (path, bytes, Pillow image or array).
        faces: faces whose rectangles are in that photo's pixels, e.g. from ``detect``.
        path: where to write, e.g. ``"out.png"`` or ``"out.jpg"``.

    Returns:
        The path written.

    Example:
        >>> import os, tempfile
        >>> from minicnn.data import data_root
        >>> from minicnn.integrations.facepp import Client
        >>> from minicnn.integrations.facepp.server import StandInServer
        >>> photo, out = data_root() / "faces" / "obama.jpg", tempfile.mkdtemp()
        >>> with StandInServer() as server:
        ...     with Client("demo-key", "demo-secret", base_url=server.url) as client:
        ...         written = draw(photo, client.detect(photo), os.path.join(out, "boxes.png"))
        >>> written.name, written.stat().st_size > 0
        ('boxes.png', True)
    """
    canvas = _to_rgb(open_image(image)).copy()
    pen = ImageDraw.Draw(canvas)
    line = max(2, round(min(canvas.size) / 250))
    font = _font(max(12, round(min(canvas.size) / 40)))
    for i, face in enumerate(faces, start=1):
        r = face.rectangle
        colour = _COLOURS[(i - 1) % len(_COLOURS)]
        pen.rectangle([r.left, r.top, r.left + r.width, r.top + r.height], outline=colour,
                      width=line)
        text = label(i, face)
        x0, y0, x1, y1 = pen.textbbox((0, 0), text, font=font)
        y = r.top - (y1 - y0) - 2 * line if r.top > (y1 - y0) + 2 * line else r.top + line
        pen.rectangle([r.left, y, r.left + (x1 - x0) + 2 * line, y + (y1 - y0) + 2 * line],
                      fill=colour)
        pen.text((r.left + line - x0, y + line - y0), text, fill=(0, 0, 0), font=font)
    out = Path(path)
    # quality only matters for JPEG; other writers ignore it
    canvas.save(out, quality=95)
    return out


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()
