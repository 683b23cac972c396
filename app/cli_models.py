"""`models list|get NAME|remove NAME`: the Whisper models on this computer."""

from __future__ import annotations

import sys
import time

from app.core.common.errors import Cancelled, UserError


def models(args) -> int:
    from app.core import settings as settings_mod
    from app.core.engine import Engine

    try:
        settings = settings_mod.load()
        engine = Engine.for_reading(settings)
        if args.action == "list":
            rows = engine.models.list()
            print(f"{'model':<16} {'here':<5} {'on disk':>9} {'size':>9}  good for")
            for row in rows:
                here = "built in" if row.built_in else "yes" if row.here else "no"
                print(f"{row.name:<16} {here:<5} {_mb(row.disk_bytes):>9} {_mb(row.size) if row.size else '?':>9}  "
                      f"{row.languages}")
            print(f"In all: {_mb(sum(r.disk_bytes for r in rows))} in {settings.models_dir}")
        elif args.action == "get":
            shown = _Shown()
            folder = engine.models.get(args.name, progress=shown)
            shown.clear()
            print(f"{args.name}: ready in {folder}")
        else:
            freed = engine.models.remove(args.name)
            print(f"{args.name}: removed ({_mb(freed)} freed).")
    except UserError as exc:  # ModelError too
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (Cancelled, KeyboardInterrupt):
        print("\nstopped; 'models get' again resumes where it stopped.", file=sys.stderr)
        return 130
    return 0


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


class _Shown:
    """Bytes, speed and time left on one line of stderr, at most twice a second."""

    def __init__(self):
        self.last = 0.0

    def __call__(self, p) -> None:
        now = time.monotonic()
        if now - self.last < 0.5 and p.done < p.total:
            return
        self.last = now
        left = p.seconds_left
        eta = f", {int(left // 60)}:{int(left % 60):02d} left" if left is not None else ""
        print(f"\r{p.file}: {_mb(p.done)} of {_mb(p.total)} ({p.done / p.total:.0%}), "
              f"{p.speed / 1e6:.1f} MB/s{eta}   ", end="", file=sys.stderr, flush=True)

    def clear(self) -> None:
        print(file=sys.stderr)
