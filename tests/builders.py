"""What tests set up again and again: transcripts, and jobs already finished in the history.

A test names only what it is about; the rest takes a plain default (Spanish, whisper base
on the CPU, /a.wav).
"""

from __future__ import annotations

import numpy as np

from app.core.document.transcript import Segment, Source, Speaker, Transcript, Word


def words(*timed: tuple) -> tuple[Word, ...]:
    """Words from (start, end, text) or (start, end, text, probability); each text gets the
    leading space whisper gives it."""
    return tuple(Word(t[0], t[1], " " + t[2], t[3] if len(t) > 3 else 0.9) for t in timed)


def said(speaker: str, *timed: tuple) -> Segment:
    """A segment of these words (as `words` takes them), from the first one's start to the
    last one's end."""
    spoken = words(*timed)
    return Segment(spoken[0].start, spoken[-1].end, speaker, "".join(w.word for w in spoken).strip(), spoken)


def line(start: float, end: float, speaker: str, text: str, timed: bool = True) -> Segment:
    """A segment saying `text` from `start` to `end`, only its first word timed (over the
    first half-second); `timed=False`: no words at all."""
    first = words((start, start + 0.5, text.split()[0])) if timed else ()
    return Segment(start, end, speaker, text, first)


def transcript(*segments: Segment, path: str = "/a.wav", duration: float | None = None, language: str = "es",
               sha256: str = "0" * 64, device: str = "cpu", names: dict[str, str] | None = None,
               **fields) -> Transcript:
    """A transcript of `segments`. Its speakers are theirs in order of id, each called
    "Speaker N" unless `names` says otherwise and talking for the length of its segments;
    the recording lasts until the last segment ends unless `duration` says otherwise.
    `fields`: the transcript's other fields (timings, warnings)."""
    ids = sorted({s.speaker for s in segments})
    speakers = tuple(
        Speaker(sid, (names or {}).get(sid, f"Speaker {n + 1}"),
                round(sum(s.end - s.start for s in segments if s.speaker == sid), 3))
        for n, sid in enumerate(ids)
    )
    if duration is None:
        duration = max((s.end for s in segments), default=1.0)
    return Transcript(Source(path, sha256, duration), language, "base", device, speakers, tuple(segments), **fields)


def voice(*values: float) -> np.ndarray:
    """A voice signature pointing along `values` (the rest of its dimensions zero)."""
    from app.core.speakers import signatures as voices

    vector = np.zeros(voices.DIMENSIONS, dtype=np.float32)
    vector[: len(values)] = values
    return voices.unit(vector)


def finished_job(store, result: Transcript, key: str = "k", voices: dict[str, bytes] | None = None,
                 path: str | None = None, sha256: str | None = None, settings: dict | None = None):
    """A job of `store`'s history, completed with `result` (and its speakers' voice
    signatures) under the cache key `key`; for the file and hash of the result's source
    unless `path` and `sha256` say otherwise. Returns the job, completed."""
    source = result.source
    job = store.add_job(path or source.path, source.sha256 if sha256 is None else sha256, key, settings or {})
    return store.complete(job.id, key, result, voices)
