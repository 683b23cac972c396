"""Words to speakers by time overlap; segments that never span a speaker change."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import replace

from app.core.whisper.coverage import union
from app.core.speakers.diarizer import Turn
from app.core.document.transcript import Segment, Speaker, Word

# A word further than this from every turn keeps the speaker of the word before it.
NEAREST_TURN_SEC = 1.0
# A pause this long starts a new segment even when the speaker stays the same.
PAUSE_SEC = 1.5
# A change of speaker may move this many words to a pause or a sentence end.
SNAP_WORDS = 3
SENTENCE_BONUS = 0.3
# ... only to a pause this much longer than the one at the diarizer's own change: a breath
# inside a phrase is no turn (evidence: docs/accuracy.md#evidence-behind-the-code).
SNAP_MARGIN_SEC = 0.25
# A word the voice detector still hears speech after ends with that speech, this much later
# at most (see fill_tails).
TAIL_SEC = 0.3


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


def align(whisper_segments: list[dict], turns: list[Turn],
          speech: list[tuple[float, float]] | None = None, hear=None) -> list[Segment]:
    """Cut whisper's segments wherever the speaker changes (or a long pause falls); with the
    diarizer's voice detector's `speech`, the speech at each change goes to its words.
    `hear(words, speakers, firsts)` may give sentences other speakers (sentences.py)."""
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

    words, speakers, firsts = [], [], []
    for seg in whisper_segments:
        for i, raw in enumerate(seg["words"]):
            word = Word(raw["start"], raw["end"], raw["word"], raw["probability"])
            speaker = speaker_of(word, turns, starts) or previous
            words.append(word)
            speakers.append(speaker)
            firsts.append(i == 0)
            previous = speaker
    speakers = snap_changes(words, speakers)
    if speech:
        words = fill_tails(fill_changes(words, speakers, turns, speech), speech)
    if hear is not None and words:
        speakers = hear(words, speakers, firsts)
    for word, speaker, first in zip(words, speakers, firsts):
        pause = bool(current) and word.start - current[-1].end >= PAUSE_SEC
        if speaker != current_speaker or pause or (first and current):
            close()
            current, current_speaker = [], speaker
        current.append(word)
    close()
    return segments


def snap_changes(words: list[Word], speakers: list[str]) -> list[str]:
    """Moves each change of speaker to the likeliest place between two words nearby.

    The diarizer's turns come from 1.5 s windows, so a change can land a word or three
    off. People take turns at pauses and at the ends of sentences: within SNAP_WORDS words
    of the change (and never past another change), the cut goes where the pause before the
    next word is longest, a sentence end counting as SENTENCE_BONUS seconds of pause.
    """
    original = list(speakers)
    speakers = list(speakers)
    for i in range(1, len(words)):
        if original[i] == original[i - 1]:
            continue
        before, after = original[i - 1], original[i]
        lo = i  # the cut may go back over the run of `before`, never past another change
        while lo - 1 > 0 and i - lo < SNAP_WORDS and original[lo - 2] == before:
            lo -= 1
        hi = i
        while hi + 1 < len(words) and hi - i < SNAP_WORDS and original[hi] == after and original[hi + 1] == after:
            hi += 1
        best, best_score = i, _cut_score(words, i) + SNAP_MARGIN_SEC  # a move has to be clearly better
        for j in range(lo, hi + 1):
            score = _cut_score(words, j)
            if score > best_score:
                best, best_score = j, score
        for k in range(min(best, i), max(best, i)):
            speakers[k] = before if best > i else after
    return speakers


def fill_changes(words: list[Word], speakers: list[str], turns: list[Turn],
                 speech: list[tuple[float, float]]) -> list[Word]:
    """Closes the gap at each change of speaker where the diarizer heard speech in it.

    Whisper ends a word when its sound fades and starts the next where it is loud, so the
    moments around a change, often both people at once, fell between two speakers' words
    and belonged to nobody. The speech the voice detector heard in such a gap (under
    PAUSE_SEC) goes to the words on each side, up to the diarizer's own change of speaker
    held inside the gap; silence in it stays silence.
    """
    speech = union(speech)
    changes = [b.start for a, b in zip(turns, turns[1:]) if a.speaker != b.speaker]
    words = list(words)
    for i in range(1, len(words)):
        before, after = words[i - 1], words[i]
        if speakers[i] == speakers[i - 1] or not 0 < after.start - before.end < PAUSE_SEC:
            continue
        middle = (before.end + after.start) / 2
        k = bisect.bisect_left(changes, middle)
        change = min(changes[max(0, k - 1) : k + 1], key=lambda t: abs(t - middle), default=middle)
        cut = min(max(change, before.end), after.start)
        heard = _overlapping(speech, before.end, cut)
        if heard:
            words[i - 1] = replace(before, end=round(min(cut, heard[-1][1]), 3))
        heard = _overlapping(speech, cut, after.start)
        if heard:
            words[i] = replace(after, start=round(max(cut, heard[0][0]), 3))
    return words


def fill_tails(words: list[Word], speech: list[tuple[float, float]]) -> list[Word]:
    """Each word that ends inside a stretch of speech ends with it, at most TAIL_SEC later
    and never past the next word's start.

    Whisper ends a word as its sound fades, and its times fall on a 20-ms grid: the last
    word before a pause ended up to a few tenths of a second before the voice detector's
    speech did, speech that belonged to nobody (evidence:
    docs/accuracy.md#evidence-behind-the-code).
    """
    speech = union(speech)
    starts = [s for s, _ in speech]
    out = list(words)
    for i, word in enumerate(out):
        k = bisect.bisect_right(starts, word.end) - 1
        if k < 0 or not speech[k][0] <= word.end < speech[k][1]:
            continue
        limit = out[i + 1].start if i + 1 < len(out) else float("inf")
        end = min(speech[k][1], word.end + TAIL_SEC, limit)
        if end > word.end:
            out[i] = replace(word, end=round(end, 3))
    return out


def _overlapping(spans: list[tuple[float, float]], start: float, end: float) -> list[tuple[float, float]]:
    """The sorted, disjoint `spans` that overlap (start, end)."""
    i = max(0, bisect.bisect_left(spans, (start, start)) - 1)
    found = []
    while i < len(spans) and spans[i][0] < end:
        if spans[i][1] > start:
            found.append(spans[i])
        i += 1
    return found


def _cut_score(words: list[Word], j: int) -> float:
    """How likely a change of speaker falls between words j-1 and j."""
    pause = max(0.0, words[j].start - words[j - 1].end)
    ends_sentence = words[j - 1].word.strip().endswith((".", "?", "!"))
    return pause + (SENTENCE_BONUS if ends_sentence else 0.0)


def speaker_ids(segments: list[Segment]) -> dict[str, str]:
    """{diarizer label: stable id}, the ids in order of first appearance (SPEAKER_00, ...)."""
    order: dict[str, str] = {}
    for seg in segments:
        order.setdefault(seg.speaker, f"SPEAKER_{len(order):02d}")
    return order


def name_speakers(segments: list[Segment], turns: list[Turn]) -> tuple[list[Segment], list[Speaker]]:
    """Stable ids in order of first appearance (SPEAKER_00, ...), each with its talk time.

    Talk time is the voice activity the diarizer gave the speaker; a speaker without a
    single transcribed word is left out.
    """
    order = speaker_ids(segments)
    talk = defaultdict(float)
    for turn in turns:
        talk[turn.speaker] += turn.end - turn.start
    if not turns:
        for seg in segments:
            talk[seg.speaker] += seg.end - seg.start
    renamed = [Segment(s.start, s.end, order[s.speaker], s.text, s.words) for s in segments]
    speakers = [Speaker(new, f"Speaker {i + 1}", round(talk[old], 2)) for i, (old, new) in enumerate(order.items())]
    return renamed, speakers
