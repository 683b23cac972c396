"""Known voices: each speaker's voice signature, and which known voice it matches.

A speaker's signature is the mean of the diarizer's own CAM++ embeddings (one per 1.5 s
window) over the windows that speaker talks in, normalised: the voice is found again
without running anything more. A known voice is one or more such signatures (samples)
under a name. Matching gives each speaker of a recording at most one known voice and
each known voice at most one speaker, the pairs chosen together for the highest total
similarity (not first come), and keeps only pairs at or above the threshold.

Signatures are biometric data: they stay in the local history (the store), never go to
Ollama or to a remote worker's machine (a remote job sends its signatures back; the
matching runs here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DIMENSIONS = 192  # CAM++
# cosine similarity for a match: the middle of the safe range (evidence: docs/accuracy.md#evidence-behind-the-code)
THRESHOLD = 0.76
MIN_WINDOWS = 2  # a speaker heard in fewer windows than this gets no signature


@dataclass(frozen=True)
class Match:
    speaker_id: str
    voice_id: int
    name: str
    similarity: float


def signatures(turns, subsegments, embeddings) -> dict[str, np.ndarray]:
    """{diarizer speaker label: unit-length signature}: each window goes to the speaker
    whose turns cover most of it (at least half)."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if len(embeddings) == 0 or len(embeddings) != len(subsegments):
        return {}
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for (start, end), vector in zip(subsegments, embeddings):
        cover: dict[str, float] = {}
        for turn in turns:
            overlap = min(end, turn.end) - max(start, turn.start)
            if overlap > 0:
                cover[turn.speaker] = cover.get(turn.speaker, 0.0) + overlap
        if not cover:
            continue
        speaker, seconds = max(cover.items(), key=lambda kv: kv[1])
        if seconds < 0.5 * (end - start):
            continue
        norm = float(np.linalg.norm(vector))
        if norm == 0 or not np.isfinite(norm):
            continue
        sums[speaker] = sums.get(speaker, 0.0) + vector / norm
        counts[speaker] = counts.get(speaker, 0) + 1
    return {speaker: unit(total) for speaker, total in sums.items() if counts[speaker] >= MIN_WINDOWS}


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    vector = np.frombuffer(data, dtype="<f4")
    if vector.shape != (DIMENSIONS,) or not np.all(np.isfinite(vector)):
        raise ValueError("not a voice signature")
    return vector


def match(speakers: dict[str, np.ndarray], known: list[tuple[int, str, list[np.ndarray]]],
          threshold: float = THRESHOLD) -> list[Match]:
    """The best assignment of known voices (id, name, samples) to speakers, one to one;
    a voice's similarity to a speaker is its best sample's cosine similarity."""
    ids = [s for s in speakers]
    voices = [(vid, name, samples) for vid, name, samples in known if samples]
    if not ids or not voices:
        return []
    from scipy.optimize import linear_sum_assignment

    heard = np.stack([unit(speakers[s]) for s in ids])
    table = np.empty((len(ids), len(voices)), dtype=np.float32)
    for j, (_, _, samples) in enumerate(voices):
        table[:, j] = (heard @ np.stack([unit(v) for v in samples]).T).max(axis=1)
    # Pairs under the threshold must not pull the others: they weigh nothing.
    weights = np.where(table >= threshold, table, 0.0)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    found = [
        Match(ids[i], voices[j][0], voices[j][1], round(float(table[i, j]), 3))
        for i, j in zip(rows, cols) if table[i, j] >= threshold
    ]
    return sorted(found, key=lambda m: m.speaker_id)
