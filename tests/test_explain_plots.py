"""examples/catdog_plots.py: the colour ramp, overlays, prediction grids and feature grids."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import catdog_plots  # noqa: E402


def test_jet_runs_from_blue_to_red_through_green():
    ramp = catdog_plots.jet(np.linspace(0, 1, 5)).astype(int)
    assert ramp[0].tolist() == [0, 0, 128] and ramp[-1].tolist() == [128, 0, 0]
    assert ramp[2].tolist() == [128, 255, 128]
    assert np.array_equal(catdog_plots.jet(np.array([-1.0, 2.0])), catdog_plots.jet(
        np.array([0.0, 1.0])))  # clipped


def test_overlay_is_photo_sized_and_smooth():
    photo = Image.new("RGB", (60, 40), (128, 128, 128))
    cam = np.array([[0.0, 1.0], [0.0, 0.0]], np.float32)
    out = np.asarray(catdog_plots.overlay(photo, cam, caption=None))
    assert out.shape == (40, 60, 3)
    # bilinear: the red channel rises steadily from left to right along the top rows
    row = out[12, :, 0].astype(int)
    assert row[-5] > row[30] > row[5]
    assert len(np.unique(row)) > 5  # a ramp, not the two blocks of nearest-neighbour
    captioned = np.asarray(catdog_plots.overlay(photo, cam, caption="dog 0.97"))
    assert (captioned[:5, :5] == 0).all()  # the caption's black box in the corner


def test_feature_grid_counts_and_marks_silent_maps(tmp_path):
    rng = np.random.default_rng(0)
    first = rng.uniform(0, 1, (6, 6, 4)).astype(np.float32)
    first[:, :, 1] = 0  # never fires
    second = rng.uniform(0, 1, (3, 3, 40)).astype(np.float32)
    second[:, :, 35] = 0  # silent but not drawn (past max_maps)
    summary = catdog_plots.feature_grid([("a", first), ("b", second)], tmp_path / "f.png",
                                        max_maps=32)
    assert summary == [("a", 4, 4, 1), ("b", 32, 40, 0)]
    grid = np.asarray(Image.open(tmp_path / "f.png"))
    tile = grid[20:20 + 64, 66:66 + 64]  # map 1 of layer a: below the label, second column
    assert (tile[..., 0] > 200).any() and ((tile[..., 0] > 200) & (tile[..., 1] < 50)).any()


def test_prediction_grid_frames_right_and_wrong(tmp_path):
    tiles = [(Image.new("RGB", (50, 50), (0, 0, 255)), True),
             (Image.new("RGB", (50, 50), (0, 0, 255)), False)]
    path = catdog_plots.prediction_grid(tiles, tmp_path / "g.png", columns=2, cell=50)
    grid = np.asarray(Image.open(path))
    assert grid.shape == (50 + 12, 2 * 56 + 6, 3)
    assert grid[6 - 2, 6 + 25].tolist() == [40, 160, 60]  # green frame above the first
    assert grid[6 - 2, 62 + 25].tolist() == [210, 40, 40]  # red above the second


def test_curves_write_a_png(tmp_path):
    history = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.7]}
    assert catdog_plots.plot_curves(history, tmp_path / "c.png", title="t")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
