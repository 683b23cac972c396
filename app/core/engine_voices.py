"""Known voices, the engine's part (`engine.voices`; voices.py, store/voices.py).

Everything here runs in this process against the local history: signatures never leave
the machine.
"""

from __future__ import annotations

from pathlib import Path

from app.core.engine_parts import Part
from app.core.common.errors import UserError
from app.core.jobs.status import EventKind, JobStatus


class Voices(Part):
    def list(self) -> list[dict]:
        """Each known voice, its samples and where they came from."""
        return self._store.voice_list()

    def remember(self, job_id: int, speaker_id: str, name: str) -> int:
        """The speaker's voice, from a finished job, as (another sample of) the voice `name`."""
        job = self._finished(job_id)
        vid = self._store.remember_voice(name, job.cache_key, speaker_id, source=job.shown_path)
        self._emit(EventKind.STATUS, job, renamed=speaker_id)
        return vid

    def rename(self, old: str, new: str) -> None:
        self._store.rename_voice(old, new)

    def forget(self, name: str) -> None:
        """The voice, every sample of it and every name it gave, removed for good."""
        self._store.forget_voice(name)

    def remove_sample(self, sample_id: int) -> None:
        self._store.remove_sample(sample_id)

    def reject(self, job_id: int, speaker_id: str) -> None:
        """This speaker is not the known voice it was matched to."""
        job = self._finished(job_id)
        self._store.reject_voice_match(job.cache_key, speaker_id)
        self._emit(EventKind.STATUS, job, renamed=speaker_id)

    def apply(self, job_id: int | None = None) -> int:
        """Known voices applied to one past transcript (or all): from the signatures
        stored with them, nothing is run again. Returns how many speakers they name."""
        if job_id is not None:
            job = self._finished(job_id)
            found = len(self._store.apply_voices(job.cache_key))
            self._emit(EventKind.STATUS, job)
            return found
        return self._store.apply_voices_everywhere()

    def job_of(self, recording: str) -> int:
        """The latest finished job of a recording: a job id, or a file already transcribed."""
        if recording.isdigit():
            return self._finished(int(recording)).id
        path = Path(recording)
        if not path.is_file():
            raise UserError(f"{recording}: no such file, and not a job id (see: python -m app jobs).")
        from app.core.audio_in.decode import file_sha256

        sha = file_sha256(path)
        done = [j for j in self._store.jobs((JobStatus.COMPLETED,)) if j.sha256 == sha]
        if not done:
            raise UserError(f"{recording} has not been transcribed yet: transcribe it first.")
        return max(done, key=lambda j: j.finished_at or 0).id
