"""Speech that no word covers: found after transcription and diarization, given a second try.

The diarizer's voice detector and whisper's chunks come from different detectors; a
stretch one hears and the other misses (a quiet party under whisper's detector's
threshold, a sentence whisper skipped) would otherwise vanish without a word.
"""

from __future__ import annotations

import bisect

MIN_GAP_SEC = 0.8  # speech shorter than this without words is let go (a breath, a click)
REPORT_SEC = 1.0  # speech this long that still gives no words is named in a warning
PAD_SEC = 0.25  # of context on each side when a gap is transcribed on its own
MAX_GAP_SEC = 24.0  # a longer gap is transcribed in pieces (whisper hears 30 s at a time)
WORD_REACH_SEC = 0.3  # a word covers this much around itself
# cap at each end of a word stretched over skipped speech (evidence: docs/accuracy.md#evidence-behind-the-code)
WORD_COVER_SEC = 1.0
MIN_PROBABILITY = 0.4  # mean word probability under which a gap's words are taken as noise
# a word begun in a pause starts at most this before its speech (evidence: docs/accuracy.md#evidence-behind-the-code)
LEAD_SEC = 0.1
# ... or the sound before: the detector hears far voices late (evidence: docs/accuracy.md#evidence-behind-the-code)
SOUND_LEAD_SEC = 0.5
# A word wholly in silence that ends less than this before a stretch of speech was begun too
# early by whisper (a channel heard alone is silent between its turns); it is moved there,
# at most this long.
EARLY_SEC, MOVED_SEC = 1.0, 0.2


def uncovered(speech: list[tuple[float, float]], words: list[tuple[float, float]], *, pad: float = PAD_SEC,
              shortest: float = MIN_GAP_SEC) -> list[tuple[float, float]]:
    """Stretches of `speech` at least `shortest` long that no word reaches, padded by `pad`
    (padded stretches that meet are one), none longer than MAX_GAP_SEC."""
    reach = _reach(sorted(words))
    covered = union(reach)
    gaps, k = [], 0
    for start, end in union(speech):  # both sorted: one walk over each
        while k < len(covered) and covered[k][1] <= start:
            k += 1
        position, j = start, k
        while j < len(covered) and covered[j][0] < end:
            if covered[j][0] - position >= shortest:
                gaps.append((position, covered[j][0]))
            position = max(position, covered[j][1])
            j += 1
        if end - position >= shortest:
            gaps.append((position, end))
    padded = union([(max(0.0, s - pad), e + pad) for s, e in gaps])
    return [piece for s, e in padded for piece in _split(s, e, MAX_GAP_SEC)]


def _stretched_runs(spans: list[tuple[float, float]]):
    """(i, j, before, after) for each run spans[i..j] of words whisper stretched (each
    over 2 x WORD_COVER_SEC, one right after the other), with the pause to the word before
    the run and to the word after it."""
    i = 0
    while i < len(spans):
        if spans[i][1] - spans[i][0] <= 2 * WORD_COVER_SEC:
            i += 1
            continue
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[j + 1][0] > 2 * WORD_COVER_SEC \
                and spans[j + 1][0] - spans[j][1] < 0.05:
            j += 1
        before = spans[i][0] - spans[i - 1][1] if i else float("inf")
        after = spans[j + 1][0] - spans[j][1] if j + 1 < len(spans) else float("inf")
        yield i, j, before, after
        i = j + 1


def _reach(words: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """What each word covers: itself and WORD_REACH_SEC around it; but a run of words
    whisper stretched covers only WORD_COVER_SEC a word at the side where it touches its
    neighbour (both ends when it touches neither more)."""
    runs = {i: (j, before, after) for i, j, before, after in _stretched_runs(words)}
    reach, i = [], 0
    while i < len(words):
        if i not in runs:
            reach.append((words[i][0] - WORD_REACH_SEC, words[i][1] + WORD_REACH_SEC))
            i += 1
            continue
        j, before, after = runs[i]
        lo, hi, size = words[i][0], words[j][1], (j - i + 1) * WORD_COVER_SEC
        if after < before:
            reach.append((hi - size, hi + WORD_REACH_SEC))
        elif before < after:
            reach.append((lo - WORD_REACH_SEC, lo + size))
        else:
            reach += [(lo - WORD_REACH_SEC, lo + WORD_COVER_SEC), (hi - WORD_COVER_SEC, hi + WORD_REACH_SEC)]
        i = j + 1
    return reach


def merge(segments: list[dict], extra: list[dict]) -> list[dict]:
    """Whisper's segments with the words found in gaps put in their places in time.

    Words whisper stretched over speech it skipped are put back next to the neighbour
    they touch, clear of the words found in between (`_unstretch`).
    """
    main = [dict(w, _first=i == 0, _source=0) for seg in segments for i, w in enumerate(seg["words"])]
    found = [dict(w, _first=i == 0, _source=1) for seg in extra for i, w in enumerate(seg["words"])]
    if found:
        _unstretch(main, found)
    flat = sorted(main + found, key=lambda w: w["start"])
    for word, following in zip(flat, flat[1:]):
        if word["end"] > following["start"]:
            word["end"] = round(max(word["start"] + 0.02, following["start"]), 3)
    out: list[dict] = []
    previous = None
    for word in flat:
        first, source = word.pop("_first"), word.pop("_source")
        if first or not out or source != previous:
            out.append({"words": []})
        out[-1]["words"].append(word)
        previous = source
    for seg in out:
        seg.update(start=seg["words"][0]["start"], end=seg["words"][-1]["end"],
                   text="".join(w["word"] for w in seg["words"]).strip())
    return out


def _unstretch(main: list[dict], found: list[dict]) -> None:
    """A run of stretched words with found words inside goes to the side of the run that
    touches its whisper neighbour, WORD_COVER_SEC a word at most, in order."""
    for i, j, before, after in list(_stretched_runs([(w["start"], w["end"]) for w in main])):
        run, lo, hi = main[i : j + 1], main[i]["start"], main[j]["end"]
        inside = [w for w in found if lo < w["start"] < hi]
        if not inside:
            continue
        if after <= before:  # said just before the next word: after the found ones
            floor, t = max(w["end"] for w in inside), hi
            for word in reversed(run):
                word["end"], word["start"] = round(t, 3), round(max(t - WORD_COVER_SEC, floor), 3)
                t = word["start"]
        else:
            ceiling, t = min(w["start"] for w in inside), lo
            for word in run:
                word["start"], word["end"] = round(t, 3), round(min(t + WORD_COVER_SEC, ceiling), 3)
                t = word["end"]


def trim_to_speech(segments: list[dict], speech: list[tuple[float, float]], sound_from=None,
                   quiet=None, alone: bool = False) -> list[dict]:
    """The segments with each word that overlaps `speech` starting no earlier than LEAD_SEC
    before the stretch of speech it overlaps most, or than the sound before it
    (`sound_from(time, most)`: where the sound up to `time` begins, `level.Loudness`); a
    word the detector did not hear at all keeps its times (a quiet party), unless it lies
    in silence (`quiet(start, end)`) just before a stretch: whisper began it early, and it
    is moved to the stretch. With `alone` (a channel heard alone, silent between its turns),
    a word running on into silence after its stretch ends there. New dicts: the input is
    left as it was."""
    speech = union(speech)
    starts, ends = [s for s, _ in speech], [e for _, e in speech]  # both sorted: disjoint
    out = []
    for seg in segments:
        words = []
        for word in seg["words"]:
            i = bisect.bisect_left(starts, word["end"])  # stretches before i begin before its end
            j = bisect.bisect_right(ends, word["start"])  # stretches from j end after its start
            if (j == i and i < len(starts) and quiet is not None and starts[i] - word["end"] < EARLY_SEC
                    and quiet(word["start"], word["end"])):
                length = min(word["end"] - word["start"], MOVED_SEC)
                begin = round(starts[i] - LEAD_SEC, 3)
                word = dict(word, start=begin, end=round(begin + length, 3))
                i += 1
            elif alone and quiet is not None and quiet(word["start"], word["end"]):
                continue  # a channel heard alone is silent here: nobody on it said this word
            if j < i:  # stretches j..i-1 overlap it
                # the one it overlaps most, not one it grazes (evidence: docs/accuracy.md#evidence-behind-the-code)
                k = max(range(j, i), key=lambda n: min(word["end"], ends[n]) - max(word["start"], starts[n]))
                earliest = speech[k][0] - LEAD_SEC
                if sound_from is not None:
                    earliest = min(earliest, sound_from(speech[k][0], SOUND_LEAD_SEC))
                start = max(word["start"], round(earliest, 3))
                end = word["end"]
                if alone and quiet is not None and end > speech[k][1] + LEAD_SEC and quiet(speech[k][1] + LEAD_SEC, end):
                    end = max(start, round(speech[k][1] + LEAD_SEC, 3))
                word = dict(word, start=start, end=end)
            words.append(word)
        if words or not alone:
            out.append(dict(seg, words=words, start=words[0]["start"] if words else seg.get("start")))
    return out


def confident(words: list[dict]) -> bool:
    return bool(words) and sum(w["probability"] for w in words) / len(words) >= MIN_PROBABILITY


def ranges_text(ranges: list[tuple[float, float]], most: int = 5) -> str:
    """'0:36-0:38, 1:02:03-1:02:06 and 3 more'"""
    from app.core.document.exports import clock

    shown = ", ".join(f"{clock(s)}-{clock(e)}" for s, e in ranges[:most])
    return shown + (f" and {len(ranges) - most} more" if len(ranges) > most else "")


def _split(start: float, end: float, longest: float) -> list[tuple[float, float]]:
    parts = max(1, int(-(-(end - start) // longest)))
    step = (end - start) / parts
    return [(round(start + i * step, 3), round(start + (i + 1) * step, 3)) for i in range(parts)]


def union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The spans sorted, those that meet or overlap made one."""
    out: list[list[float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]
