"""Scores against a reference: diarization error rate, word error rate, and whose voice each
of our speakers is."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np

STEP = 0.01  # seconds per frame when scoring turns


def read_rttm(path: Path) -> list[tuple[float, float, str]]:
    turns = []
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            start, duration = float(parts[3]), float(parts[4])
            turns.append((start, start + duration, parts[7]))
    return turns


def parse_rttm_text(text: str) -> list[tuple[float, float, str]]:
    turns = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "SPEAKER":
            turns.append((float(parts[3]), float(parts[3]) + float(parts[4]), parts[7]))
    return turns


def read_stm_text(path: Path) -> str:
    return " ".join(" ".join(line.split()[5:]) for line in Path(path).read_text().splitlines() if line.strip())


def der(reference, hypothesis, collar: float = 0.25) -> float:
    """Frame-based diarization error rate with the best speaker mapping."""
    return der_parts(reference, hypothesis, collar)["der"]


def der_parts(reference, hypothesis, collar: float = 0.25) -> dict[str, float]:
    """Diarization error rate and its parts (missed speech, false alarm, confusion), each
    a share of the scored reference speech; frame-based, with the best speaker mapping.

    Frames within `collar` of a reference boundary are not scored, as md-eval does.
    Overlapped reference speech counts each speaker, so missed overlap is an error.
    """
    from scipy.optimize import linear_sum_assignment

    end = max([e for _, e, _ in reference] + [e for _, e, _ in hypothesis] + [0.0])
    n = int(np.ceil(end / STEP)) + 1
    ref_ids = sorted({s for *_, s in reference})
    hyp_ids = sorted({s for *_, s in hypothesis})
    ref = np.zeros((len(ref_ids), n), bool)
    hyp = np.zeros((len(hyp_ids), n), bool)
    scored = np.ones(n, bool)
    for start, stop, spk in reference:
        ref[ref_ids.index(spk), int(start / STEP) : int(stop / STEP)] = True
        for edge in (start, stop):
            scored[max(0, int((edge - collar) / STEP)) : int((edge + collar) / STEP)] = False
    for start, stop, spk in hypothesis:
        hyp[hyp_ids.index(spk), int(start / STEP) : int(stop / STEP)] = True
    ref, hyp = ref[:, scored], hyp[:, scored]
    overlap = ref.astype(float) @ hyp.T.astype(float)
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
    matched = overlap[rows, cols].sum() if len(rows) else 0.0
    n_ref = ref.sum(axis=0)
    n_hyp = hyp.sum(axis=0)
    total = float(n_ref.sum())
    if not total:
        return {"der": 0.0, "miss": 0.0, "false_alarm": 0.0, "confusion": 0.0}
    miss = np.maximum(n_ref - n_hyp, 0).sum()
    false_alarm = np.maximum(n_hyp - n_ref, 0).sum()
    confusion = np.minimum(n_ref, n_hyp).sum() - matched
    return {
        "der": float((miss + false_alarm + confusion) / total),
        "miss": float(miss / total),
        "false_alarm": float(false_alarm / total),
        "confusion": float(confusion / total),
    }


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text.lower())
    text = re.sub(r"[^\w\s']|_", " ", text)
    return " ".join(text.split())


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalise(reference), normalise(hypothesis)))


def words_right(reference: str, hypothesis: str) -> set[int]:
    """The positions of the reference's words that the hypothesis has right (aligned and
    equal, after `normalise`): two systems compared word by word, not only by their WER."""
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return set()
    out = jiwer.process_words(ref, hyp or "<nothing>")
    right: set[int] = set()
    for chunk in out.alignments[0]:
        if chunk.type == "equal":
            right.update(range(chunk.ref_start_idx, chunk.ref_end_idx))
    return right


def identities(turns, transcript) -> dict[str, str | None]:
    """{our speaker id: the reference identity (of `turns`) most of its words' time falls in,
    or None when no identity has half of it}."""
    out = {}
    for speaker in transcript.speakers:
        said: dict[str, float] = {}
        total = 0.0
        for seg in transcript.segments:
            if seg.speaker != speaker.id:
                continue
            for w in seg.words:
                total += w.end - w.start
                for start, end, who in turns:
                    overlap = min(w.end, end) - max(w.start, start)
                    if overlap > 0:
                        said[who] = said.get(who, 0.0) + overlap
        best = max(said.items(), key=lambda kv: kv[1], default=(None, 0.0))
        out[speaker.id] = best[0] if total and best[1] >= 0.5 * total else None
    return out
