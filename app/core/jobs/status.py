"""The states a job goes through and the events the engine announces, with what each allows.

`StrEnum`s, so a state is stored in SQLite as its plain name and compares equal to it.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its process died mid-job: resumes from its checkpoints

    @property
    def finished(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)

    @property
    def can_cancel(self) -> bool:
        return self in (JobStatus.PENDING, JobStatus.IN_PROGRESS, JobStatus.INTERRUPTED)

    @property
    def can_retry(self) -> bool:
        return self in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.INTERRUPTED)

    @property
    def settled(self) -> bool:
        """Nothing runs it now, nor will without a user's word (removal may go ahead)."""
        return self is not JobStatus.IN_PROGRESS and self is not JobStatus.PENDING


FINISHED = tuple(s for s in JobStatus if s.finished)


class EventKind(StrEnum):
    ADDED = "added"
    PROGRESS = "progress"
    STATUS = "status"
    REMOVED = "removed"
