"""``python -m minicnn.integrations.facepp``: detect, compare and a stand-in server.

Exit status: 0 success, 1 API or network error (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from minicnn.progbar import Progress, is_tty

from . import format as fmt
from .client import Client
from .draw import draw
from .errors import FaceppError
from .results import LEVELS

MANY = 10  # at least this many images shows progress even when stderr is not a terminal

ENV_HELP = "keys come from FACEPP_API_KEY / FACEPP_API_SECRET (host: FACEPP_BASE_URL, us or cn)"


class _Parser(argparse.ArgumentParser):
    """argparse writing to the streams given to :func:`main` instead of sys.stdout/stderr."""

    out: TextIO = sys.stdout
    err: TextIO = sys.stderr

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self.err if file is sys.stderr or file is None else self.out).write(message)


def build_parser(out: TextIO, err: TextIO) -> argparse.ArgumentParser:
    """The argument parser of the CLI (exposed for documentation and tests)."""
    _Parser.out, _Parser.err = out, err
    parser = _Parser(prog="python -m minicnn.integrations.facepp",
                     description="Face++ Detect/Compare from the command line. " + ENV_HELP)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    keys = _Parser(add_help=False)
    keys.add_argument("--api-key", help="overrides FACEPP_API_KEY")
    keys.add_argument("--api-secret", help="overrides FACEPP_API_SECRET (visible in `ps`; "
                      "prefer the environment variable)")
    keys.add_argument("--base-url", help="us, cn or a URL (default: FACEPP_BASE_URL or us)")
    keys.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    keys.add_argument("--retries", type=int, default=3, help="retries of transient failures")
    keys.add_argument("--json", action="store_true", help="print JSON instead of text")
    keys.add_argument("--lang", choices=fmt.LANGS, default="en", help="text language")

    detect = sub.add_parser("detect", parents=[keys], help="count faces and describe each")
    detect.add_argument("images", nargs="+", metavar="IMAGE")
    detect.add_argument("--draw", metavar="OUT", help="write the photo with numbered boxes "
                        "(with several images OUT is a directory)")

    compare = sub.add_parser("compare", parents=[keys], help="compare the faces of two photos")
    compare.add_argument("image1", metavar="IMAGE1")
    compare.add_argument("image2", metavar="IMAGE2")
    compare.add_argument("--all", action="store_true", help="compare every face pair")
    compare.add_argument("--level", choices=LEVELS, default="1e-4",
                         help="false-accept rate for the verdict")

    serve = sub.add_parser("serve", help="run the offline stand-in server on 127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    serve.add_argument("--api-key", default="demo-key", help="key the stand-in accepts")
    serve.add_argument("--api-secret", default=None, help="secret the stand-in accepts")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the CLI; returns the exit status instead of exiting.

    Example:
        >>> from minicnn.data import data_root
        >>> from minicnn.integrations.facepp.server import StandInServer
        >>> photo = str(data_root() / "faces" / "obama.jpg")
        >>> with StandInServer() as server:  # keys and host as FACEPP_* variables
        ...     env = {"FACEPP_API_KEY": "demo-key", "FACEPP_API_SECRET": "demo-secret",
        ...            "FACEPP_BASE_URL": server.url}
        ...     main(["detect", photo, "--lang", "zh"], environ=env)
        共检测到1张人脸
        第1个人的数据
        性别Male
        年龄51
        微笑率:97.512%
        1号人物在图片里的像素位置
        top: 160, left: 355, width: 270, height: 270
        0
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    env = os.environ if environ is None else environ
    parser = build_parser(out, err)
    try:
        args = parser.parse_args(argv)
        if args.command == "serve":
            return _serve(args, out)
        client = _client(args, env, parser)
    except SystemExit as exc:  # argparse: --help (0) or bad usage (2)
        return int(exc.code or 0)
    try:
        with client:
            if args.command == "detect":
                return _detect(client, args, out, err)
            return _compare(client, args, out)
    except FaceppError as exc:
        err.write(f"error: {exc}\n")
        return 1
    except OSError as exc:
        err.write(f"error: {exc.strerror or exc}: {exc.filename or ''}\n")
        return 1
    except ImportError as exc:  # `requests` missing: the client's message says what to install
        err.write(f"error: {exc}\n")
        return 1


def _client(args: argparse.Namespace, env: Mapping[str, str],
            parser: argparse.ArgumentParser) -> Client:
    key = args.api_key or env.get("FACEPP_API_KEY", "")
    secret = args.api_secret or env.get("FACEPP_API_SECRET", "")
    if not key or not secret:
        parser.error("missing Face++ credentials: set FACEPP_API_KEY and FACEPP_API_SECRET "
                     "(or pass --api-key and --api-secret)")
    base_url = args.base_url or env.get("FACEPP_BASE_URL") or "us"
    try:
        return Client(key, secret, base_url=base_url, timeout=args.timeout,
                      max_retries=args.retries)
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


def _detect(client: Client, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    several = len(args.images) > 1
    if args.draw and several:
        Path(args.draw).mkdir(parents=True, exist_ok=True)
    # on a terminal, or for many images (MANY) a line per image even off one
    progress = Progress(len(args.images), err, enabled=is_tty(err) or len(args.images) >= MANY,
                        each=True)
    report = []
    for n, image in enumerate(args.images):
        try:
            faces = client.detect(image)
        except FaceppError as exc:
            raise FaceppError(exc.status, f"{image}: {exc.error_message}", exc.request_id) from None
        if args.draw:
            target = Path(args.draw) / f"{Path(image).stem}.faces.png" if several else args.draw
            draw(image, faces, target)
        if args.json:
            report.append({"image": image, "face_num": len(faces),
                           "faces": [asdict(f) for f in faces]})
        else:
            if several:
                out.write(("\n" if n else "") + f"== {image} ==\n")
            out.write("\n".join(fmt.detection(faces, args.lang)) + "\n")
        progress.update(note=Path(image).name)
    if args.json:
        out.write(json.dumps({"images": report}, ensure_ascii=False, indent=2) + "\n")
    return 0


def _compare(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    if args.all:
        result = client.compare_all(args.image1, args.image2)
        if args.json:
            payload: dict[str, Any] = asdict(result)
            payload["level"] = args.level
            for pair in payload["pairs"]:
                pair["same_person"] = pair["confidence"] >= pair["thresholds"][args.level]
        else:
            lines = fmt.all_pairs(result, args.lang, args.level)
    else:
        comparison = client.compare(args.image1, args.image2)
        if args.json:
            payload = asdict(comparison)
            payload.update(level=args.level, same_person=comparison.is_same_person(args.level))
        else:
            lines = fmt.comparison(comparison, args.lang, args.level)
    if args.json:
        out.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write("\n".join(lines) + "\n")
    return 0


def _serve(args: argparse.Namespace, out: TextIO) -> int:
    from .server import StandInServer

    secret = args.api_secret or "demo-secret"
    server = StandInServer(port=args.port, credentials={args.api_key: secret})
    shown = secret if args.api_secret is None else "<the --api-secret you gave>"
    out.write(
        f"Face++ stand-in listening on {server.url}\n"
        "Point the client at it:\n"
        f"  export FACEPP_BASE_URL={server.url}\n"
        f"  export FACEPP_API_KEY={args.api_key}\n"
        f"  export FACEPP_API_SECRET={shown}\n"
        "Press Ctrl-C to stop.\n"
    )
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
