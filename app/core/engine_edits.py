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

    def has_edits(self, job_id: int) -> bool:
        job = self.store.job(job_id)
        return bool(job) and self.store.has_edits(job.cache_key)
