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


def until_loop(words: list[dict]) -> tuple[list[dict], bool]:
    """The words up to the first loop, with one turn of its phrase kept, and whether there
    was a loop: what follows a loop (more of it, or a partial turn that whisper's token
    budget cut short) is not to be trusted, and is heard again from there."""
    collapsed = collapse(words)
    if len(collapsed) == len(words):
        return words, False
    kept = {id(w) for w in collapsed}
    first_cut = next(i for i, w in enumerate(words) if id(w) not in kept)
    return words[:first_cut], True
