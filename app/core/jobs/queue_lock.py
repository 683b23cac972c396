"""One owner of a history's queue: an exclusive lock on a file beside the history.

The operating system drops the lock when its process dies (kill -9, a power cut), so an
owner's death is known from the lock alone, not from process ids that may be reused.
"""

from __future__ import annotations

import os
from pathlib import Path


class QueueLock:
    def __init__(self, history_file: Path):
        self.path = Path(history_file).with_name(Path(history_file).name + ".owner")
        self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def try_acquire(self) -> bool:
        """True when this process now owns the queue (or already did)."""
        if self._file is not None:
            return True
        try:
            handle = _private_open(self.path)
        except OSError:
            return False
        try:
            _lock(handle)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())  # for people looking; never trusted
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            try:
                _unlock(self._file)
            finally:
                self._file.close()
                self._file = None


def _private_open(path: Path):
    """The lock file, its user's alone (0600) like the history beside it, whatever the umask."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    if os.name == "posix":
        try:
            if os.fstat(fd).st_mode & 0o077:
                os.fchmod(fd, 0o600)  # made by an older version
        except OSError:  # not ours to change: left as it is
            pass
    return os.fdopen(fd, "r+b")


if os.name == "nt":  # pragma: no cover - the app ships for macOS; kept usable elsewhere
    import msvcrt

    def _lock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _lock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
