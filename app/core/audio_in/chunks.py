"""Speech cut into chunks of about `chunk_sec`, the unit of work, progress and checkpoints.

A chunk is heard whole, silences included: whisper's voice detector misses a quiet party,
whom whisper still hears in context (shortening the silences lost words; evidence:
docs/accuracy.md#evidence-behind-the-code). Short stretches heard again on their own are
packed with the silences between them shortened (`packed`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PAUSE_SEC = 0.5  # a longer silence between two stretches of speech is shortened to this


@dataclass(frozen=True)
class Chunk:
    index: int
    start: float  # seconds
    end: float
    # The stretches whisper hears, one after the other; () means all of start..end.
    pieces: tuple[tuple[float, float], ...] = ()

    @property
    def heard(self) -> tuple[tuple[float, float], ...]:
        return self.pieces or ((self.start, self.end),)

    def to_dict(self) -> dict:
        return {"index": self.index, "start": self.start, "end": self.end}


def plan(regions: list[tuple[float, float]], chunk_sec: float) -> list[Chunk]:
    """Join consecutive speech regions while the chunk stays within `chunk_sec`.

    Chunk edges fall in silence between regions. A region longer than `chunk_sec` (the
    detector's limit plus its padding) is split in equal parts rather than cut short:
    cutting it dropped the speech past the limit.
    """
    spans: list[list[float]] = []
    for start, end in regions:
        if spans and end - spans[-1][0] <= chunk_sec:
            spans[-1][1] = end
            continue
        parts = max(1, math.ceil((end - start) / chunk_sec - 1e-9))
        step = (end - start) / parts
        spans.extend([start + i * step, start + (i + 1) * step] for i in range(parts))
    return [Chunk(i, round(s, 3), round(e, 3)) for i, (s, e) in enumerate(spans)]


def packed(stretches: list[tuple[float, float]], length: float, pause: float = PAUSE_SEC) -> list[Chunk]:
    """Stretches heard together, the silences between them shortened to PAUSE_SEC, each
    chunk at most `length` long as heard (a longer stretch is a chunk of its own)."""
    groups: list[list[tuple[float, float]]] = []
    for start, end in stretches:
        if groups and heard_length(squeeze(groups[-1] + [(start, end)], pause)) <= length:
            groups[-1].append((start, end))
        else:
            groups.append([(start, end)])
    out = []
    for i, group in enumerate(groups):
        pieces = tuple((round(s, 3), round(e, 3)) for s, e in squeeze(group, pause))
        out.append(Chunk(i, pieces[0][0], pieces[-1][1], pieces))
    return out


def squeeze(regions: list[tuple[float, float]], pause: float = PAUSE_SEC) -> list[tuple[float, float]]:
    """The stretches to hear, in order, so that played one after the other the silence
    between two regions is at most `pause` (regions closer than that stay one stretch;
    a longer silence keeps pause/2 of itself on each side)."""
    pieces: list[list[float]] = []
    for start, end in sorted(regions):
        if pieces and start - pieces[-1][1] <= pause:
            pieces[-1][1] = max(pieces[-1][1], end)
            continue
        if pieces:
            pieces[-1][1] += pause / 2
            start -= pause / 2
        pieces.append([start, end])
    return [(s, e) for s, e in pieces]


def heard_length(pieces: list[tuple[float, float]] | tuple[tuple[float, float], ...]) -> float:
    return sum(e - s for s, e in pieces)
