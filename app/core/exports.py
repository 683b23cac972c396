"""Exports: pure functions of a Transcript to text in JSON, SRT, WebVTT, plain text and RTTM."""

from __future__ import annotations

import json
import re
from typing import Callable

from .transcript import Segment, Transcript

# Subtitle cues stay short enough to read: split a long segment at word boundaries.
CUE_MAX_SEC = 7.0
CUE_MAX_CHARS = 84


def to_json(t: Transcript) -> str:
    return json.dumps(t.to_dict(), ensure_ascii=False, indent=2) + "\n"


def clock(seconds: float | None) -> str:
    """A duration as people read it: 4:05, or 1:02:03 past an hour; "" when unknown."""
    if seconds is None:
        return ""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _clock(seconds: float, sep: str) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def cues(segment: Segment) -> list[tuple[float, float, str]]:
    """(start, end, text) pieces of a segment, each short enough for one subtitle."""
    if not segment.words:
        return [(segment.start, segment.end, segment.text)]
    pieces, current = [], []
    for word in segment.words:
        text = "".join(w.word for w in current + [word]).strip()
        if current and (word.end - current[0].start > CUE_MAX_SEC or len(text) > CUE_MAX_CHARS):
            pieces.append(current)
            current = []
        current.append(word)
    pieces.append(current)
    return [(p[0].start, p[-1].end, "".join(w.word for w in p).strip()) for p in pieces]


def to_srt(t: Transcript) -> str:
    names = t.speaker_names()
    blocks = []
    for seg in t.segments:
        for start, end, text in cues(seg):
            blocks.append(
                f"{len(blocks) + 1}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{names.get(seg.speaker, seg.speaker)}: {text}\n"
            )
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(t: Transcript) -> str:
    names = t.speaker_names()
    blocks = ["WEBVTT\n"]
    for seg in t.segments:
        voice = _vtt_escape(names.get(seg.speaker, seg.speaker))
        for start, end, text in cues(seg):
            blocks.append(f"{_clock(start, '.')} --> {_clock(end, '.')}\n<v {voice}>{_vtt_escape(text)}</v>\n")
    return "\n".join(blocks)


def to_txt(t: Transcript) -> str:
    names = t.speaker_names()
    lines = [f"[{_clock(s.start, '.')[:8]}] {names.get(s.speaker, s.speaker)}: {s.text}" for s in t.segments]
    return "\n".join(lines) + ("\n" if lines else "")


def _rttm_token(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip()) or "unknown"


def to_rttm(t: Transcript) -> str:
    from pathlib import PurePath

    file_id = _rttm_token(PurePath(t.source.path).stem)
    names = t.speaker_names()
    lines = [
        f"SPEAKER {file_id} 1 {s.start:.3f} {max(s.end - s.start, 0):.3f} <NA> <NA> "
        f"{_rttm_token(names.get(s.speaker, s.speaker))} <NA> <NA>"
        for s in t.segments
    ]
    return "\n".join(lines) + ("\n" if lines else "")


FORMATS: dict[str, Callable[[Transcript], str]] = {
    "json": to_json,
    "srt": to_srt,
    "vtt": to_vtt,
    "txt": to_txt,
    "rttm": to_rttm,
}
