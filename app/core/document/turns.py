"""The transcript as people read it: turns and paragraphs.

A turn is everything one speaker says until another speaks, whatever the pauses inside
it. A long pause may start a new paragraph of the same turn, but only where a sentence
has ended: never a new speaker line, never a break in the middle of a sentence. Every
text export and the window's reading view use this one structure.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.document.transcript import Transcript

PARAGRAPH_PAUSE_SEC = 3.0  # a pause this long after a finished sentence starts a new paragraph
SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")


@dataclass(frozen=True)
class Paragraph:
    start: float
    end: float
    segments: tuple[int, ...]  # indices into the transcript's segments, in order


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float
    paragraphs: tuple[Paragraph, ...]

    @property
    def segments(self) -> tuple[int, ...]:
        return tuple(i for p in self.paragraphs for i in p.segments)


def turns(t: Transcript, pause: float = PARAGRAPH_PAUSE_SEC) -> list[Turn]:
    """The transcript's turns in time order (segments are in time order already; two people
    heard at once on two channels give turns that overlap in time)."""
    out: list[Turn] = []
    speaker, paragraphs, current = None, [], []
    for i, seg in enumerate(t.segments):
        if seg.speaker != speaker:
            if current:
                paragraphs.append(current)
                out.append(_turn(t, speaker, paragraphs))
            speaker, paragraphs, current = seg.speaker, [], [i]
            continue
        before = t.segments[current[-1]]
        if seg.start - before.end >= pause and ends_sentence(before.text):
            paragraphs.append(current)
            current = []
        current.append(i)
    if current:
        paragraphs.append(current)
        out.append(_turn(t, speaker, paragraphs))
    return out


def ends_sentence(text: str) -> bool:
    return text.rstrip().rstrip("\"'”’»)").endswith(SENTENCE_END)


def text_of(t: Transcript, paragraph: Paragraph) -> str:
    return " ".join(t.segments[i].text.strip() for i in paragraph.segments if t.segments[i].text.strip())


def _turn(t: Transcript, speaker: str, paragraphs: list[list[int]]) -> Turn:
    made = tuple(Paragraph(t.segments[p[0]].start, max(t.segments[i].end for i in p), tuple(p)) for p in paragraphs)
    return Turn(speaker, made[0].start, max(p.end for p in made), made)
