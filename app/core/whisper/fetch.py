"""Getting a catalogue model from the Hugging Face hub (or a server speaking its protocol,
`HF_ENDPOINT`): resumable, checked, never half in place.

Each file is fetched into `models/.partial/NAME/` and resumed from what is there (an HTTP
range request), after a dropped connection or a restart alike. A file is checked against
the catalogue's size and sha256 before the model is moved, whole, into `models/NAME/`,
the only folder a job loads from. One process fetches a model at a time (a lock file);
another asking for it waits and then finds it there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app.core.common.errors import Cancelled, ModelError
from app.core.whisper.catalogue import Entry

DEFAULT_ENDPOINT = "https://huggingface.co"
PIECE = 1 << 20  # read and counted a piece at a time
RETRIES = 5  # a dropped connection is resumed this many times before giving up
MARGIN = 64 << 20  # free space kept beyond the model's own
READ_TIMEOUT_SEC = 30.0
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class Progress:
    done: int  # bytes of the model on disk, checked or not
    total: int
    speed: float  # bytes a second, over the last seconds
    file: str

    @property
    def seconds_left(self) -> float | None:
        return (self.total - self.done) / self.speed if self.speed > 0 else None


def folder(models_dir: Path, entry: Entry) -> Path:
    return Path(models_dir) / entry.name


def installed(models_dir: Path, entry: Entry) -> bool:
    """Whether the model is in place: moved there only once every file passed its check."""
    target = folder(models_dir, entry)
    return all((target / f.name).is_file() and (target / f.name).stat().st_size == f.size for f in entry.files) \
        and bool(entry.files)


def fetch(entry: Entry, models_dir: Path, endpoint: str = DEFAULT_ENDPOINT, offline: bool = False,
          progress: Callable[[Progress], None] = lambda p: None, cancel: Callable[[], bool] = lambda: False) -> Path:
    """The model's folder, fetched first if it is not here; ModelError with one line saying
    why not (offline, not pinned, no room, not on the server, no answer, a file that fails
    its check: removed), Cancelled when `cancel()` (what came stays, for a resume)."""
    target = folder(models_dir, entry)
    if installed(models_dir, entry):
        return target
    if not entry.pinned:
        raise ModelError(f"The '{entry.name}' model cannot be downloaded by this version: its files are not "
                         "pinned in the catalogue yet. Use a model folder of your own, or the built-in 'base'.")
    if offline:
        raise ModelError(f"The '{entry.name}' model is not on this computer and downloads are off (offline, or "
                         "HF_HUB_OFFLINE): nothing was changed.")
    with _exclusive(Path(models_dir), entry.name, cancel):
        if installed(models_dir, entry):  # fetched by another job or process meanwhile
            return target
        partial = Path(models_dir) / ".partial" / entry.name
        partial.mkdir(parents=True, exist_ok=True)
        _room(Path(models_dir), entry, partial)
        meter = _Meter(entry, partial, progress)
        for spec in entry.files:
            _fetch_file(entry, spec, partial / f"{spec.name}.part", endpoint, meter, cancel)
        _install(entry, partial, target)
    return target


def remove_partial(models_dir: Path, entry: Entry) -> None:
    """What a cancelled download left (its resume is given up)."""
    shutil.rmtree(Path(models_dir) / ".partial" / entry.name, ignore_errors=True)


def disk_use(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) if Path(path).exists() else 0


class _Meter:
    def __init__(self, entry: Entry, partial: Path, progress):
        self.total, self.progress = entry.size, progress
        self.done = sum(min(_size(partial / f"{f.name}.part"), f.size) for f in entry.files)
        self.window: list[tuple[float, int]] = [(time.monotonic(), self.done)]

    def add(self, count: int, name: str) -> None:
        self.done += count
        now = time.monotonic()
        self.window = [(t, d) for t, d in self.window if now - t < 5.0] + [(now, self.done)]
        first_t, first_d = self.window[0]
        speed = (self.done - first_d) / (now - first_t) if now > first_t else 0.0
        self.progress(Progress(self.done, self.total, speed, name))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _room(models_dir: Path, entry: Entry, partial: Path) -> None:
    needed = sum(max(f.size - _size(partial / f"{f.name}.part"), 0) for f in entry.files)
    free = shutil.disk_usage(models_dir).free
    if free < needed + MARGIN:
        raise ModelError(f"Not enough free disk space for the '{entry.name}' model: it needs "
                         f"{_mb(needed + MARGIN)}, and {models_dir} has {_mb(free)} free. Free some space and try again.")


def _mb(size: int) -> str:
    return f"{size / 1e6:,.0f} MB"


def _fetch_file(entry: Entry, spec, part: Path, endpoint: str, meter: _Meter, cancel) -> None:
    import httpx

    url = f"{endpoint.rstrip('/')}/{entry.repo}/resolve/{entry.revision}/{spec.name}"
    if _size(part) > spec.size:
        part.unlink()
    tries = 0
    timeout = httpx.Timeout(15.0, read=READ_TIMEOUT_SEC)
    while _size(part) < spec.size:
        have = _size(part)
        try:
            with httpx.Client(follow_redirects=True, max_redirects=5, timeout=timeout) as client, \
                    client.stream("GET", url, headers={"Range": f"bytes={have}-"} if have else {}) as answer:
                if answer.status_code in (401, 403, 404):
                    raise ModelError(f"The '{entry.name}' model is not on the server ({entry.repo}, {spec.name}: "
                                     f"HTTP {answer.status_code}). Check the catalogue or HF_ENDPOINT.")
                if answer.status_code == 200 and have:
                    part.unlink()  # the server sent the whole file: start over
                    have = 0
                elif answer.status_code not in (200, 206):
                    raise ModelError(f"The server answered HTTP {answer.status_code} for {spec.name} of the "
                                     f"'{entry.name}' model; try again later.")
                with open(part, "ab") as out:
                    for piece in answer.iter_bytes(PIECE):
                        if cancel():
                            raise Cancelled()
                        room = spec.size - out.tell()
                        out.write(piece[:room])
                        meter.add(min(len(piece), room), spec.name)
                        if len(piece) > room:
                            break
        except (httpx.TransportError, OSError) as exc:  # dropped, refused, stalled: resumed from what came
            if isinstance(exc, OSError) and not isinstance(exc, (ConnectionError, TimeoutError)):
                raise ModelError(f"Could not write the '{entry.name}' model to {part.parent}: "
                                 f"{exc.strerror or exc}.") from None
            tries += 1
            if tries > RETRIES:
                raise ModelError(f"The download of the '{entry.name}' model failed ({type(exc).__name__}: the "
                                 f"server at {endpoint} stopped answering); it resumes from here next time.") from None
            time.sleep(min(0.5 * tries, 3.0))
    if _sha256(part) != spec.sha256:
        part.unlink()
        raise ModelError(f"{spec.name} of the '{entry.name}' model did not match the catalogue's checksum; it was "
                         "removed. Try again (and check HF_ENDPOINT if it happens again).")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _install(entry: Entry, partial: Path, target: Path) -> None:
    """Every checked file moved, together, to where jobs load from (a folder rename)."""
    ready = partial.parent / f"{entry.name}.ready"
    shutil.rmtree(ready, ignore_errors=True)
    ready.mkdir()
    for spec in entry.files:
        os.replace(partial / f"{spec.name}.part", ready / spec.name)
    shutil.rmtree(target, ignore_errors=True)  # one left by an older catalogue
    os.replace(ready, target)
    shutil.rmtree(partial, ignore_errors=True)


class _exclusive:
    """One fetch of a model at a time: in this process (a lock) and across processes (a lock file)."""

    def __init__(self, models_dir: Path, name: str, cancel):
        self.path = models_dir / ".partial" / f"{name}.lock"
        with _locks_guard:
            self.lock = _locks.setdefault(str(self.path), threading.Lock())
        self.cancel = cancel

    def __enter__(self):
        while not self.lock.acquire(timeout=0.2):
            if self.cancel():
                raise Cancelled()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a")
        try:
            import fcntl
        except ImportError:
            return self
        while True:
            try:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if self.cancel():
                    self.__exit__()
                    raise Cancelled() from None
                time.sleep(0.2)

    def __exit__(self, *exc) -> None:
        self.handle.close()
        self.lock.release()
