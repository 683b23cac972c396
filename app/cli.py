"""Command line: `python -m app transcribe FILE...`. Imports nothing heavy until it must."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from app import __version__


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="Diarization Studio: who said what, and when.")
    parser.add_argument("--version", action="version", version=f"Diarization Studio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    tr = commands.add_parser("transcribe", help="transcribe files and find who speaks when")
    tr.add_argument("files", nargs="+", type=Path, metavar="FILE")
    tr.add_argument("--language", help="language code such as es or en (default: detect)")
    tr.add_argument("--model", help="tiny, base, small, medium, large-v3, or a model folder (default: base)")
    tr.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where to run (default: auto)")
    count = tr.add_mutually_exclusive_group()
    count.add_argument("--speakers", type=int, metavar="N", help="exactly N speakers")
    count.add_argument("--max-speakers", type=int, metavar="N", help="at most N speakers")
    tr.add_argument("--format", choices=("json", "srt", "vtt", "txt", "rttm"), default="json")
    tr.add_argument("-o", "--output", type=Path, metavar="PATH", help="output file, or folder for several inputs")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "transcribe":
        try:
            return _transcribe(args)
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return 130
    return 2


def _transcribe(args) -> int:
    from app.core import settings as settings_mod
    from app.core.errors import UserError

    try:
        settings = settings_mod.load(
            model=args.model,
            language=None if args.language in (None, "auto") else args.language.lower(),
            device=args.device,
            num_speakers=args.speakers,
            max_speakers=args.max_speakers,
        )
        target = _output_plan(args.output, args.files, args.format)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from app.core import pipeline
    from app.core.exports import FORMATS

    from app.core import devices

    try:
        pipeline.check_language(settings.language)
        devices.plan(settings.device, settings.compute_type)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(message)s")
    logging.getLogger("app").setLevel(logging.INFO)

    resources = pipeline.Resources()
    failed = 0
    for path in args.files:
        bar = ProgressBar(path.name)
        try:
            transcript = pipeline.run(path, settings, pipeline.Hooks(progress=bar.update), resources)
        except UserError as exc:
            bar.clear()
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        except Exception as exc:  # one broken file must not stop the others
            bar.clear()
            print(f"error: {path}: unexpected failure ({type(exc).__name__}: {exc}). Please report this.", file=sys.stderr)
            failed += 1
            continue
        bar.clear()
        for warning in transcript.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        text = FORMATS[args.format](transcript)
        destination = target(path)
        if destination is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            _write(destination, text)
            print(f"{path.name} -> {destination}", file=sys.stderr)
    if failed:
        print(f"{failed} of {len(args.files)} file(s) failed.", file=sys.stderr)
    return 1 if failed else 0


def _output_plan(output: Path | None, files: list[Path], fmt: str):
    """Where each input's result goes: stdout (None), the given file, or a folder."""
    from app.core.errors import UserError

    if output is None:
        return lambda path: None
    as_folder = len(files) > 1 or output.is_dir() or str(output).endswith(os.sep)
    if as_folder:
        if output.exists() and not output.is_dir():
            raise UserError(f"{output}: several inputs need an output folder, and this is a file.")
        return lambda path: output / f"{path.stem}.{fmt}"
    return lambda path: output


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class ProgressBar:
    """A bar on stderr when it is a terminal; otherwise one line per stage."""

    WIDTH = 28

    def __init__(self, name: str, stream=sys.stderr):
        self.name, self.stream = name, stream
        self.tty = stream.isatty()
        self.last_stage = None

    def update(self, fraction: float, stage: str) -> None:
        if self.tty:
            filled = int(self.WIDTH * fraction)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r[{bar}] {fraction * 100:3.0f}% {stage:<10} {self.name[:40]}")
            self.stream.flush()
        elif stage != self.last_stage:
            self.stream.write(f"{self.name}: {stage} ({fraction * 100:.0f}%)\n")
            self.stream.flush()
        self.last_stage = stage

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r" + " " * (self.WIDTH + 60) + "\r")
            self.stream.flush()
