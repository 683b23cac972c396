"""What the engine's parts (`engine.voices`, `engine.edits`, `engine.search`) share: the
history and the engine's events; and how the engine opens the history."""

from __future__ import annotations

from pathlib import Path

from app.core.common.errors import UserError
from app.core.jobs.status import JobStatus


class Part:
    def __init__(self, store, emit):
        self._store, self._emit = store, emit

    def _finished(self, job_id: int):
        """The job, which has a transcript; else UserError."""
        job = self._store.job(job_id)
        if job is None or job.status != JobStatus.COMPLETED:
            raise UserError(f"Job {job_id} has no finished transcript.")
        return job


def open_history(settings) -> tuple:
    """The history, for the window and the command line alike. When it cannot be used, a
    history kept in a temporary folder until the app quits, and the reason to show, so
    that work goes on and the damaged file is left untouched."""
    import tempfile

    from app.core.store import Store

    try:
        return Store(settings.history_file), ""
    except UserError as exc:
        folder = Path(tempfile.mkdtemp(prefix="diarization-session-"))
        return Store(folder / "history.db"), f"{exc} Until then, new jobs run but are not kept after you quit."


def fingerprint(job) -> tuple:
    """What of a job, changed by another process, the engine announces."""
    return (job.status, job.progress, job.stage, job.note, job.error)


def gone(job_id: int):
    """A stand-in for a job another process removed (only its id is read)."""
    from app.core.store import Job

    return Job(job_id, "", "", "", {}, JobStatus.CANCELLED, 0.0, "", "", None, False, 0, 0, 0, None, 0.0, None, None)
