"""Corrections to a transcript: each takes a Transcript and gives a new one (nothing is
changed in place), so the window can undo and redo by keeping the one before.

The machine's result is never overwritten: the store keeps the edited transcript apart
(store.save_edit) and can revert to the machine's. A speaker's talk time after an edit is
the time of its segments.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

from app.core.common.errors import UserError
from app.core.document.transcript import Segment, Speaker, Transcript, Word


def merge_speakers(t: Transcript, keep: str, into_it: str) -> Transcript:
    """Speaker `into_it` becomes `keep` everywhere."""
    _known(t, keep)
    _known(t, into_it)
    if keep == into_it:
        return t
    segments = tuple(replace(s, speaker=keep) if s.speaker == into_it else s for s in t.segments)
    return _tidy(replace(t, segments=segments))


def move_segment(t: Transcript, index: int, speaker: str | None) -> Transcript:
    """Segment `index` said by `speaker` (None: a new speaker)."""
    return move_words(t, index, 0, len(_segment(t, index).words) - 1, speaker)


def move_words(t: Transcript, index: int, first: int, last: int, speaker: str | None) -> Transcript:
    """Words first..last of segment `index` said by `speaker` (None: a new speaker); the
    words before and after stay with their speaker, as segments of their own."""
    seg = _segment(t, index)
    if not 0 <= first <= last < max(1, len(seg.words)):
        raise UserError("Choose words of that segment.")
    t, speaker = _speaker_or_new(t, speaker)
    if not seg.words:  # a segment without word timings moves whole
        pieces = [replace(seg, speaker=speaker)]
    else:
        pieces = [
            _piece(seg.words[:first], seg.speaker),
            _piece(seg.words[first : last + 1], speaker),
            _piece(seg.words[last + 1 :], seg.speaker),
        ]
    return _tidy(_replace_segment(t, index, [p for p in pieces if p is not None]))


def split_segment(t: Transcript, index: int, word: int) -> Transcript:
    """Segment `index` in two, the second starting at word `word`."""
    seg = _segment(t, index)
    if not 0 < word < len(seg.words):
        raise UserError("A segment is split between two of its words.")
    return _tidy(_replace_segment(t, index, [_piece(seg.words[:word], seg.speaker), _piece(seg.words[word:], seg.speaker)]))


def edit_text(t: Transcript, index: int, text: str) -> Transcript:
    """Segment `index` says `text`. Words that did not change keep their timings; changed
    or new words share out the time of the words they replace (or the pause they fill)."""
    seg = _segment(t, index)
    retimed = _retimed(seg, text)
    return _tidy(_replace_segment(t, index, [retimed] if retimed else []))


def _retimed(seg: Segment, text: str) -> Segment | None:
    """`seg` saying `text` (see edit_text); None when nothing is left."""
    if not text.split():
        return None
    old = [(0, w) for w in seg.words] or [(0, Word(seg.start, seg.end, " " + w, 1.0)) for w in seg.text.split()]
    return _piece(tuple(w for _, w in _rewritten(old, text.split(), seg.start, seg.end)), seg.speaker)


def _rewritten(old: list[tuple[int, Word]], new: list[str], start: float, end: float,
               owner_first: int = 0) -> list[tuple[int, Word]]:
    """(owner, word) pairs saying `new`: unchanged words keep their timings and owner; a
    changed word takes the time and owner of what it replaces, an inserted one the pause
    it fills (between `start` and `end` at the edges) and the owner of the word before."""
    kept: list[tuple[int, Word]] = []
    matcher = difflib.SequenceMatcher(a=[w.word.strip() for _, w in old], b=new, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            kept += old[a0:a1]
            continue
        if b0 == b1:  # deleted
            continue
        if a0 < a1:  # replaced: the span (and owner) of the words they replace
            owner, first, last = old[a0][0], old[a0][1].start, old[a1 - 1][1].end
        else:  # inserted: the pause between the neighbours
            owner = old[a0 - 1][0] if a0 > 0 else owner_first
            first = old[a0 - 1][1].end if a0 > 0 else start
            last = max(first, old[a0][1].start if a0 < len(old) else end)
        step = (last - first) / (b1 - b0)
        kept += [(owner, Word(round(first + k * step, 3), round(first + (k + 1) * step, 3), " " + new[b0 + k], 1.0))
                 for k in range(b1 - b0)]
    return kept


def edit_paragraph(t: Transcript, indices: tuple[int, ...] | list[int], text: str) -> Transcript:
    """Consecutive segments `indices` (a paragraph of the reading view) say `text`, as
    edit_text does for one segment: unchanged words keep their timings and their
    segment; a changed or new word takes the time, and the segment, of what it replaces."""
    indices = sorted(indices)
    if not indices or indices != list(range(indices[0], indices[-1] + 1)):
        raise UserError("A paragraph is a run of consecutive segments.")
    segs = [_segment(t, i) for i in indices]
    old: list[tuple[int, Word]] = []
    for i, seg in zip(indices, segs):
        old += [(i, w) for w in seg.words] or [(i, Word(seg.start, seg.end, " " + w, 1.0)) for w in seg.text.split()]
    kept = _rewritten(old, text.split(), segs[0].start, segs[-1].end, indices[0])
    pieces = [_piece(tuple(w for owner, w in kept if owner == i), seg.speaker) for i, seg in zip(indices, segs)]
    segments = t.segments[: indices[0]] + tuple(p for p in pieces if p) + t.segments[indices[-1] + 1 :]
    return _tidy(replace(t, segments=segments))


def replace_all(t: Transcript, find: str, replacement: str, whole_words: bool = True,
                match_case: bool = False) -> tuple[Transcript, int]:
    """`find` replaced by `replacement` in every segment (a name misheard everywhere), as
    edit_text would; how many places changed."""
    import re

    if not find.strip():
        raise UserError("Type what to find.")
    pattern = re.escape(find.strip())
    if whole_words:
        pattern = rf"(?<!\w){pattern}(?!\w)"
    regex = re.compile(pattern, 0 if match_case else re.IGNORECASE)
    count, segments = 0, []
    for seg in t.segments:  # every segment first, tidied once: a re-sort midway would move the indices
        changed, n = regex.subn(lambda _m: replacement, seg.text)
        count += n
        retimed = _retimed(seg, changed) if n else seg
        segments.append(retimed if retimed is not None else seg)
    return (_tidy(replace(t, segments=tuple(segments))) if count else t), count


# helpers


def _known(t: Transcript, speaker: str) -> None:
    if speaker not in {s.id for s in t.speakers}:
        raise UserError(f"There is no speaker {speaker} in this transcript.")


def _segment(t: Transcript, index: int) -> Segment:
    if not 0 <= index < len(t.segments):
        raise UserError("That segment is not in this transcript.")
    return t.segments[index]


def _speaker_or_new(t: Transcript, speaker: str | None) -> tuple[Transcript, str]:
    if speaker is not None:
        _known(t, speaker)
        return t, speaker
    taken = {s.id for s in t.speakers}
    number = next(n for n in range(len(taken) + 1) if f"SPEAKER_{n:02d}" not in taken)
    new = Speaker(f"SPEAKER_{number:02d}", f"Speaker {len(t.speakers) + 1}", 0.0)
    return replace(t, speakers=t.speakers + (new,)), new.id


def _piece(words: tuple[Word, ...], speaker: str) -> Segment | None:
    if not words:
        return None
    return Segment(words[0].start, words[-1].end, speaker, "".join(w.word for w in words).strip(), tuple(words))


def _replace_segment(t: Transcript, index: int, pieces: list[Segment]) -> Transcript:
    return replace(t, segments=t.segments[:index] + tuple(pieces) + t.segments[index + 1 :])


def _tidy(t: Transcript) -> Transcript:
    """Segments in time order; neighbours of one speaker with no pause between them stay
    apart (the machine's cuts are kept); a speaker with no segment left goes; talk times
    from the segments."""
    segments = tuple(sorted(t.segments, key=lambda s: (s.start, s.end)))
    talk: dict[str, float] = {}
    for seg in segments:
        talk[seg.speaker] = talk.get(seg.speaker, 0.0) + seg.end - seg.start
    speakers = tuple(replace(s, talk_time=round(talk[s.id], 2)) for s in t.speakers if s.id in talk)
    return replace(t, segments=segments, speakers=speakers)
