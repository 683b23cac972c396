"""A sentence too short for the voice windows to hear alone is heard alone.

The diarizer hears voices in 1.5-s windows. A sentence shorter than that, said between
another person's, shares every window that hears it with the other voice, and went with
it. Each sentence of 0.5 s or more that no window lies wholly inside is embedded on its
own (`Diarizer.embed`, in batches), and goes to the speaker whose voice signature it is
nearer by MARGIN or more; every other sentence keeps its speaker (evidence, from
`bench/bench_accuracy.py`: docs/accuracy.md#evidence-behind-the-code).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from app.core.speakers.cluster import normalise
from app.core.document.transcript import Word

MIN_SEC = 0.5  # shorter, an embedding is too noisy to go by
MARGIN = 0.07  # cosine similarity, mid-range of what worked (evidence: docs/accuracy.md#evidence-behind-the-code)
INSIDE_SLACK_SEC = 0.1  # a window this much past the sentence still lies inside it
ENDS = (".", "?", "!", "…")


def sentences(words: list[Word], speakers: list[str], firsts: list[bool], pause: float) -> list[tuple[int, int]]:
    """(first, last) word index of each sentence: a run of one speaker's words up to an
    end of sentence, a change of speaker, a pause of `pause` or a new whisper segment."""
    out, begin = [], 0
    for i in range(1, len(words) + 1):
        cut = i == len(words) or speakers[i] != speakers[i - 1] or firsts[i] \
            or words[i].start - words[i - 1].end >= pause or words[i - 1].word.strip().endswith(ENDS)
        if cut:
            out.append((begin, i - 1))
            begin = i
    return out


def hear_again(
    words: list[Word],
    speakers: list[str],
    spans: list[tuple[int, int]],
    windows: list[tuple[float, float]],
    signatures: dict[str, np.ndarray],
    embed: Callable[[list[tuple[float, float]]], np.ndarray],
) -> list[str]:
    """The speakers of the words, each short sentence's given again by its own voice."""
    if len(signatures) < 2:
        return speakers
    starts, ends = np.asarray(windows, dtype=np.float64).reshape(-1, 2).T
    todo = []
    for first, last in spans:
        start, end = words[first].start, words[last].end
        if end - start < MIN_SEC or speakers[first] not in signatures:
            continue
        if np.any((starts >= start - INSIDE_SLACK_SEC) & (ends <= end + INSIDE_SLACK_SEC)):
            continue  # a window heard this sentence alone: its speaker stands
        todo.append((first, last))
    if not todo:
        return speakers
    labels = list(signatures)
    voices = normalise(np.stack([signatures[k] for k in labels]))
    heard = normalise(embed([(words[a].start, words[b].end) for a, b in todo]))
    out = list(speakers)
    for (first, last), vector in zip(todo, heard):
        similarity = voices @ vector
        best, mine = int(np.argmax(similarity)), labels.index(speakers[first])
        if best != mine and similarity[best] - similarity[mine] >= MARGIN:
            out[first : last + 1] = [labels[best]] * (last - first + 1)
    return out


def hearing(windows: list[tuple[float, float]], signatures: dict[str, np.ndarray],
            embed: Callable[[list[tuple[float, float]]], np.ndarray], pause: float):
    """For `align.align`: (words, speakers, firsts) -> speakers, or None when there is
    nothing to hear again with (one voice, or no windows)."""
    if len(signatures) < 2 or not windows:
        return None

    def hear(words: list[Word], speakers: list[str], firsts: list[bool]) -> list[str]:
        spans = sentences(words, speakers, firsts, pause)
        return hear_again(words, speakers, spans, windows, signatures, embed)

    return hear
