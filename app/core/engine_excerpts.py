"""A speaker's audio, or a selection's, the engine's part (`engine.excerpts`; excerpts.py).

What belongs to whom is the transcript as shown, corrections and all; the samples are the
recording's own, read from where the job found it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from app.core.common.errors import UserError
from app.core.engine_parts import Part


class Excerpts(Part):
    def __init__(self, store, emit, result):
        super().__init__(store, emit)
        self._result = result

    def save(self, job_id: int, out_path: Path, speaker: str | None = None, segments=None, mode: str = "joined",
             cancel: Callable[[], bool] | None = None, progress: Callable[[float], None] | None = None):
        """`speaker`'s turns (an id or a name), or the segments numbered in `segments`,
        from the job's recording to `out_path` (.wav or .flac): joined a short silence apart,
        or with `mode` "whole" the recording's length with the rest silenced. Returns
        `excerpts.Written`; UserError saying why nothing was written (the recording moved
        or changed since, an unknown speaker, a name that is not .wav or .flac, the
        recording itself)."""
        from app.core.audio_in import decode, excerpts

        job = self._finished(job_id)
        excerpts.check_target(Path(job.path), Path(out_path))
        transcript = self._result(job_id)
        spans = excerpts.spans_of(transcript, None if speaker is None else _speaker_id(transcript, job_id, speaker),
                                  segments)
        recording = Path(job.path)
        if not recording.is_file():
            raise UserError(f"The recording is no longer at {job.shown_path}; put it back there to save its audio.")
        if job.sha256 and decode.file_sha256(recording, cancel=cancel or (lambda: False)) != job.sha256:
            raise UserError(f"The recording at {job.shown_path} has changed since it was transcribed; "
                            "its audio no longer matches the transcript.")
        return excerpts.write(recording, spans, Path(out_path), mode=mode, cancel=cancel, progress=progress)


def _speaker_id(transcript, job_id: int, who: str) -> str:
    """The id of the speaker called `who` (an id such as SPEAKER_01, or the name it is shown
    with); UserError naming the speakers there are."""
    speakers = transcript.speakers
    if any(s.id == who for s in speakers):
        return who
    named = [s.id for s in speakers if s.name.casefold() == who.strip().casefold()]
    if len(named) == 1:
        return named[0]
    listed = ", ".join(f"{s.id} ({s.name})" for s in speakers) or "none"
    if named:
        raise UserError(f"More than one speaker of job {job_id} is called {who}: use the id ({listed}).")
    raise UserError(f"Job {job_id} has no speaker {who} (it has {listed}).")
