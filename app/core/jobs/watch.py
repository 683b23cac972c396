"""Watched folders: which files in them are recordings ready to be queued, and how their
automatic exports are written. No store here: the engine's part (engine_watch.py) claims
each ready file in the history, so that it is queued once, by one watcher, ever.

A file is ready when its size and modification time have not changed for `settle`
seconds and nobody holds a lock on it. Partial downloads, temporary and hidden files are
never ready. A folder that goes away is reported once, and watched again when it is back.
"""

from __future__ import annotations

import errno
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app.core.audio_in import media
from app.core.settings import WatchedFolder

SETTLE_SEC = 3.0  # unchanged this long: a copy or a download has stopped
# What browsers, download managers, sync clients and editors name a file still being written.
PARTIAL = (".part", ".partial", ".crdownload", ".download", ".opdownload", ".filepart", ".tmp", ".temp", ".!ut",
           ".!qb", ".aria2", ".swp")
NAME_TRIES = 50  # talk.srt, talk (2).srt ... before an export is given up


def ignored(name: str) -> bool:
    """Never a recording to take, whatever it holds: hidden, temporary, partial."""
    lower = name.lower()
    return lower.startswith((".", "~", "#")) or lower.endswith(("~", "#")) or lower.endswith(PARTIAL)


@dataclass
class _Seen:
    signature: tuple[int, int]  # size, modification time (ns)
    since: float  # when it was first seen with this signature
    given: bool = False  # handed out with this signature


class FolderScan:
    """One watched folder, polled: `poll(now)` gives the files that became ready since
    the last poll and at most one line to report (gone, back)."""

    def __init__(self, folder: WatchedFolder, settle: float = SETTLE_SEC):
        self.folder, self._settle = folder, settle
        self._seen: dict[Path, _Seen] = {}
        self._present: bool | None = None

    def poll(self, now: float) -> tuple[list[Path], str]:
        root = self.folder.path
        present = root.is_dir() and os.access(root, os.R_OK | os.X_OK)
        report = ""
        if present != self._present:
            if not present:
                report = (f"The watched folder {root} is not there (a disk unplugged or a network share "
                          "gone?): it is watched again as soon as it is back.")
            elif self._present is False:
                report = f"The watched folder {root} is back: watching it again."
            self._present = present
        if not present:
            self._seen.clear()  # what comes back is looked at afresh (the history knows what was taken)
            return [], report
        found = dict(self._files())
        for gone in self._seen.keys() - found.keys():
            del self._seen[gone]
        ready = []
        for path, signature in found.items():
            seen = self._seen.get(path)
            if seen is None or seen.signature != signature:
                self._seen[path] = _Seen(signature, now)
            elif not seen.given and now - seen.since >= self._settle and signature[0] > 0 and not _locked(path):
                seen.given = True
                ready.append(path)
        return sorted(ready), report

    def _files(self):
        skip = self.folder.export_to.resolve() if self.folder.export_to else None
        pending = [self.folder.path]
        while pending:
            directory = pending.pop()
            try:
                entries = list(os.scandir(directory))
            except OSError:  # gone or unreadable meanwhile: looked at again next time
                continue
            for entry in entries:
                if ignored(entry.name):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if self.folder.subfolders and Path(entry.path).resolve() != skip:
                            pending.append(Path(entry.path))
                    elif entry.is_file() and media.is_media(Path(entry.name)):
                        stat = entry.stat()
                        yield Path(entry.path), (stat.st_size, stat.st_mtime_ns)
                except OSError:
                    continue


def _locked(path: Path) -> bool:
    """Whether another program holds a lock on the file (a writer that locks it while copying)."""
    try:
        import fcntl
    except ImportError:  # not on this system
        return False
    try:
        with open(path, "rb") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:  # unreadable: the job says why
        return False
    return False


def export_path(recording: Path, fmt: str, directory: Path, ours: Callable[[Path], bool]) -> Path | None:
    """Where the `fmt` export of `recording` goes in `directory`, named after it; a name
    taken by a file not written for this recording is left alone for "name (2).fmt".
    None when no name is free."""
    for n in range(1, NAME_TRIES + 1):
        target = directory / (f"{recording.stem}.{fmt}" if n == 1 else f"{recording.stem} ({n}).{fmt}")
        if not os.path.lexists(target) or ours(target):
            return target
    return None


def write_new(target: Path, data: str | bytes, replace: bool) -> None:
    """`data` in `target`, whole or not at all; an existing file is replaced only when
    `replace` (ours), else FileExistsError (a file the user made meanwhile stays)."""
    target.parent.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".ds-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)  # fails if the name was taken meanwhile: never over a file
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
            if os.path.lexists(target):  # a file system without hard links (exFAT, some shares)
                raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
            os.replace(tmp, target)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
