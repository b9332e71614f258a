"""Cats vs dogs with minicnn: train, evaluate, predict and look inside the network.

    python examples/catdog.py                       # train on the bundled subset (a few minutes)
    python examples/catdog.py train --data DIR      # DIR/{training_set,test_set} or class folders
    python examples/catdog.py evaluate --data DIR   # loss and accuracy of a model on a folder
    python examples/catdog.py predict IMAGE...      # "cat" or "dog" with the probability of dog
    python examples/catdog.py features IMAGE        # PNG grid of the first conv layers' maps
    python examples/catdog.py export OUT.onnx       # the model as ONNX (docs/deploy.md)
    python examples/catdog.py explain IMAGE...      # Grad-CAM: where the network looked

The network is the original experiment's: five conv blocks pooled max, max, avg, max, avg, then
flatten, dropout 0.5, dense relu, dense sigmoid (``minicnn.models.catdog_network``), with a
leading Rescaling(1/255) so saved models take raw pixels. ``--model`` defaults to the
pretrained ``examples/weights/catdog.npz``. ``train --arch residual`` trains the residual network
(``minicnn.models.catdog_residual_network``); every command takes either kind of saved model.

Errors are one line on stderr, never a traceback: exit status 2 for bad usage (including an
``--out`` folder that already holds a run, unless ``--overwrite``), 1 for a failure at run
time (an unreadable image, an empty class folder...). Ctrl-C during ``train`` keeps the
completed epochs: the model after the last of them, history.json and curves.png go to the run
folder, one line says how to resume, and the exit status is 130.

The first run (no arguments) trains on the bundled 300 photos, then shows what a fully trained
network does: the pretrained model's accuracy on the 100 bundled held-out photos, and
``predictions.png`` in the run folder, its predictions with Grad-CAM heat maps.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

import minicnn as mc
from minicnn.callbacks import Callback, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from minicnn.data import Augment, image_dataset_from_directory, load_image
from minicnn.models import catdog_network

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # catdog_plots.py sits beside this script
    sys.path.insert(0, str(HERE))
import catdog_plots  # noqa: E402

DEFAULT_DATA = HERE / "data" / "catdog_small"
DEFAULT_MODEL = HERE / "weights" / "catdog.npz"
CLASS_NAMES = ("cat", "dog")  # folder order: cats = 0, dogs = 1
RUN_FILES = ("model.npz", "history.json")  # a folder holding either holds a run


# ------------------------------------------------------------------------------------ data


def split_folders(data: Path, validation_split: float | None) -> tuple[Path, Path | None]:
    """(training folder, validation folder or None when a split of the training folder is used)."""
    if (data / "training_set").is_dir():
        test = data / "test_set"
        return data / "training_set", (test if test.is_dir() and not validation_split else None)
    return data, None


def load_datasets(args: argparse.Namespace):
    """(training dataset, validation dataset or None with ``--validation-split 0``)."""
    train_dir, val_dir = split_folders(Path(args.data), args.validation_split)
    common = dict(label_mode="binary", image_size=(args.image_size, args.image_size),
                  batch_size=args.batch_size, seed=args.seed)
    if args.validation_split == 0:  # every image of the training folder, no validation
        train = image_dataset_from_directory(train_dir, double=args.double, **common)
        val = None
    elif val_dir is None:
        if not args.validation_split:
            raise SystemExit(
                f"error: {train_dir} has no test_set/ beside training_set/; "
                "pass --validation-split (e.g. 0.2) to hold out part of it."
            )
        train, val = image_dataset_from_directory(
            train_dir, validation_split=args.validation_split, subset="both",
            double=args.double, **common)
    else:
        train = image_dataset_from_directory(train_dir, double=args.double, **common)
        val = image_dataset_from_directory(val_dir, shuffle=False, **common)
    if args.augment:
        aug = Augment(flip="horizontal", brightness=0.15, contrast=0.2, saturation=0.2,
                      zoom=0.15, rotation=0.04, translation=0.05, seed=args.seed)
        train = train.map(lambda x, y: (aug(x), y))
    return train, val


# -------------------------------------------------------------------------------- commands


def cmd_train(args: argparse.Namespace) -> int:
    mc.set_seed(args.seed)
    train, val = load_datasets(args)
    if args.resume:
        model = mc.load_model(args.resume)
        print(f"Resuming from {args.resume}")
    else:
        model = build_model(args.arch, args.image_size, args.width)
        model.compile(optimizer=mc.optimizers.Adam(learning_rate=args.learning_rate),
                      loss="binary_crossentropy", metrics=["accuracy"])
    run_dir = run_folder(args)
    run_dir.mkdir(parents=True, exist_ok=True)
    args.run_dir = run_dir
    print(f"Run folder: {run_dir}")
    validating = (f"validating on {val.num_samples}" if val is not None
                  else "no validation")
    print(f"Training on {train.num_samples} images, {validating} "
          f"({args.image_size}x{args.image_size}, batch {args.batch_size})")
    callbacks = []
    if args.decay_epochs or args.warmup_epochs:
        decay_at = sorted(int(e) for e in (args.decay_epochs or "").split(",") if e.strip())
        base, warmup = args.learning_rate, args.warmup_epochs

        def schedule(epoch: int, lr: float) -> float:
            ramp = min(1.0, (epoch + 1) / warmup) if warmup else 1.0
            return base * ramp * args.decay_factor ** sum(epoch >= e for e in decay_at)

        callbacks.append(LearningRateScheduler(schedule, verbose=1))
    if args.checkpoint_every_epoch:
        callbacks.append(ModelCheckpoint(str(run_dir / "last.npz"), save_best_only=False))
    if args.early_stopping:
        callbacks.append(EarlyStopping(monitor="val_loss", patience=args.early_stopping,
                                       restore_best_weights=True, verbose=1))
    if args.save_best:
        callbacks.append(ModelCheckpoint(str(run_dir / "best.npz"), monitor="val_accuracy",
                                         save_best_only=True, verbose=1))
    snapshot = EpochSnapshot()
    callbacks.append(snapshot)  # last: it keeps the state the other callbacks left
    start = time.perf_counter()
    try:
        history = model.fit(train, epochs=args.epochs, validation_data=val,
                            callbacks=callbacks, verbose=args.verbose,
                            initial_epoch=args.initial_epoch)
    except KeyboardInterrupt:
        return interrupted(args, model, snapshot, run_dir, time.perf_counter() - start)
    wall = time.perf_counter() - start
    plotted = write_run(model, history, run_dir, wall)
    print(f"Wrote {run_dir / 'model.npz'}, {run_dir / 'history.json'}"
          + (f", {run_dir / 'curves.png'}" if plotted else " (install matplotlib for curves.png)"))
    print(f"Wall time: {wall:.0f}s")
    if model.refused_step:  # a NaN/inf step was refused: the weights before it were saved
        print(f"error: training stopped early, {model.refused_step}", file=sys.stderr)
        return 1
    return 0


def run_folder(args: argparse.Namespace) -> Path:
    return Path(args.out) if args.out else Path("runs") / time.strftime("catdog-%Y%m%d-%H%M%S")


def write_run(model: mc.Sequential, history, run_dir: Path, wall: float, **extra) -> bool:
    """model.npz, history.json and curves.png (False if matplotlib is missing)."""
    model.save(run_dir / "model.npz")
    record = {"history": history.history, "epochs": history.epoch, "wall_seconds": wall,
              "command": " ".join(sys.argv), "minicnn": mc.__version__, **extra}
    (run_dir / "history.json").write_text(json.dumps(record, indent=2))
    return plot_curves(history.history, run_dir / "curves.png")


class EpochSnapshot(Callback):
    """Keeps a copy of the weights and optimizer state after each completed epoch, so that
    Ctrl-C mid-epoch can save the model as the last completed epoch left it."""

    def __init__(self) -> None:
        super().__init__()
        self.current: int | None = None  # the epoch under way (0-based)
        self.done: int | None = None  # the last completed epoch (0-based)
        self.weights: list[np.ndarray] = []
        self.state: dict | None = None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_epoch_end(self, epoch, logs=None):
        weights = [w.copy() for w in self.model.get_weights()]
        opt = self.model.optimizer
        state = opt.get_state() if opt is not None and opt.built else None
        # assigned together once copied: Ctrl-C during the copies keeps the previous epoch's
        self.weights, self.state, self.done = weights, state, epoch

    def restore(self) -> None:
        self.model.set_weights(self.weights)
        if self.state is not None:
            self.model.optimizer.set_state(self.state, self.model.trainable_weights)


def resume_command(args: argparse.Namespace, model_path: Path, epochs_done: int,
                   run_dir: Path) -> str:
    """The command line that continues the interrupted run in a fresh folder."""
    argv, skip = [], {"--resume", "--initial-epoch", "--out"}
    words = list(args.argv) if args.argv[:1] == ["train"] else ["train", *args.argv]
    i = 0
    while i < len(words):
        word = words[i]
        if word in skip:
            i += 2
            continue
        if word == "--overwrite" or word.split("=", 1)[0] in skip:
            i += 1
            continue
        argv.append(word)
        i += 1
    argv += ["--resume", str(model_path), "--initial-epoch", str(epochs_done),
             "--out", f"{run_dir}-resumed"]
    script = sys.argv[0] if sys.argv[0].endswith("catdog.py") else "examples/catdog.py"
    return shlex.join(["python", script, *argv])


def interrupted(args: argparse.Namespace, model: mc.Sequential, snapshot: EpochSnapshot,
                run_dir: Path, wall: float) -> int:
    """Ctrl-C in ``train``: save what the completed epochs made, say so in one line, 130."""
    if sys.stdout.isatty():
        print()  # end the progress bar's line
    current = snapshot.current if snapshot.current is not None else args.initial_epoch
    if snapshot.done is not None:  # Ctrl-C between epochs, before the next one's hooks ran
        current = max(current, snapshot.done + 1)
    current += 1  # 1-based, as the progress lines
    where = f"interrupted in epoch {current} of {args.epochs}"
    if snapshot.done is None:
        print(f"{where}; no epoch was completed, so no model was saved.", file=sys.stderr)
        return 130
    snapshot.restore()
    path = run_dir / "model.npz"
    write_run(model, model.history, run_dir, wall, interrupted_in_epoch=current)
    print(f"{where}; the model after epoch {snapshot.done + 1} is in {path}; resume with: "
          f"{resume_command(args, path, snapshot.done + 1, run_dir)}", file=sys.stderr)
    return 130


def build_model(arch: str, image_size: int, width: float = 1.0) -> mc.Sequential:
    """A fresh network: the original experiment's, or the residual one (BatchNormalization)."""
    shape = (image_size, image_size, 3)
    if arch == "residual":
        from minicnn.models.residual import catdog_residual_network

        return catdog_residual_network(shape, width=width)
    return catdog_network(shape, rescale=1 / 255)


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = mc.load_model(args.model)
    data = Path(args.data)
    folder = data / "test_set" if (data / "test_set").is_dir() else data
    dataset = image_dataset_from_directory(folder, label_mode="binary",
                                           image_size=_model_size(model),
                                           batch_size=args.batch_size, shuffle=False)
    loss, accuracy = model.evaluate(dataset, verbose=0)
    print(f"loss: {loss:.4f} - accuracy: {accuracy:.4f}")
    return 0


def _model_size(model: mc.Sequential) -> tuple[int, int]:
    shape = model.input_shape
    return int(shape[1]), int(shape[2])


def cmd_predict(args: argparse.Namespace) -> int:
    model = mc.load_model(args.model)
    size = _model_size(model)
    status = 0
    for path in args.images:
        try:
            x = load_image(path, size).astype(np.float32)[None]
        except (OSError, ValueError) as exc:
            print(f"{Path(path).name}: cannot read image ({exc})", file=sys.stderr)
            status = 1
            continue
        p = float(model.predict_on_batch(x)[0, 0])
        print(f"{Path(path).name}\t{CLASS_NAMES[int(p > 0.5)]}\t{p:.4f}")
    return status


def cmd_features(args: argparse.Namespace) -> int:
    model = mc.load_model(args.model)
    x = load_image(args.image, _model_size(model)).astype(np.float32)[None]
    convs = [lay for lay in model.layers if type(lay).__name__ in mc.explain.CONV_LAYERS]
    maps = []  # any model, Sequential or functional: each layer's output read off a full run
    for layer in convs[:args.layers]:
        output, _ = mc.explain.layer_and_model_outputs(model, x, layer)
        maps.append((layer.name, output.data[0]))
    out = Path(args.out)
    drawn = catdog_plots.feature_grid(maps, out)
    print(f"Wrote {out}: " + ", ".join(
        (f"{name} ({count} of {total} maps" if count < total else f"{name} ({total} maps")
        + (f", {silent} never fire)" if silent else ")") for name, count, total, silent in drawn))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from PIL import Image

    model = mc.load_model(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    status = 0
    for path in args.images:
        try:
            x = load_image(path, _model_size(model)).astype(np.float32)[None]
            photo = Image.open(path)
            photo.load()
        except (OSError, ValueError) as exc:
            print(f"{Path(path).name}: cannot read image ({exc})", file=sys.stderr)
            status = 1
            continue
        p = float(model.predict_on_batch(x)[0, 0])
        try:
            cam = mc.explain.grad_cam(model, x, layer=args.layer)[0]
        except ValueError as exc:  # an unknown layer, or one without spatial maps
            print(f"catdog.py: error: {exc}", file=sys.stderr)
            return 2
        label = CLASS_NAMES[int(p >= 0.5)]
        target = out / f"{Path(path).stem}-gradcam.png"
        catdog_plots.overlay(photo, cam, f"{label} {p if p >= 0.5 else 1 - p:.2f}").save(target)
        print(f"{Path(path).name}\t{label}\t{p:.4f}\t{target}")
    return status


def showcase(run_dir: Path, model_path: Path = DEFAULT_MODEL, data: Path = DEFAULT_DATA,
             grid_size: int = 8) -> None:
    """The first run's second half: what a fully trained network does. The pretrained model's
    accuracy on the bundled held-out photos, and a grid of its predictions with Grad-CAM."""
    from PIL import Image

    model = mc.load_model(model_path)
    size = _model_size(model)
    test = data / "test_set"
    dataset = image_dataset_from_directory(test, label_mode="binary", image_size=size,
                                           batch_size=50, shuffle=False)
    _, accuracy = model.evaluate(dataset, verbose=0)
    print("\n300 photos are too few to learn cats from dogs from scratch: expect the run above "
          "to end near chance (0.5-0.65). The same network trained on 8000 photos:")
    print(f"The pretrained network ({model_path.name}, trained on 8000 photos) on the "
          f"{dataset.num_samples} bundled held-out photos: accuracy {accuracy:.3f}")
    files = [sorted((test / cls).glob("*.jpg")) for cls in ("cats", "dogs")]
    chosen = [f for pair in zip(*files) for f in pair][:grid_size]  # cat, dog, cat, dog...
    x = np.stack([load_image(f, size) for f in chosen]).astype(np.float32)
    p = model.predict_on_batch(x)[:, 0]
    cams = mc.explain.grad_cam(model, x)
    tiles = []
    for path, prob, cam in zip(chosen, p, cams):
        label = CLASS_NAMES[int(prob >= 0.5)]
        tile = catdog_plots.overlay(Image.open(path), cam,
                                    f"{label} {prob if prob >= 0.5 else 1 - prob:.2f}")
        tiles.append((tile, label == path.parent.name[:-1]))
    grid = catdog_plots.prediction_grid(
        tiles, run_dir / "predictions.png",
        title="pretrained network: prediction and Grad-CAM (red = what made it say so)")
    right = sum(ok for _, ok in tiles)
    print(f"Wrote {grid}: {right} of {len(tiles)} right, with Grad-CAM heat maps "
          "(explain your own photos: python examples/catdog.py explain IMAGE...)")


def cmd_export(args: argparse.Namespace) -> int:
    model = mc.load_model(args.model)
    try:
        model.export(args.out, format="onnx")
    except (ImportError, OSError, ValueError) as exc:  # no onnx, bad folder, unexportable layer
        print(f"error: {exc}", file=sys.stderr)
        return 1
    shape = ", ".join(str(d) for d in model.input_shape[1:])
    print(f"Wrote {args.out}: ONNX, float32 input '{model.input_layer.name}' of shape "
          f"(batch, {shape})")
    return 0


def plot_curves(history: dict, path: Path) -> bool:
    """Loss and accuracy per epoch with a chance line (catdog_plots.py); False without
    matplotlib."""
    n = len(history["loss"])
    return catdog_plots.plot_curves(history, path,
                                    title=f"cat vs dog: {n} epoch{'s' * (n != 1)} of training")


# ------------------------------------------------------------------------------------- CLI


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="catdog.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")

    t = sub.add_parser("train", help="train the cat-dog network")
    t.add_argument("--data", default=str(DEFAULT_DATA),
                   help="folder with training_set/ and test_set/, or class folders "
                        "(with --validation-split); default: the bundled subset")
    t.add_argument("--validation-split", type=float, default=None,
                   help="hold out this fraction of the training folder for validation; 0: "
                        "train on all of it with no validation (a schedule and epoch already "
                        "chosen on a split)")
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--initial-epoch", type=int, default=0, help="epoch to resume counting from")
    t.add_argument("--arch", choices=("original", "residual"), default="original",
                   help="the original experiment's network, or the residual one "
                        "(minicnn.models.catdog_residual_network)")
    t.add_argument("--width", type=float, default=1.0, metavar="W",
                   help="--arch residual: multiply every filter count by W (1.5: about 2.2x "
                        "the parameters and compute)")
    t.add_argument("--image-size", type=int, default=128)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--learning-rate", type=float, default=1e-3)
    t.add_argument("--decay-epochs", metavar="E1,E2,...",
                   help="multiply the learning rate by --decay-factor at these epochs (0-based)")
    t.add_argument("--decay-factor", type=float, default=0.3)
    t.add_argument("--warmup-epochs", type=_non_negative_int, default=0, metavar="N",
                   help="raise the learning rate linearly over the first N epochs "
                        "(epoch e uses (e+1)/N of it): a gentler start keeps early filters alive")
    t.add_argument("--checkpoint-every-epoch", action="store_true",
                   help="save the model after every epoch as last.npz in the run folder")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="random flip, colour jitter, zoom, rotation and shift per batch")
    t.add_argument("--double", action="store_true",
                   help="the original's offline doubling: every image also mirrored+filtered")
    t.add_argument("--early-stopping", type=int, metavar="PATIENCE", default=0,
                   help="stop when val_loss has not improved for PATIENCE epochs")
    t.add_argument("--save-best", action="store_true",
                   help="also keep the best model by val_accuracy as best.npz")
    t.add_argument("--resume", metavar="MODEL", help="continue training a saved model")
    t.add_argument("--out", help="run folder (default: runs/catdog-<time>)")
    t.add_argument("--overwrite", action="store_true",
                   help="allow --out to name a folder that already holds a run (its model.npz "
                        "and history.json are replaced)")
    t.add_argument("--seed", type=int, default=1337)
    t.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="print loss and accuracy on a folder")
    e.add_argument("--model", default=str(DEFAULT_MODEL))
    e.add_argument("--data", required=True, help="class folders, or a folder with test_set/")
    e.add_argument("--batch-size", type=int, default=32)
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify images")
    p.add_argument("--model", default=str(DEFAULT_MODEL))
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.set_defaults(func=cmd_predict)

    f = sub.add_parser("features", help="write a PNG grid of the first conv layers' maps")
    f.add_argument("--model", default=str(DEFAULT_MODEL))
    f.add_argument("image", metavar="IMAGE")
    f.add_argument("--layers", type=int, default=2, help="how many conv layers to show")
    f.add_argument("--out", default="features.png")
    f.set_defaults(func=cmd_features)

    g = sub.add_parser("explain", help="Grad-CAM: write each photo with a heat map of where "
                                       "the network looked")
    g.add_argument("--model", default=str(DEFAULT_MODEL))
    g.add_argument("images", nargs="+", metavar="IMAGE")
    g.add_argument("--layer", help="layer to explain (default: the last convolution)")
    g.add_argument("--out", default="gradcam", help="folder for the PNGs (default: gradcam/)")
    g.set_defaults(func=cmd_explain)

    x = sub.add_parser("export", help="write the model as ONNX for onnxruntime")
    x.add_argument("--model", default=str(DEFAULT_MODEL))
    x.add_argument("out", metavar="OUT.onnx")
    x.set_defaults(func=cmd_export)
    return parser


def usage_error(parser: argparse.ArgumentParser, message: str) -> None:
    """One line on stderr and exit status 2 (argparse's ``error`` also prints the usage)."""
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors found before any work: missing files, a run folder in use, a bad --out."""
    for name in ("model", "resume"):
        path = getattr(args, name, None)
        if path and not os.path.exists(path):
            usage_error(parser, f"--{name}: no such file: {path}")
    if args.command == "train" and args.validation_split is not None:
        if not 0 <= args.validation_split < 1:
            usage_error(parser, f"--validation-split: expected a fraction in [0, 1), got "
                        f"{args.validation_split:g}")
        if args.validation_split == 0 and (args.save_best or args.early_stopping):
            usage_error(parser, "--save-best and --early-stopping watch the validation data, "
                        "which --validation-split 0 turns off")
    if args.command == "train" and args.width != 1.0:
        if not args.width > 0:
            usage_error(parser, f"--width: expected a multiplier > 0, got {args.width:g}")
        if args.arch != "residual" or args.resume:
            usage_error(parser, "--width sets the residual network's filters: it needs "
                        "--arch residual and no --resume")
    if args.command == "train" and args.out and not args.overwrite:
        held = [name for name in RUN_FILES if (Path(args.out) / name).exists()]
        if held:
            usage_error(parser, f"--out: {args.out} already holds a run ({', '.join(held)}); "
                        "pass --overwrite to replace it, or choose another folder")
    if args.command == "features":
        from PIL import Image

        out = Path(args.out)
        if not out.parent.is_dir():
            usage_error(parser, f"--out: no such folder: {out.parent}")
        if out.suffix.lower() not in Image.registered_extensions():
            usage_error(parser, f"--out: {out.name} is not an image file name (use .png)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv or ["train"])
    args.argv = [str(a) for a in argv or ["train"]]  # for the resume command after Ctrl-C
    check_paths(parser, args)
    try:
        status = args.func(args)
        if not argv and status == 0:  # the first run: also show what a fully trained network does
            showcase(args.run_dir)
        return status
    except KeyboardInterrupt:  # train handles its own; elsewhere nothing is worth keeping
        print("interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, RuntimeError, MemoryError) as exc:
        # a runtime failure (an unreadable image, an empty class folder...): one line
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
