"""`watch FOLDER...`: the command line's watched folders, for a box without a screen."""

from __future__ import annotations

import signal
import sys
import threading
import time

from app.core.common.errors import UserError


def watch(args) -> int:
    from app.core import settings as settings_mod
    from app.core.engine import Engine

    try:
        settings = settings_mod.load()
        folders = tuple(settings_mod.WatchedFolder.from_json({
            "path": str(folder), "language": None if args.language in (None, "auto") else args.language.lower(),
            "num_speakers": args.speakers, "max_speakers": args.max_speakers,
            "exports": [f.strip().lower() for f in args.export.split(",") if f.strip()],
            "export_to": str(args.to) if args.to else None, "subfolders": args.subfolders}) for folder in args.folders)
        if not 0.5 <= args.settle <= 600:
            raise UserError(f"--settle must be between 0.5 and 600 seconds, not {args.settle:g}.")
        if args.to and not args.to.is_dir():
            raise UserError(f"--to {args.to}: no such folder. Create it first.")
        engine, problem = Engine.for_service(settings)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if problem:
        print(f"warning: {problem}", file=sys.stderr)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager's stop finishes the same way as ^C
    engine.start()
    if not engine.owner:
        print("Diarization Studio is open on this history: the recordings found run there.", file=sys.stderr)
    for folder in folders:
        print(f"Watching {folder.path}" + (" and its subfolders" if folder.subfolders else "")
              + (f"; exports: {', '.join(folder.exports)}" if folder.exports else "") + ". Stop with Ctrl-C.",
              file=sys.stderr, flush=True)
    try:
        engine.watching.run(folders, lambda: settings, stop, _say, printer=_printer(folders), settle=args.settle)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        engine.close()
    print("Stopped watching; a job still running resumes on the next start.", file=sys.stderr)
    return 0


def _say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def _printer(folders):
    if not any("pdf" in f.exports for f in folders):
        return None
    from app.printing import print_html

    return print_html
