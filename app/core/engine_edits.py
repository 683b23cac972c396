"""Corrections, the engine's part (`engine.edits`; edits.py). The machine's result is kept;
the corrected transcript is what `result`, exports, `show` and search give."""

from __future__ import annotations

from app.core.engine_parts import Part
from app.core.jobs.status import EventKind
from app.core.document.transcript import Transcript


class Edits(Part):
    def save(self, job_id: int, transcript: Transcript) -> None:
        job = self._finished(job_id)
        self._store.save_edit(job.cache_key, transcript)
        self._emit(EventKind.STATUS, job, edited=True)

    def revert(self, job_id: int) -> None:
        """Back to the machine's result (names typed stay)."""
        job = self._finished(job_id)
        self._store.revert_edits(job.cache_key)
        self._emit(EventKind.STATUS, job, edited=False)

    def speakers_again(self, job_id: int, transcript: Transcript, count: int) -> Transcript:
        """`transcript` (the job's, as shown and corrected) with its words given to exactly
        `count` speakers found again from the stored voices; not saved (see save)."""
        from app.core.speakers import recluster

        job = self._finished(job_id)
        return recluster.speakers_again(transcript, self._store.speaker_windows(job.cache_key), count)

    def exist(self, job_id: int) -> bool:
        """Whether the job's transcript has corrections."""
        job = self._store.job(job_id)
        return bool(job) and self._store.has_edits(job.cache_key)
