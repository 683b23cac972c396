"""The engine's events as Qt signals; the engine's commands run on Qt's QThreadPool.

The heavy work runs in the engine's worker process; pool threads relay its messages and
do everything that touches the disk or a process (hashing an added file, scanning a
folder, removing a job), so the window's event loop is never held up.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.core.engine import Engine, Event
from app.core.status import EventKind


class _Task(QRunnable):
    def __init__(self, fn):
        super().__init__()
        self._fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        self._fn()


class EngineBridge(QObject):
    """Signals carry the job id; slots read the job through `engine`."""

    jobAdded = Signal(int)
    jobProgress = Signal(int, float, str)
    jobStatus = Signal(int, str)
    jobRemoved = Signal(int)
    pathsRefused = Signal(list)  # [Path]: not recordings (or folders without any)
    deviceFound = Signal(str, str)  # label, problem ("" when none)

    def __init__(self, store, pool: QThreadPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self.engine = Engine(store, spawn=self.submit)
        self.engine.subscribe(self._relay)

    # commands, off the window's thread

    def find_device(self, settings) -> None:
        """Which device jobs will use: probing for CUDA loads CTranslate2, which the window
        must not wait for before it shows."""
        from app.core import devices
        from app.core.errors import UserError

        def find() -> None:
            try:
                self.deviceFound.emit(devices.plan(settings.device, settings.compute_type).label, "")
            except UserError as exc:
                self.deviceFound.emit(settings.device, str(exc))

        self.submit(find)

    def add_paths(self, paths, settings) -> None:
        def add() -> None:
            _, refused = self.engine.add_paths(paths, settings)
            if refused:
                self.pathsRefused.emit(refused)

        self.submit(add)

    def cancel(self, job_id: int) -> None:
        self.submit(lambda: self.engine.cancel(job_id))

    def retry(self, job_id: int) -> None:
        self.submit(lambda: self.engine.retry(job_id))

    def remove(self, job_id: int) -> None:
        self.submit(lambda: self.engine.remove(job_id))

    def name_roles(self, job_id: int, settings) -> None:
        self.submit(lambda: self.engine.name_roles(job_id, settings))

    def submit(self, fn) -> None:
        """Runs `fn` on the pool, off the GUI thread."""
        self.pool.start(_Task(fn))

    def _relay(self, event: Event) -> None:
        # Emitted from pool threads; Qt queues the call to receivers living in the GUI thread.
        job = event.job
        if event.kind == EventKind.ADDED:
            self.jobAdded.emit(job.id)
            if job.status != "pending":
                self.jobStatus.emit(job.id, str(job.status))
        elif event.kind == EventKind.PROGRESS:
            self.jobProgress.emit(job.id, job.progress, job.stage)
        elif event.kind == EventKind.STATUS:
            self.jobStatus.emit(job.id, str(job.status))
        elif event.kind == EventKind.REMOVED:
            self.jobRemoved.emit(job.id)

    def close(self) -> None:
        self.engine.close()
