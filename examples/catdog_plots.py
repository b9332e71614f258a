"""Pictures for examples/catdog.py: Grad-CAM overlays, a grid of predictions, training curves and
feature maps.

Overlays, grids and feature maps need only Pillow (a minicnn dependency); the curves need
matplotlib (the ``plot`` extra). The colour scale is the classic "jet" ramp (blue = no
evidence, red = the strongest), written out here so no plotting library is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: How much of the heat map shows over the photo (0 = photo only, 1 = map only).
ALPHA = 0.45


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def jet(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB on the jet ramp (dark blue, cyan, yellow, dark red).

    Example:
        >>> import numpy as np
        >>> jet(np.array([0.0, 0.5, 1.0])).tolist()
        [[0, 0, 128], [128, 255, 128], [128, 0, 0]]
    """
    v = np.clip(np.asarray(values, np.float64), 0, 1)[..., None]
    # each channel is a trapezoid, peaks centred at 0.75 (red), 0.5 (green), 0.25 (blue)
    rgb = np.clip(1.5 - np.abs(4 * v - np.array([3.0, 2.0, 1.0])), 0, 1)
    return np.round(255 * rgb).astype(np.uint8)


def overlay(photo: Image.Image, cam: np.ndarray, caption: str | None = None,
            colour: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """``photo`` with the Grad-CAM map ``cam`` (h, w in [0, 1]) upsampled bilinearly to its size,
    coloured on the jet ramp, blended in, and ``caption`` in the top-left corner."""
    photo = photo.convert("RGB")
    smooth = Image.fromarray(np.asarray(cam, np.float32), mode="F").resize(
        photo.size, Image.Resampling.BILINEAR)
    heat = Image.fromarray(jet(np.asarray(smooth)))
    out = Image.blend(photo, heat, ALPHA)
    if caption:
        draw = ImageDraw.Draw(out)
        font = _font(max(12, photo.size[1] // 14))
        left, top, right, bottom = draw.textbbox((6, 4), caption, font=font)
        draw.rectangle((0, 0, right + 6, bottom + 4), fill=(0, 0, 0))
        draw.text((6, 4), caption, fill=colour, font=font)
    return out


def prediction_grid(tiles: Sequence[tuple[Image.Image, bool]], path: Path, columns: int = 4,
                    title: str | None = None, cell: int = 200) -> Path:
    """Tiles (an overlay, whether its prediction is right) in a grid; a green frame marks a right
    prediction, a red one a wrong one; ``title`` in a band on top."""
    rows = -(-len(tiles) // columns)
    pad, band = 6, (34 if title else 0)
    grid = Image.new("RGB", (columns * (cell + pad) + pad, band + rows * (cell + pad) + pad),
                     (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    if title:
        draw.text((pad, 8), title, fill=(0, 0, 0), font=_font(18))
    for k, (tile, right) in enumerate(tiles):
        x = pad + (k % columns) * (cell + pad)
        y = band + pad + (k // columns) * (cell + pad)
        draw.rectangle((x - 3, y - 3, x + cell + 2, y + cell + 2),
                       fill=(40, 160, 60) if right else (210, 40, 40))
        grid.paste(tile.resize((cell, cell), Image.Resampling.BILINEAR), (x, y))
    grid.save(path)
    return Path(path)


def feature_grid(maps: Sequence[tuple[str, np.ndarray]], path: Path, max_maps: int = 32,
                 columns: int = 16, cell: int = 64) -> list[tuple[str, int, int, int]]:
    """One block per layer: its name, then up to ``max_maps`` of its maps (H, W, F), each scaled
    to its own range. A map that is zero everywhere (a ReLU that never fires on this image) is
    drawn as a red cross. Returns (name, maps drawn, maps in the layer, silent maps drawn)."""
    pad, label = 2, 20
    blocks = [(name, fmap[:, :, :max_maps], fmap.shape[2]) for name, fmap in maps]
    rows = [-(-f.shape[2] // columns) for _, f, _ in blocks]
    width = columns * (cell + pad)
    grid = Image.new("RGB", (width, sum(label + r * (cell + pad) for r in rows)), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    font = _font(14)
    summary = []
    y = 0
    for (name, fmap, total), nrows in zip(blocks, rows):
        count = fmap.shape[2]
        silent = [k for k in range(count) if not np.any(fmap[:, :, k] != 0)]
        text = (f"{name}: {count} of {total} maps" if count < total else f"{name}: {total} maps")
        if silent:
            text += f", {len(silent)} never fire (red cross)"
        draw.text((2, y + 3), text, fill=(0, 0, 0), font=font)
        y += label
        lo = fmap.min(axis=(0, 1), keepdims=True)
        hi = fmap.max(axis=(0, 1), keepdims=True)
        scaled = (255 * (fmap - lo) / np.maximum(hi - lo, 1e-6)).astype(np.uint8)
        for k in range(count):
            x0, y0 = (k % columns) * (cell + pad), y + (k // columns) * (cell + pad)
            tile = Image.fromarray(scaled[:, :, k]).resize((cell, cell), Image.Resampling.NEAREST)
            grid.paste(tile.convert("RGB"), (x0, y0))
            if k in silent:
                draw.line((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=(220, 0, 0), width=3)
                draw.line((x0, y0 + cell - 1, x0 + cell - 1, y0), fill=(220, 0, 0), width=3)
        y += nrows * (cell + pad)
        summary.append((name, count, total, len(silent)))
    grid.save(path)
    return summary


def plot_curves(history: dict, path: Path, title: str | None = None) -> bool:
    """Loss and accuracy per epoch, training and validation, with the 0.5 accuracy of guessing
    drawn as a chance line; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy")):
        ax.plot(epochs, history[key], "o-", label=f"training {key}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s-", label=f"validation {key}")
        if key == "accuracy":
            ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="chance (0.5)")
            ax.set_ylim(0, 1.02)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
