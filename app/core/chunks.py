"""Speech cut into chunks of about `chunk_sec`, the unit of work, progress and checkpoints."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chunk:
    index: int
    start: float  # seconds
    end: float

    def to_dict(self) -> dict:
        return {"index": self.index, "start": self.start, "end": self.end}


def plan(regions: list[tuple[float, float]], chunk_sec: float) -> list[Chunk]:
    """Join consecutive speech regions while the chunk stays within `chunk_sec`.

    Chunk edges fall in silence between regions, never inside speech, so no word is cut.
    """
    spans: list[list[float]] = []
    for start, end in regions:
        if spans and end - spans[-1][0] <= chunk_sec:
            spans[-1][1] = end
        else:
            spans.append([start, min(end, start + chunk_sec)])
    return [Chunk(i, round(s, 3), round(e, 3)) for i, (s, e) in enumerate(spans)]
