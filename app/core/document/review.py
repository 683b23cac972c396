"""The places of a transcript most likely to be wrong, ranked, for a person to check.

What puts words in the wrong mouth, most likely first (the order measured on the dev set:
bench/bench_review.py, docs/accuracy.md#the-review-list):

- a change of speaker with no pause between the two speakers' words, or whose first word
  whisper was unsure of, or in the middle of a sentence (where the diarizer's change and
  whisper's words may disagree);
- a run of words whisper was unsure of;
- a short turn between two turns of one other speaker;
- a known voice matched close to the threshold;
- a speaker heard for only a few seconds in the whole recording;
- speech heard with no words recognised (the stretches a job's warning names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.document.transcript import Transcript
from app.core.document.turns import ends_sentence, turns

SHORT_TURN_SEC = 2.5
FEW_SECONDS = 6.0  # a speaker talking less than this in all
UNSURE = 0.5  # word probability under which whisper was unsure
UNSURE_RUN = 3  # words in a row
NEAR_THRESHOLD = 0.05  # a known voice's similarity within this of the threshold
QUICK_CHANGE_SEC = 0.15  # words of two speakers closer than this: whisper's times ran them together
# Ordered by how often a place of the kind held a word on the wrong speaker on the dev set
# (bench/bench_review.py: quick change 33%, mid-sentence 27%, unsure words 13%, short turn 9%,
# few seconds 0 of 8; near threshold not seen there; no words can hold none but is shown)
WEIGHTS = {"quick change": 1.0, "mid-sentence": 0.95, "unsure words": 0.6, "short turn": 0.55, "near threshold": 0.5,
           "few seconds": 0.45, "no words": 0.3}
LABELS = {
    "short turn": "A short turn between two of {other}'s",
    "few seconds": "{speaker} is heard for only {seconds:.0f} s in the whole recording",
    "mid-sentence": "The speaker changes in the middle of a sentence",
    "quick change": "A change of speaker the words either side may not agree with",
    "near threshold": "Named {speaker} by a known voice, only just ({similarity:.2f})",
    "no words": "Speech was heard here but no words recognised",
    "unsure words": "Words the recogniser was unsure of",
}


@dataclass(frozen=True)
class Spot:
    start: float
    end: float
    kind: str
    score: float
    text: str  # what to tell the person
    segment: int | None = None  # the first segment it concerns

    @property
    def key(self) -> str:
        """Stable while the transcript's words stay: what a "this is right" is kept under."""
        return f"{self.kind}@{self.start:.2f}-{self.end:.2f}"


def spots(t: Transcript, threshold: float | None = None, cleared: frozenset[str] = frozenset()) -> list[Spot]:
    """Every doubtful place, most doubtful first, without those marked right (`cleared`)."""
    found = _short_turns(t) + _few_seconds(t) + _mid_sentence(t) + _near_threshold(t, threshold) + \
        _no_words(t) + _unsure_words(t)
    found = [s for s in found if s.key not in cleared]
    return sorted(found, key=lambda s: (-s.score, s.start))


def _names(t: Transcript) -> dict[str, str]:
    return t.speaker_names()


def _short_turns(t: Transcript) -> list[Spot]:
    out, names, all_turns = [], _names(t), turns(t)
    for before, turn, after in zip(all_turns, all_turns[1:], all_turns[2:]):
        length = turn.end - turn.start
        if before.speaker == after.speaker != turn.speaker and length < SHORT_TURN_SEC:
            score = WEIGHTS["short turn"] * (1.0 - min(length, SHORT_TURN_SEC * 2) / (SHORT_TURN_SEC * 4))
            other = names.get(before.speaker, before.speaker)
            out.append(Spot(turn.start, turn.end, "short turn", score, LABELS["short turn"].format(other=other),
                            turn.segments[0]))
    return out


def _few_seconds(t: Transcript) -> list[Spot]:
    out, names = [], _names(t)
    talk: dict[str, float] = {}
    for seg in t.segments:
        talk[seg.speaker] = talk.get(seg.speaker, 0.0) + seg.end - seg.start
    if len(talk) < 2:
        return out
    for speaker, seconds in talk.items():
        if seconds < FEW_SECONDS:
            first = next(i for i, s in enumerate(t.segments) if s.speaker == speaker)
            seg = t.segments[first]
            score = WEIGHTS["few seconds"] * (1.0 - seconds / (FEW_SECONDS * 2))
            out.append(Spot(seg.start, seg.end, "few seconds", score,
                            LABELS["few seconds"].format(speaker=names.get(speaker, speaker), seconds=seconds), first))
    return out


def _mid_sentence(t: Transcript) -> list[Spot]:
    """Changes of speaker mid-sentence, and changes with no pause: the last word before and
    the first words after are where a word goes to the wrong person."""
    out = []
    all_turns = turns(t)
    for before, after in zip(all_turns, all_turns[1:]):
        last, first = t.segments[before.segments[-1]], t.segments[after.segments[0]]
        gap = after.start - before.end
        start = last.words[-1].start if last.words else max(last.start, last.end - 1.0)
        end = first.words[min(1, len(first.words) - 1)].end if first.words else min(first.end, first.start + 1.0)
        doubt = 1.0 - (first.words[0].probability if first.words else 1.0)
        if not ends_sentence(last.text) and gap < 1.0:
            out.append(Spot(start, end, "mid-sentence", WEIGHTS["mid-sentence"] * (0.8 + 0.2 * doubt),
                            LABELS["mid-sentence"], after.segments[0]))
        elif gap < QUICK_CHANGE_SEC or doubt > 1.0 - UNSURE:  # no pause, or a first word whisper was unsure of
            out.append(Spot(start, end, "quick change", WEIGHTS["quick change"] * (0.7 + 0.3 * doubt),
                            LABELS["quick change"], after.segments[0]))
    return out


def _near_threshold(t: Transcript, threshold: float | None) -> list[Spot]:
    out = []
    if threshold is None:
        from app.core.speakers.signatures import THRESHOLD as threshold
    for speaker in t.speakers:
        similarity = (speaker.voice or {}).get("similarity")
        if similarity is not None and similarity - threshold < NEAR_THRESHOLD:
            first = next((i for i, s in enumerate(t.segments) if s.speaker == speaker.id), None)
            if first is not None:
                seg = t.segments[first]
                out.append(Spot(seg.start, seg.end, "near threshold", WEIGHTS["near threshold"],
                                LABELS["near threshold"].format(speaker=speaker.name, similarity=similarity), first))
    return out


_RANGE = re.compile(r"(\d+(?::\d\d){1,2})-(\d+(?::\d\d){1,2})")


def _no_words(t: Transcript) -> list[Spot]:
    out = []
    for warning in t.warnings:
        if "no words recognised at" not in warning:
            continue
        for a, b in _RANGE.findall(warning.split("no words recognised at", 1)[1]):
            start, end = _seconds(a), _seconds(b)
            out.append(Spot(start, max(end, start + 1.0), "no words", WEIGHTS["no words"], LABELS["no words"],
                            _segment_near(t, start)))
    return out


def _unsure_words(t: Transcript) -> list[Spot]:
    out = []
    for index, seg in enumerate(t.segments):
        run: list = []
        for word in list(seg.words) + [None]:
            if word is not None and word.probability < UNSURE:
                run.append(word)
                continue
            if len(run) >= UNSURE_RUN:
                doubt = 1.0 - sum(w.probability for w in run) / len(run)
                out.append(Spot(run[0].start, run[-1].end, "unsure words", WEIGHTS["unsure words"] * doubt,
                                LABELS["unsure words"], index))
            run = []
    return out


def _seconds(clock: str) -> float:
    value = 0.0
    for part in clock.split(":"):
        value = value * 60 + int(part)
    return value


def _segment_near(t: Transcript, time: float) -> int | None:
    best = None
    for i, seg in enumerate(t.segments):
        if seg.start <= time + 1.0:
            best = i
    return best
