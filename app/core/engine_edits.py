"""The engine's door to corrections (edits.py): mixed into `Engine`. The machine's result is
kept; the corrected transcript is what `result`, exports, `show` and search give.
(`_finished` comes from VoicesDoor, mixed into the same Engine.)"""

from __future__ import annotations

from .status import EventKind
from .transcript import Transcript


class EditsDoor:
    def save_edit(self, job_id: int, transcript: Transcript) -> None:
        job = self._finished(job_id)
        self.store.save_edit(job.cache_key, transcript)
        self._emit(EventKind.STATUS, job, edited=True)

    def revert(self, job_id: int) -> None:
        """Back to the machine's result (names typed stay)."""
        job = self._finished(job_id)
        self.store.revert_edits(job.cache_key)
        self._emit(EventKind.STATUS, job, edited=False)

    def speakers_again(self, job_id: int, transcript: Transcript, count: int) -> Transcript:
        """`transcript` (the job's, as shown and corrected) with its words given to exactly
        `count` speakers found again from the stored voices; not saved (see save_edit)."""
        from . import recluster

        job = self._finished(job_id)
        return recluster.speakers_again(transcript, self.store.speaker_windows(job.cache_key), count)

    def has_edits(self, job_id: int) -> bool:
        job = self.store.job(job_id)
        return bool(job) and self.store.has_edits(job.cache_key)
