"""The transcript as a document people file, quote and code: Markdown, Word (.docx) and
the HTML a PDF is printed from (the window, command line and API print it with Qt, which
the core never imports). Pure functions of a Transcript, all built on its turns
(turns.py): a heading, the recording, its date and length, the speakers with their talk
time, then each turn with its speaker's name (in the speaker's colour where a format has
colour) and, as chosen, a time per turn or per paragraph, or none.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import PurePath

from app.core.document import notes_doc
from app.core.document.text import one_line
from app.core.document.transcript import Transcript
from app.core.document.turns import Turn, text_of, turns

STAMPS = ("turn", "paragraph", "none")
# One colour a speaker, by the number in its id, the window's too: distinct in light and
# dark appearance alike.
SPEAKER_COLOURS = ("#2E86DE", "#E67E22", "#27AE60", "#8E44AD", "#C0392B", "#16A085", "#D35400", "#7F8C8D")


def speaker_colour(speaker_id: str) -> str:
    digits = "".join(ch for ch in speaker_id if ch.isdigit())
    return SPEAKER_COLOURS[int(digits or 0) % len(SPEAKER_COLOURS)]


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(max(seconds, 0.0))), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def header(t: Transcript, when: str = "") -> list[tuple[str, str]]:
    """(label, value) lines that open every document."""
    lines = [("Recording", one_line(PurePath(t.source.path).name) or "?")]
    if when:
        lines.append(("Date", when))
    lines.append(("Duration", clock(t.source.duration)))
    if t.language:
        lines.append(("Language", t.language))
    return lines


def speakers(t: Transcript) -> list[tuple[str, str, str]]:
    """(id, name, talk time) of each speaker, the most talkative first."""
    ordered = sorted(t.speakers, key=lambda s: -s.talk_time)
    return [(s.id, one_line(s.name) or s.id, clock(s.talk_time)) for s in ordered]


def _paragraphs(t: Transcript, turn: Turn, stamps: str) -> list[tuple[str, str]]:
    """(time or "", text) of each paragraph of a turn."""
    out = []
    for i, paragraph in enumerate(turn.paragraphs):
        stamp = clock(paragraph.start) if stamps == "paragraph" or (stamps == "turn" and i == 0) else ""
        out.append((stamp, text_of(t, paragraph)))
    return out


def to_markdown(t: Transcript, stamps: str = "turn", when: str = "", notes=None) -> str:
    """`notes`: (the notes' data, whether current), shown before the transcript."""
    names = t.speaker_names()
    lines = ["# Transcript", ""]
    lines += [f"- **{label}:** {_md(value)}" for label, value in header(t, when)]
    lines += ["", "## Speakers", ""]
    lines += [f"- {_md(name)}: {talk}" for _, name, talk in speakers(t)]
    if notes:
        lines += [""] + notes_doc.markdown(*notes, names, 2, _md)
    lines += ["", "## Transcript", ""]
    for turn in turns(t):
        name = _md(one_line(names.get(turn.speaker, turn.speaker)) or "?")
        for i, (stamp, text) in enumerate(_paragraphs(t, turn, stamps)):
            lead = f"**{name}**" if i == 0 else ""
            if stamp:
                lead = f"{lead} ({stamp})" if lead else f"({stamp})"
            lines += [f"{lead}: {_md(text)}" if lead else _md(text), ""]
    return "\n".join(lines).rstrip() + "\n"


def to_html(t: Transcript, stamps: str = "turn", when: str = "", notes=None) -> str:
    """A whole HTML page (what a PDF is printed from, and what a copy carries as rich text)."""
    names = t.speaker_names()
    e = html.escape
    parts = ["<html><head><meta charset='utf-8'><title>Transcript</title></head><body>", "<h1>Transcript</h1>"]
    parts += [f"<p><b>{e(label)}:</b> {e(value)}</p>" for label, value in header(t, when)]
    parts.append("<h2>Speakers</h2><ul>")
    parts += [f"<li><span style='color:{speaker_colour(sid)}'>{e(name)}</span>: {e(talk)}</li>"
              for sid, name, talk in speakers(t)]
    parts.append("</ul>")
    if notes:
        parts.append(f"<h2>Notes</h2><p><i>{e(notes_doc.about(*notes))}</i></p>")
        for heading, points in notes_doc.sections(notes[0], names):
            parts.append(f"<h3>{e(heading)}</h3><ul>")
            for point in points:
                text, cited = notes_doc.point_text(point)
                flag = f" <b style='color:#C0392B'>Unsupported: {e(point['problem'])}.</b>" if point["problem"] else ""
                parts.append(f"<li>{e(text)} <span style='color:#777'>{e(cited)}</span>{flag}</li>")
            parts.append("</ul>")
    parts.append("<h2>Transcript</h2>")
    for turn in turns(t):
        name = e(one_line(names.get(turn.speaker, turn.speaker)) or "?")
        for i, (stamp, text) in enumerate(_paragraphs(t, turn, stamps)):
            lead = f"<b style='color:{speaker_colour(turn.speaker)}'>{name}</b>" if i == 0 else ""
            if stamp:
                lead += f" <span style='color:#777'>({e(stamp)})</span>"
            parts.append(f"<p>{lead + ': ' if lead else ''}{e(text)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def to_docx(t: Transcript, stamps: str = "turn", when: str = "", notes=None) -> bytes:
    from docx import Document
    from docx.shared import RGBColor

    names = t.speaker_names()
    doc = Document()
    doc.add_heading("Transcript", level=0)
    for label, value in header(t, when):
        line = doc.add_paragraph()
        line.add_run(f"{label}: ").bold = True
        line.add_run(_xml_safe(value))
    doc.add_heading("Speakers", level=1)
    for sid, name, talk in speakers(t):
        item = doc.add_paragraph(style="List Bullet")
        run = item.add_run(_xml_safe(name))
        run.font.color.rgb = RGBColor.from_string(speaker_colour(sid)[1:].upper())
        item.add_run(f": {talk}")
    if notes:
        doc.add_heading("Notes", level=1)
        doc.add_paragraph().add_run(_xml_safe(notes_doc.about(*notes))).italic = True
        for heading, points in notes_doc.sections(notes[0], names):
            doc.add_heading(_xml_safe(heading), level=2)
            for point in points:
                text, cited = notes_doc.point_text(point)
                item = doc.add_paragraph(style="List Bullet")
                item.add_run(_xml_safe(text))
                item.add_run(f" {cited}").font.color.rgb = RGBColor(0x77, 0x77, 0x77)
                if point["problem"]:
                    flag = item.add_run(_xml_safe(f" Unsupported: {point['problem']}."))
                    flag.bold, flag.font.color.rgb = True, RGBColor(0xC0, 0x39, 0x2B)
    doc.add_heading("Transcript", level=1)
    for turn in turns(t):
        name = _xml_safe(one_line(names.get(turn.speaker, turn.speaker)) or "?")
        for i, (stamp, text) in enumerate(_paragraphs(t, turn, stamps)):
            paragraph = doc.add_paragraph()
            if i == 0:
                run = paragraph.add_run(name)
                run.bold = True
                run.font.color.rgb = RGBColor.from_string(speaker_colour(turn.speaker)[1:].upper())
            if stamp:
                paragraph.add_run(f" ({stamp})" if i == 0 else f"({stamp})").font.color.rgb = RGBColor(0x77, 0x77, 0x77)
            if i == 0 or stamp:
                paragraph.add_run(": ")
            paragraph.add_run(_xml_safe(text))
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _md(text: str) -> str:
    """Text that Markdown shows as it is (a name or word never becomes markup or a link),
    still readable as plain text."""
    out = "".join("\\" + ch if ch in "\\`*_[]<>|~" else ch for ch in text)
    return "\\" + out if re.match(r"[#+\-=]|\d+[.)]", out) else out


def _xml_safe(text: str) -> str:
    """Word's XML refuses control characters; a transcript may hold any."""
    return "".join(ch for ch in text if ch in "\t\n" or ord(ch) >= 32)
