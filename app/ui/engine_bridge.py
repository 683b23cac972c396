"""The engine's events as Qt signals; jobs supervised from Qt's QThreadPool.

The heavy work runs in the engine's worker process; the pool thread only relays its
messages, so the window's event loop is never held up.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.core.engine import Engine, Event
from app.core.store import Store


class _Task(QRunnable):
    def __init__(self, fn):
        super().__init__()
        self._fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        self._fn()


class EngineBridge(QObject):
    """Signals carry the job id; slots read the job from `engine.store`."""

    jobAdded = Signal(int)
    jobProgress = Signal(int, float, str)
    jobStatus = Signal(int, str)
    jobRemoved = Signal(int)

    def __init__(self, store: Store, pool: QThreadPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self.engine = Engine(store, spawn=self.submit)
        self.engine.subscribe(self._relay)

    def submit(self, fn) -> None:
        """Runs `fn` on the pool, off the GUI thread."""
        self.pool.start(_Task(fn))

    def _relay(self, event: Event) -> None:
        # Emitted from pool threads; Qt queues the call to receivers living in the GUI thread.
        job = event.job
        if event.kind == "added":
            self.jobAdded.emit(job.id)
            if job.status != "pending":
                self.jobStatus.emit(job.id, job.status)
        elif event.kind == "progress":
            self.jobProgress.emit(job.id, job.progress, job.stage)
        elif event.kind == "status":
            self.jobStatus.emit(job.id, job.status)
        elif event.kind == "removed":
            self.jobRemoved.emit(job.id)

    def close(self) -> None:
        self.engine.close()
