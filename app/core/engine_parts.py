"""What the engine's parts (`engine.voices`, `engine.edits`, `engine.search`) share: the
history and the engine's events."""

from __future__ import annotations

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
