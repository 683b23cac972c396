"""Exports: pure functions of a Transcript in JSON, SRT, WebVTT, plain text, RTTM,
Markdown, Word and HTML (documents.py; the PDF is printed from the HTML outside the core).
Plain text and the documents are written turn by turn (turns.py); subtitles and RTTM
segment by segment."""

from __future__ import annotations

import json
import re
from typing import Callable

from app.core.document.text import cue_text, one_line
from app.core.document.transcript import Segment, Transcript

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


def _names(t: Transcript) -> dict[str, str]:
    """Speaker names as one clean line each, whatever was stored (a name can never add a
    line, and so a forged cue, to a subtitle file)."""
    return {speaker: one_line(name) or speaker for speaker, name in t.speaker_names().items()}


def _name(names: dict[str, str], speaker: str) -> str:
    return names.get(speaker) or one_line(speaker) or "?"


def to_srt(t: Transcript) -> str:
    names = _names(t)
    blocks = []
    for seg in t.segments:
        for start, end, text in cues(seg):
            blocks.append(
                f"{len(blocks) + 1}\n{_clock(start, ',')} --> {_clock(end, ',')}\n"
                f"{cue_text(_name(names, seg.speaker))}: {cue_text(text)}\n"
            )
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(t: Transcript) -> str:
    names = _names(t)
    blocks = ["WEBVTT\n"]
    for seg in t.segments:
        voice = _vtt_escape(cue_text(_name(names, seg.speaker)))
        for start, end, text in cues(seg):
            blocks.append(f"{_clock(start, '.')} --> {_clock(end, '.')}\n<v {voice}>{_vtt_escape(cue_text(text))}</v>\n")
    return "\n".join(blocks)


def to_txt(t: Transcript) -> str:
    """A turn a block: its start and speaker, then its paragraphs, a blank line between turns."""
    from app.core.document.turns import text_of, turns

    names = _names(t)
    blocks = []
    for turn in turns(t):
        lines = [cue_text(text_of(t, p)) for p in turn.paragraphs]
        lines[0] = f"[{_clock(turn.start, '.')[:8]}] {_name(names, turn.speaker)}: {lines[0]}"
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _rttm_token(text: str) -> str:
    return re.sub(r"\s+", "_", text.strip()) or "unknown"


def to_rttm(t: Transcript) -> str:
    from pathlib import PurePath

    file_id = _rttm_token(one_line(PurePath(t.source.path).stem, 200))
    names = _names(t)
    lines = [
        f"SPEAKER {file_id} 1 {s.start:.3f} {max(s.end - s.start, 0):.3f} <NA> <NA> "
        f"{_rttm_token(_name(names, s.speaker))} <NA> <NA>"
        for s in t.segments
    ]
    return "\n".join(lines) + ("\n" if lines else "")


def render(fmt: str, t: Transcript, with_folder: bool = False, stamps: str = "turn", made: float | None = None,
           printer=None, notes: tuple[dict, bool] | None = None) -> str | bytes:
    """The transcript in `fmt` (bytes for docx and pdf); without the recording's folder
    (which often names a client or a patient) unless asked for. `stamps` and `made` (when
    the transcript was made) shape the documents (documents.py); a PDF is printed from the
    HTML by `printer(html) -> bytes`, which a front end brings (the core never imports Qt).
    `notes`: (the notes' data, whether current), in the documents and the JSON."""
    if not with_folder:
        from dataclasses import replace
        from pathlib import PurePath

        t = replace(t, source=replace(t.source, path=PurePath(t.source.path).name))
    if fmt == "json" and notes:
        from app.core.document.notes_doc import for_json

        return json.dumps(t.to_dict() | {"notes": for_json(*notes)}, ensure_ascii=False, indent=2) + "\n"
    if fmt not in DOCUMENTS and fmt != PRINTED:
        return FORMATS[fmt](t)
    import datetime

    from app.core.common.errors import UserError
    from app.core.document import documents

    if stamps not in documents.STAMPS:
        raise UserError(f"Time stamps are given per {', '.join(documents.STAMPS)}, not '{stamps}'.")
    when = datetime.datetime.fromtimestamp(made).strftime("%Y-%m-%d %H:%M") if made else ""
    if fmt == PRINTED:
        if printer is None:
            raise UserError("A PDF is printed by the window, the command line or the API.")
        return printer(documents.to_html(t, stamps, when, notes))
    return getattr(documents, DOCUMENTS[fmt])(t, stamps, when, notes)


FORMATS: dict[str, Callable[[Transcript], str]] = {
    "json": to_json,
    "srt": to_srt,
    "vtt": to_vtt,
    "txt": to_txt,
    "rttm": to_rttm,
}
# The documents: rendered by documents.py (Word's library loads only for Word).
DOCUMENTS = {"md": "to_markdown", "docx": "to_docx", "html": "to_html"}
PRINTED = "pdf"  # printed from the HTML by a front end (app/printing.py): Qt stays out of the core
ALL = (*FORMATS, *DOCUMENTS, PRINTED)
BINARY = ("docx", "pdf")
