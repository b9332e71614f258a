"""docs/make_figures.py draws every figure from minicnn computations into a given folder."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FIGURES = ("conv_window.png", "pooling.png", "catdog_shapes.png", "activations.png", "gradcam.png",
           "gradcam-residual.png")


def _load_script():
    spec = importlib.util.spec_from_file_location("make_figures", REPO / "docs" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # about 5 s: matplotlib and a 128x128 forward pass
def test_make_figures_writes_nontrivial_pngs(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from PIL import Image

    script = _load_script()
    photos = {p: p.read_bytes() for p in script.GRADCAM_PHOTOS}
    assert script.main(["--out", str(tmp_path)]) == 0
    for photo, data in photos.items():  # figures go to --out only, never over their sources
        assert photo.read_bytes() == data, photo
    for name in FIGURES:
        path = tmp_path / name
        assert path.stat().st_size > 5_000, name
        with Image.open(path) as img:
            assert img.format == "PNG"
            assert img.width >= 400 and img.height >= 200, (name, img.size)
            pixels = np.asarray(img.convert("L"), dtype=np.float32)
        assert pixels.std() > 10, f"{name} is nearly blank"
        assert len(np.unique(pixels)) > 20, f"{name} has too few grey levels"
    assert "wrote" in capsys.readouterr().out


def test_committed_figures_exist():
    for name in FIGURES:
        assert (REPO / "docs" / "figures" / name).stat().st_size > 5_000, name


# Paths the docs may cite before they exist (none at present).
PENDING: set[str] = set()


@pytest.mark.parametrize("doc", ["architecture.md", "guide.md", "index.md", "tutorial.md"])
def test_cited_paths_exist(doc):
    import re

    path = REPO / "docs" / doc
    text = path.read_text(encoding="utf-8")
    cited = set(re.findall(r"`((?:minicnn|docs|examples|tests)/[\w./-]+)`", text))
    cited |= {"docs/" + m for m in re.findall(r"\]\(([\w-]+\.md)\)", text)}
    missing = sorted(p for p in cited
                     if not (REPO / p).exists() and p.rstrip("/") not in PENDING)
    assert not missing, f"docs/{doc} cites paths that do not exist: {missing}"
    assert len(cited) > 3
