"""Find the speakers again with N speakers, from the voice embeddings stored with a result:
the words (corrected text included) stay, only who said them is decided again. Seconds,
not minutes: nothing is transcribed or embedded again.

The diarizer's windows (1.5 s, overlapping) are clustered into exactly N voices, each
window keeps the part of it nearer its own centre than its neighbours', and each word goes
to the voice whose stretch covers it most (align.py, as in a job). A new speaker keeps the
id (and so the typed name) of the old speaker most of its words came from, one to one.
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np

from app.core.speakers import align
from app.core.speakers import cluster
from app.core.speakers.diarizer import Turn
from app.core.common.errors import UserError
from app.core.document.transcript import Segment, Speaker, Transcript


def pack(subsegments, embeddings) -> bytes:
    """The diarizer's windows and their embeddings, as stored with a result: float32
    rows of (start, end, 192 values)."""
    embeddings = np.asarray(embeddings, dtype=np.float32)
    if len(embeddings) == 0 or len(embeddings) != len(subsegments):
        return b""
    rows = np.hstack([np.asarray(subsegments, dtype=np.float32).reshape(-1, 2), embeddings])
    buffer = io.BytesIO()
    np.save(buffer, rows, allow_pickle=False)
    return buffer.getvalue()


def unpack(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    rows = np.load(io.BytesIO(data), allow_pickle=False)
    if rows.ndim != 2 or rows.shape[1] < 3 or not np.all(np.isfinite(rows)):
        raise ValueError("not stored voice windows")
    return rows[:, :2].astype(np.float64), rows[:, 2:]


def speakers_again(transcript: Transcript, windows: bytes, count: int) -> Transcript:
    """`transcript` (its words as they are) with exactly `count` speakers."""
    if transcript.channels.get("heard") == "split":
        raise UserError("This call was heard a channel at a time, and each side's speakers come from its own "
                        "channel: to group the voices again across both, transcribe it again with the channels "
                        "mixed (Preferences, Stereo channels).")
    if not windows:
        raise UserError("This transcript has no stored voices to regroup (it was made before they were kept, "
                        "or resumed after a crash): transcribe it again.")
    spans, embeddings = unpack(windows)
    if not 1 <= count <= len(spans):
        raise UserError(f"Choose between 1 and {min(len(spans), 20)} speakers.")
    labels = cluster.cluster(embeddings, cluster.Options(exact=count))
    turns = _turns(spans, labels)
    words = [{"words": [dict(start=w.start, end=w.end, word=w.word, probability=w.probability) for w in seg.words]}
             for seg in transcript.segments if seg.words]
    regrouped = align.align(words, turns)
    ids = _keep_ids(transcript, regrouped)
    segments = tuple(replace(s, speaker=ids[s.speaker]) for s in regrouped)
    talk: dict[str, float] = {}
    for seg in segments:
        talk[seg.speaker] = talk.get(seg.speaker, 0.0) + seg.end - seg.start
    old = {s.id: s for s in transcript.speakers}
    speakers = tuple(
        replace(old[i], talk_time=round(talk[i], 2), voice=None) if i in old else Speaker(i, f"Speaker {n + 1}", round(talk[i], 2))
        for n, i in enumerate(sorted(talk))
    )
    return replace(transcript, segments=segments, speakers=speakers)


def _turns(spans: np.ndarray, labels: np.ndarray) -> list[Turn]:
    """Each window's own stretch (up to halfway into its overlapping neighbours), runs of
    one voice joined."""
    order = np.argsort(spans[:, 0], kind="stable")
    spans, labels = spans[order], labels[order]
    turns: list[list] = []
    for i, ((start, end), label) in enumerate(zip(spans, labels)):
        if i > 0 and spans[i - 1][1] > start:
            start = (start + spans[i - 1][1]) / 2
        if i + 1 < len(spans) and spans[i + 1][0] < end:
            end = (end + spans[i + 1][0]) / 2
        speaker = f"voice{int(label)}"
        if turns and turns[-1][2] == speaker and start - turns[-1][1] < 0.5:
            turns[-1][1] = max(turns[-1][1], end)
        else:
            turns.append([float(start), float(end), speaker])
    return [Turn(s, e, spk) for s, e, spk in turns]


def _keep_ids(before: Transcript, regrouped: list[Segment]) -> dict[str, str]:
    """{new voice: speaker id}: the old id most of its words were said by, one to one
    (the biggest overlaps first); a fresh id for the others."""
    said: dict[str, str] = {}
    for seg in before.segments:
        for w in seg.words:
            said[(w.start, w.end, w.word)] = seg.speaker
    overlap: dict[tuple[str, str], int] = {}
    for seg in regrouped:
        for w in seg.words:
            old = said.get((w.start, w.end, w.word))
            if old is not None:
                overlap[(seg.speaker, old)] = overlap.get((seg.speaker, old), 0) + 1
    ids: dict[str, str] = {}
    used: set[str] = set()
    for (voice, old), _ in sorted(overlap.items(), key=lambda kv: -kv[1]):
        if voice not in ids and old not in used:
            ids[voice] = old
            used.add(old)
    taken = {s.id for s in before.speakers} | used
    number = 0
    for seg in regrouped:
        if seg.speaker not in ids:
            while f"SPEAKER_{number:02d}" in taken:
                number += 1
            ids[seg.speaker] = f"SPEAKER_{number:02d}"
            taken.add(ids[seg.speaker])
    return ids
