"""Draw the tutorial's figures from real minicnn computations.

    python docs/make_figures.py                 # writes docs/figures/*.png
    python docs/make_figures.py --out /tmp/figs

Every number drawn is computed by minicnn layers (the same examples as docs/tutorial.md):

- ``conv_window.png``: a 2×2 kernel sliding over a 4×4 image, and the outputs it writes.
- ``pooling.png``: 2×2 max pooling and average pooling of one 4×4 grid.
- ``catdog_shapes.png``: the cat-dog network's output shape after every layer (128×128 input).
- ``activations.png``: a cat from ``examples/data/catdog_small`` and its activation maps after
  the first two conv layers, from the pretrained ``examples/weights/catdog.npz`` when that file
  exists, otherwise from a freshly initialised network seeded with ``minicnn.set_seed(0)``
  (the figure says which).
- ``gradcam.png``: Grad-CAM (``minicnn.explain.grad_cam``) of the pretrained model on the first
  two cats and the first two dogs of the bundled held-out photos, overlaid as
  ``examples/catdog.py explain`` draws them (``examples/catdog_plots.py``).
- ``gradcam-residual.png``: the same for the shipped residual network
  (``examples/weights/catdog_residual.npz``), when it is there.

Needs matplotlib (the ``plot`` extra). Rerun it after the shipped model changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

import minicnn as mc  # noqa: E402
from minicnn.data import load_image  # noqa: E402
from minicnn.models import catdog_network  # noqa: E402

CAT = ROOT / "examples" / "data" / "catdog_small" / "test_set" / "cats" / "cat.4001.jpg"
PRETRAINED = ROOT / "examples" / "weights" / "catdog.npz"

IMAGE = np.array([[1, 1, 1, 0],
                  [0, 0, 1, 1],
                  [1, 0, 1, 0],
                  [0, 1, 0, 1]], dtype=np.float32)
KERNEL = np.array([[1, 1],
                   [0, 1]], dtype=np.float32)
GRID = np.array([[1, 3, 2, 1],
                 [4, 2, 0, 1],
                 [1, 1, 5, 6],
                 [0, 2, 7, 3]], dtype=np.float32)


def _layer_output(layer, x: np.ndarray, weights=None) -> np.ndarray:
    """Run one layer on one (H, W) grey image; ``weights`` replace its initial ones."""
    batch = x.reshape(1, *x.shape, 1)
    layer(batch)  # builds the weights
    if weights is not None:
        layer.set_weights(weights)
    return layer(batch).numpy()[0, :, :, 0]


def _draw_grid(ax, values: np.ndarray, title: str, fmt: str = "{:g}", cmap: str = "Blues",
               vmax: float | None = None, hide: np.ndarray | None = None) -> None:
    shown = np.ma.masked_array(values, mask=hide) if hide is not None else values
    ax.imshow(shown, cmap=cmap, vmin=0, vmax=vmax if vmax is not None else values.max() * 1.6)
    for (i, j), v in np.ndenumerate(values):
        if hide is None or not hide[i, j]:
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=12)
    ax.set_xticks(np.arange(-0.5, values.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, values.shape[0]), minor=True)
    ax.grid(which="minor", color="grey", linewidth=1)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(title, fontsize=10)


def conv_window(out: Path) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    conv = mc.Conv2D(1, 2, use_bias=False)
    result = _layer_output(conv, IMAGE, [KERNEL.reshape(2, 2, 1, 1)])
    steps = [(0, 0), (0, 1), (0, 2), (1, 0), (2, 2)]
    fig, axes = plt.subplots(2, len(steps), figsize=(2.3 * len(steps), 4.8))
    for k, (i, j) in enumerate(steps):
        window = IMAGE[i:i + 2, j:j + 2]
        terms = " + ".join(f"{int(a)}×{int(b)}" for a, b in zip(window.ravel(), KERNEL.ravel()))
        _draw_grid(axes[0, k], IMAGE, f"window at row {i}, column {j}", vmax=2)
        axes[0, k].add_patch(Rectangle((j - 0.5, i - 0.5), 2, 2, fill=False, edgecolor="red",
                                       linewidth=3))
        done = np.ones_like(result, dtype=bool)
        done.ravel()[: i * result.shape[1] + j + 1] = False
        _draw_grid(axes[1, k], result, f"{terms}\n= {result[i, j]:g}", cmap="Oranges",
                   hide=done)
        axes[1, k].add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red",
                                       linewidth=3))
    fig.suptitle("Conv2D(1, 2), kernel [[1, 1], [0, 1]]: input (top), output so far (bottom)")
    fig.tight_layout()
    path = out / "conv_window.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def pooling(out: Path) -> Path:
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    pooled_max = _layer_output(mc.MaxPooling2D(2), GRID)
    pooled_avg = _layer_output(mc.AveragePooling2D(2), GRID)
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4), gridspec_kw={"width_ratios": [2, 1.2, 1.2]})
    _draw_grid(axes[0], GRID, "input 4×4")
    colors = ["tab:red", "tab:green", "tab:purple", "tab:orange"]
    for c, (i, j) in zip(colors, [(0, 0), (0, 2), (2, 0), (2, 2)]):
        axes[0].add_patch(Rectangle((j - 0.5, i - 0.5), 2, 2, fill=False, edgecolor=c,
                                    linewidth=3))
    _draw_grid(axes[1], pooled_max, "MaxPooling2D(2)", cmap="Oranges", vmax=GRID.max() * 1.6)
    _draw_grid(axes[2], pooled_avg, "AveragePooling2D(2)", cmap="Greens", vmax=GRID.max() * 1.6)
    for ax in axes[1:]:
        for c, (i, j) in zip(colors, [(0, 0), (0, 1), (1, 0), (1, 1)]):
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=c,
                                   linewidth=3))
    fig.tight_layout()
    path = out / "pooling.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def catdog_shapes(out: Path) -> Path:
    import matplotlib.pyplot as plt

    mc.clear_session()
    model = catdog_network((128, 128, 3))
    rows = [("input", "Input", model.input_shape, 0)]
    rows += [(layer.name, type(layer).__name__, layer.output_shape, layer.count_params())
             for layer in model.layers]
    colours = {"Input": "tab:grey", "Conv2D": "tab:blue", "MaxPooling2D": "tab:orange",
               "AveragePooling2D": "tab:green", "Flatten": "tab:purple",
               "Dropout": "tab:brown", "Dense": "tab:red"}
    sizes = [int(np.prod(shape[1:])) for _, _, shape, _ in rows]
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, sizes, color=[colours.get(kind, "black") for _, kind, _, _ in rows])
    ax.set_xscale("log")
    ax.set_yticks(y, [f"{name} ({kind})" for name, kind, _, _ in rows], fontsize=9)
    for yy, size, (_, _, shape, params) in zip(y, sizes, rows):
        label = str(tuple(shape[1:]))[:-1].rstrip(",") + ")"
        if params:
            label += f"   {params:,} params"
        ax.text(size * 1.15, yy, label, va="center", fontsize=9)
    ax.set_xlim(1, max(sizes) * 400)
    ax.set_xlabel("values per image after the layer (log scale); output shape (H, W, C)")
    ax.set_title(f"catdog_network((128, 128, 3)): {model.count_params():,} parameters")
    fig.tight_layout()
    path = out / "catdog_shapes.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _activation_model() -> tuple[mc.Sequential, str]:
    if PRETRAINED.exists():
        return mc.load_model(PRETRAINED), f"pretrained model {PRETRAINED.relative_to(ROOT)}"
    mc.clear_session()
    mc.set_seed(0)
    model = catdog_network((128, 128, 3), rescale=1 / 255)
    return model, ("UNTRAINED network (freshly initialised, minicnn.set_seed(0)): "
                   "the shipped model was not found")


def activations(out: Path, maps_per_layer: int = 8) -> Path:
    import matplotlib.pyplot as plt

    model, source = _activation_model()
    size = (int(model.input_shape[1]), int(model.input_shape[2]))
    image = load_image(CAT, size)
    h = mc.Tensor(image.astype(np.float32)[None])
    maps = []
    with mc.no_grad():
        for layer in model.layers:
            h = layer(h)
            if isinstance(layer, mc.Conv2D):
                maps.append((layer.name, h.numpy()[0]))
                if len(maps) == 2:
                    break
    fig, axes = plt.subplots(len(maps), maps_per_layer + 1,
                             figsize=(1.5 * (maps_per_layer + 1), 1.7 * len(maps) + 0.6))
    for r, (name, fmap) in enumerate(maps):
        axes[r, 0].imshow(image)
        axes[r, 0].set_title(CAT.name if r == 0 else "", fontsize=8)
        axes[r, 0].set_ylabel(f"{name}\n{fmap.shape[0]}×{fmap.shape[1]}×{fmap.shape[2]}",
                              fontsize=8)
        for k in range(maps_per_layer):
            axes[r, k + 1].imshow(fmap[:, :, k], cmap="viridis")
            axes[r, k + 1].set_title(f"map {k}", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Activation maps after the first two Conv2D layers (first {maps_per_layer} "
                 f"of each)\n{source}", fontsize=9)
    fig.tight_layout()
    path = out / "activations.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


HELD_OUT = ROOT / "examples" / "data" / "catdog_small" / "test_set"
GRADCAM_PHOTOS = [HELD_OUT / "cats" / "cat.4001.jpg", HELD_OUT / "cats" / "cat.4002.jpg",
                  HELD_OUT / "dogs" / "dog.4001.jpg", HELD_OUT / "dogs" / "dog.4002.jpg"]


def gradcam(out: Path) -> Path:
    model, source = _activation_model()
    return _gradcam_figure(out / "gradcam.png", model, source)


RESIDUAL_MODEL = ROOT / "examples" / "weights" / "catdog_residual.npz"


def gradcam_residual(out: Path) -> Path | None:
    """The same photos through the shipped residual network (None when it is not there)."""
    if not RESIDUAL_MODEL.exists():
        return None
    return _gradcam_figure(out / "gradcam-residual.png", mc.load_model(RESIDUAL_MODEL),
                           "pretrained examples/weights/catdog_residual.npz")


def _gradcam_figure(figure: Path, model, source: str) -> Path:
    import matplotlib.pyplot as plt
    from PIL import Image

    sys.path.insert(0, str(ROOT / "examples"))
    import catdog_plots

    size = (int(model.input_shape[1]), int(model.input_shape[2]))
    x = np.stack([load_image(f, size) for f in GRADCAM_PHOTOS]).astype(np.float32)
    p = model.predict_on_batch(x)[:, 0]
    layer = [lay for lay in model.layers if type(lay).__name__ in mc.explain.CONV_LAYERS][-1]
    cams = mc.explain.grad_cam(model, x, layer=layer)
    fig, axes = plt.subplots(2, len(GRADCAM_PHOTOS), figsize=(2.4 * len(GRADCAM_PHOTOS), 5.9))
    for k, (path, prob, cam) in enumerate(zip(GRADCAM_PHOTOS, p, cams)):
        label = "dog" if prob >= 0.5 else "cat"
        photo = Image.open(path)
        axes[0, k].imshow(photo)
        axes[0, k].set_title(path.name, fontsize=8)
        axes[1, k].imshow(catdog_plots.overlay(photo, cam))
        axes[1, k].set_title(f"says {label} ({max(prob, 1 - prob):.2f})", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    h, w = cams.shape[1:]
    fig.suptitle(f"Grad-CAM of the predicted class at {layer.name} ({h}×{w} maps, upsampled "
                 f"bilinearly; red = most evidence)\n{source}", fontsize=9)
    fig.tight_layout(h_pad=1.8)
    fig.savefig(figure, dpi=90)
    plt.close(fig)
    # photos make a large PNG: a dithered 256-colour palette is a third of the size
    rgb = Image.open(figure).convert("RGB")
    rgb.quantize(palette=rgb.quantize(256), dither=Image.Dither.FLOYDSTEINBERG).save(
        figure, optimize=True)
    return figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "figures"),
                        help="folder for the PNGs (default: docs/figures)")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for make in (conv_window, pooling, catdog_shapes, activations, gradcam, gradcam_residual):
        path = make(out)
        if path is not None:
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
