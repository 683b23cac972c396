"""Words to speakers by time overlap; segments that never span a speaker change."""

from __future__ import annotations

import bisect
from collections import defaultdict

from .diarize import Turn
from .transcript import Segment, Speaker, Word

# A word further than this from every turn keeps the speaker of the word before it.
NEAREST_TURN_SEC = 1.0
# A pause this long starts a new segment even when the speaker stays the same.
PAUSE_SEC = 1.5


def speaker_of(word: Word, turns: list[Turn], starts: list[float]) -> str | None:
    """The speaker whose turns overlap the word most; else the nearest turn, if close."""
    i = bisect.bisect_right(starts, word.end)
    best, best_overlap = None, 0.0
    nearest, nearest_gap = None, NEAREST_TURN_SEC
    for turn in turns[max(0, i - 8) : i + 1]:
        overlap = min(word.end, turn.end) - max(word.start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
        gap = max(turn.start - word.end, word.start - turn.end, 0.0)
        if gap < nearest_gap:
            nearest, nearest_gap = turn.speaker, gap
    return best or nearest


def align(whisper_segments: list[dict], turns: list[Turn]) -> list[Segment]:
    """Cut whisper's segments wherever the speaker changes (or a long pause falls)."""
    turns = sorted(turns, key=lambda t: t.start)
    starts = [t.start for t in turns]
    default = turns[0].speaker if turns else "SPEAKER_00"
    segments: list[Segment] = []
    current: list[Word] = []
    current_speaker = None
    previous = default

    def close() -> None:
        if current:
            text = "".join(w.word for w in current).strip()
            segments.append(Segment(current[0].start, current[-1].end, current_speaker, text, tuple(current)))

    for seg in whisper_segments:
        for i, raw in enumerate(seg["words"]):
            word = Word(raw["start"], raw["end"], raw["word"], raw["probability"])
            speaker = speaker_of(word, turns, starts) or previous
            pause = bool(current) and word.start - current[-1].end >= PAUSE_SEC
            if speaker != current_speaker or pause or (i == 0 and current):
                close()
                current, current_speaker = [], speaker
            current.append(word)
            previous = speaker
    close()
    return segments


def name_speakers(segments: list[Segment], turns: list[Turn]) -> tuple[list[Segment], list[Speaker]]:
    """Stable ids in order of first appearance (SPEAKER_00, ...), each with its talk time.

    Talk time is the voice activity the diarizer gave the speaker; a speaker without a
    single transcribed word is left out.
    """
    order: dict[str, str] = {}
    for seg in segments:
        order.setdefault(seg.speaker, f"SPEAKER_{len(order):02d}")
    talk = defaultdict(float)
    for turn in turns:
        talk[turn.speaker] += turn.end - turn.start
    if not turns:
        for seg in segments:
            talk[seg.speaker] += seg.end - seg.start
    renamed = [Segment(s.start, s.end, order[s.speaker], s.text, s.words) for s in segments]
    speakers = [Speaker(new, f"Speaker {i + 1}", round(talk[old], 2)) for i, (old, new) in enumerate(order.items())]
    return renamed, speakers
