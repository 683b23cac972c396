"""Speech that no word covers: found after transcription and diarization, given a second try.

The diarizer's voice detector and whisper's chunks come from different detectors; a
stretch one hears and the other misses (or a window whisper ended early) would otherwise
vanish from the transcript without a word.
"""

from __future__ import annotations

MIN_GAP_SEC = 0.8  # speech shorter than this without words is let go (a breath, a click)
REPORT_SEC = 1.0  # speech this long that still gives no words is named in a warning
PAD_SEC = 0.25  # of context on each side when a gap is transcribed on its own
WORD_REACH_SEC = 0.3  # a word covers this much around itself
# Whisper stretches the word next to a stretch it skipped over the whole stretch (a
# constructed call: "foreigners" over 6 s); a word covers no more than this at each end.
WORD_COVER_SEC = 1.0
MIN_PROBABILITY = 0.4  # mean word probability under which a gap's words are taken as noise


def uncovered(speech: list[tuple[float, float]], words: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Stretches of `speech` at least MIN_GAP_SEC long that no word reaches, padded."""
    spans = _union(speech)
    reach = []
    for s, e in words:
        if e - s <= 2 * WORD_COVER_SEC:
            reach.append((s - WORD_REACH_SEC, e + WORD_REACH_SEC))
        else:
            reach += [(s - WORD_REACH_SEC, s + WORD_COVER_SEC), (e - WORD_COVER_SEC, e + WORD_REACH_SEC)]
    covered = _union(reach)
    gaps = []
    for start, end in spans:
        pieces = [(start, end)]
        for cs, ce in covered:
            if ce <= start or cs >= end:
                continue
            pieces = [p for s, e in pieces for p in ((s, min(e, cs)), (max(s, ce), e)) if p[1] - p[0] > 0]
        gaps.extend(p for p in pieces if p[1] - p[0] >= MIN_GAP_SEC)
    return [(round(max(0.0, s - PAD_SEC), 3), round(e + PAD_SEC, 3)) for s, e in gaps]


def merge(segments: list[dict], extra: list[dict]) -> list[dict]:
    """Whisper's segments with the words found in gaps put in their places in time.

    A word stretched over a stretch whose words came later ends where they begin."""
    flat = [(w, i == 0, source) for source, group in enumerate((segments, extra)) for seg in group
            for i, w in enumerate(seg["words"])]
    flat.sort(key=lambda item: item[0]["start"])
    for (word, *_), (after, *_) in zip(flat, flat[1:]):
        if word["end"] > after["start"]:
            word["end"] = round(max(word["start"] + 0.02, after["start"]), 3)
    out: list[dict] = []
    previous = None
    for word, first, source in flat:
        if first or not out or source != previous:
            out.append({"words": []})
        out[-1]["words"].append(word)
        previous = source
    for seg in out:
        seg.update(start=seg["words"][0]["start"], end=seg["words"][-1]["end"],
                   text="".join(w["word"] for w in seg["words"]).strip())
    return out


def confident(words: list[dict]) -> bool:
    return bool(words) and sum(w["probability"] for w in words) / len(words) >= MIN_PROBABILITY


def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]
