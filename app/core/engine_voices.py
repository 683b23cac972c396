"""The engine's door to known voices (voices.py, store/voices.py): mixed into `Engine`.

Everything here runs in this process against the local history: signatures never leave
the machine.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .status import EventKind, JobStatus


class VoicesDoor:
    def voices(self) -> list[dict]:
        """Each known voice, its samples and where they came from."""
        return self.store.voice_list()

    def remember_voice(self, job_id: int, speaker_id: str, name: str) -> int:
        """The speaker's voice, from a finished job, as (another sample of) the voice `name`."""
        job = self._finished(job_id)
        vid = self.store.remember_voice(name, job.cache_key, speaker_id, source=job.shown_path)
        self._emit(EventKind.STATUS, job, renamed=speaker_id)
        return vid

    def rename_voice(self, old: str, new: str) -> None:
        self.store.rename_voice(old, new)

    def forget_voice(self, name: str) -> None:
        """The voice, every sample of it and every name it gave, removed for good."""
        self.store.forget_voice(name)

    def remove_voice_sample(self, sample_id: int) -> None:
        self.store.remove_sample(sample_id)

    def reject_voice(self, job_id: int, speaker_id: str) -> None:
        """This speaker is not the known voice it was matched to."""
        job = self._finished(job_id)
        self.store.reject_voice_match(job.cache_key, speaker_id)
        self._emit(EventKind.STATUS, job, renamed=speaker_id)

    def apply_voices(self, job_id: int | None = None) -> int:
        """Known voices applied to one past transcript (or all): from the signatures
        stored with them, nothing is run again. Returns how many speakers they name."""
        if job_id is not None:
            job = self._finished(job_id)
            found = len(self.store.apply_voices(job.cache_key))
            self._emit(EventKind.STATUS, job)
            return found
        return self.store.apply_voices_everywhere()

    def job_of_recording(self, recording: str) -> int:
        """The latest finished job of a recording: a job id, or a file already transcribed."""
        if recording.isdigit():
            return self._finished(int(recording)).id
        path = Path(recording)
        if not path.is_file():
            raise UserError(f"{recording}: no such file, and not a job id (see: python -m app jobs).")
        from .audio import file_sha256

        sha = file_sha256(path)
        done = [j for j in self.store.jobs((JobStatus.COMPLETED,)) if j.sha256 == sha]
        if not done:
            raise UserError(f"{recording} has not been transcribed yet: transcribe it first.")
        return max(done, key=lambda j: j.finished_at or 0).id

    def _finished(self, job_id: int):
        job = self.store.job(job_id)
        if job is None or job.status != JobStatus.COMPLETED:
            raise UserError(f"Job {job_id} has no finished transcript.")
        return job
