"""Guard against whisper's repetition loops ("thank you thank you thank you ...")."""

from __future__ import annotations

import re

MAX_NGRAM = 8
# A phrase said this many times in a row is kept; more is taken for a decoding loop.
MAX_REPEATS = 4

_NON_WORD = re.compile(r"[^\w]+")


def _key(word: dict) -> str:
    return _NON_WORD.sub("", word["word"].lower())


def collapse(words: list[dict]) -> list[dict]:
    """Words with every run of more than MAX_REPEATS identical n-grams cut to one n-gram."""
    keys = [_key(w) for w in words]
    keep = [True] * len(words)
    i = 0
    while i < len(words):
        for n in range(1, MAX_NGRAM + 1):
            gram = keys[i : i + n]
            if len(gram) < n or not any(gram):
                break
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps > MAX_REPEATS:
                for j in range(i + n, i + reps * n):
                    keep[j] = False
                i += reps * n - 1
                break
        i += 1
    return [w for w, k in zip(words, keep) if k]
