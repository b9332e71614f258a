"""Turning the caller's image into bytes Face++ accepts, and remembering how to map boxes back.

Face++ takes JPEG or PNG files of at most 2 MB and 48–4096 px per side (contract §4). Anything
else is fitted here: decoded with Pillow, downscaled so the longer side is at most 4096 px and
re-encoded as JPEG (quality lowered, then size halved, until it is under 2 MB). The scale
factors let the client map the returned rectangles back to the caller's pixels.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from PIL import Image, UnidentifiedImageError

from .errors import FaceppError

if TYPE_CHECKING:
    import numpy as np

MAX_BYTES = 2_000_000  # "2 MB": the decimal reading, the safer side of the stand-in's 2 MiB
MIN_SIDE = 48
MAX_SIDE = 4096
SENT_FORMATS = ("JPEG", "PNG")
_QUALITIES = (90, 80, 70)
_PNG_MAX_PIXELS = 1_000_000  # try lossless PNG only where it can plausibly fit in 2 MB
_MAX_HALVINGS = 6  # bounds the fitting loop: 4096 px / 2**6 = 64 px

#: What the client accepts as an image.
ImageInput = Union[str, os.PathLike, bytes, bytearray, Image.Image, "np.ndarray"]


@dataclass(frozen=True)
class PreparedImage:
    """Bytes ready to upload plus the factors mapping the sent pixels to the caller's pixels.

    ``scale_x = original_width / sent_width`` (likewise ``scale_y``); 1.0 when sent unchanged.
    """

    data: bytes
    filename: str
    content_type: str
    original_size: tuple[int, int]
    sent_size: tuple[int, int]

    @property
    def scale(self) -> tuple[float, float]:
        """(scale_x, scale_y) from sent pixels to original pixels."""
        return (
            self.original_size[0] / self.sent_size[0],
            self.original_size[1] / self.sent_size[1],
        )


def open_image(image: ImageInput) -> Image.Image:
    """Any accepted image input as a Pillow image (paths and bytes are decoded lazily).

    Raises:
        FaceppError: the file is missing or is not an image Pillow can read.
        TypeError: ``image`` is of an unsupported type.
        ValueError: an array is not HxWx3 uint8.
    """
    if isinstance(image, Image.Image):
        return image
    if isinstance(image, (bytes, bytearray)):
        return _decode(bytes(image), "the image bytes")
    if isinstance(image, (str, os.PathLike)):
        return _decode(_read_file(Path(image)), str(image))
    if type(image).__module__ == "numpy" and hasattr(image, "shape"):
        return _from_array(image)
    raise TypeError(
        "image must be a path, bytes, a PIL.Image.Image or an HxWx3 uint8 numpy array. "
        f"Received: {type(image).__name__}"
    )


def prepare(image: ImageInput) -> PreparedImage:
    """Fit ``image`` to Face++'s limits without a request.

    Files and bytes already within the limits are sent byte for byte. Pillow images and
    arrays are encoded (PNG when that fits, else JPEG).

    Raises:
        FaceppError: the image is smaller than 48 px on a side (status ``None``), unreadable,
            or cannot be brought under 2 MB.

    Example:
        >>> import numpy as np
        >>> prepared = prepare(np.zeros((5000, 100, 3), np.uint8))  # too tall: scaled down
        >>> prepared.original_size, prepared.sent_size
        ((100, 5000), (82, 4096))
    """
    raw: bytes | None = None
    if isinstance(image, (bytes, bytearray)):
        raw = bytes(image)
    elif isinstance(image, (str, os.PathLike)):
        raw = _read_file(Path(image))
    pil = open_image(raw if raw is not None else image)
    size = pil.size
    _check_min_side(size, "the image")
    if raw is not None and _fits(raw, pil):
        name = "image.jpg" if pil.format == "JPEG" else "image.png"
        return PreparedImage(raw, name, _mime(pil.format), size, size)
    return _refit(pil)


def _refit(pil: Image.Image) -> PreparedImage:
    original = pil.size
    scale = min(1.0, MAX_SIDE / max(original))
    rgb = _to_rgb(pil)
    if scale == 1.0 and original[0] * original[1] <= _PNG_MAX_PIXELS:
        png = _encode(rgb, "PNG")
        if len(png) <= MAX_BYTES:
            return PreparedImage(png, "fitted.png", "image/png", original, rgb.size)
    for _ in range(_MAX_HALVINGS):
        target = (max(1, round(original[0] * scale)), max(1, round(original[1] * scale)))
        _check_min_side(target, "the image after downscaling to fit Face++'s limits")
        resized = rgb if target == rgb.size else rgb.resize(target, Image.Resampling.LANCZOS)
        for quality in _QUALITIES:
            data = _encode(resized, "JPEG", quality=quality)
            if len(data) <= MAX_BYTES:
                return PreparedImage(data, "fitted.jpg", "image/jpeg", original, target)
        scale /= 2
    raise FaceppError(None, f"IMAGE_FILE_TOO_LARGE: could not fit a {original} image under 2 MB")


def _fits(raw: bytes, pil: Image.Image) -> bool:
    return (
        len(raw) <= MAX_BYTES
        and pil.format in SENT_FORMATS
        and max(pil.size) <= MAX_SIDE
        and min(pil.size) >= MIN_SIDE
    )


def _check_min_side(size: tuple[int, int], what: str) -> None:
    if min(size) < MIN_SIDE:
        raise FaceppError(
            None,
            f"INVALID_IMAGE_SIZE: {what} is {size[0]}x{size[1]} px; Face++ needs at least "
            f"{MIN_SIDE} px on each side",
        )


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise FaceppError(None, f"image file not found: {path}") from exc
    except OSError as exc:
        raise FaceppError(None, f"cannot read image file {path}: {exc.strerror}") from exc


def _decode(raw: bytes, what: str) -> Image.Image:
    try:
        pil = Image.open(io.BytesIO(raw))
        pil.size  # noqa: B018 - header parsed; pixels stay lazy until needed
    except (UnidentifiedImageError, OSError) as exc:
        raise FaceppError(
            None, f"IMAGE_ERROR_UNSUPPORTED_FORMAT: {what} is not an image Pillow can read"
        ) from exc
    return pil


def _from_array(x: Any) -> Image.Image:
    if x.ndim != 3 or x.shape[2] != 3 or str(x.dtype) != "uint8":
        raise ValueError(
            "an image array must be HxWx3 uint8 (RGB). "
            f"Received: shape={tuple(x.shape)}, dtype={x.dtype}"
        )
    return Image.fromarray(x, "RGB")


def _to_rgb(pil: Image.Image) -> Image.Image:
    if pil.mode == "RGB":
        return pil
    if pil.mode in ("RGBA", "LA") or (pil.mode == "P" and "transparency" in pil.info):
        rgba = pil.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return pil.convert("RGB")


def _encode(pil: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    pil.save(buf, format=fmt, **options)
    return buf.getvalue()


def _mime(fmt: str) -> str:
    return "image/jpeg" if fmt == "JPEG" else "image/png"
