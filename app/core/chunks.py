"""Speech cut into chunks of about `chunk_sec`, the unit of work, progress and checkpoints."""

from __future__ import annotations

import math
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
