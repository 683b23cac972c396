from __future__ import annotations

from app.core import chunks, loops


def w(text):
    return [{"word": " " + t, "start": 0.0, "end": 0.0, "probability": 1.0} for t in text.split()]


def said(words):
    return "".join(x["word"] for x in words).strip()


def test_repetition_loops_are_collapsed():
    assert said(loops.collapse(w("thank you " * 12 + "bye"))) == "thank you bye"
    assert said(loops.collapse(w("la " * 30))) == "la"


def test_ordinary_repetition_is_kept():
    for text in ("no no no no", "very very good", "sí, sí, sí", "one two three four"):
        assert said(loops.collapse(w(text))) == text


def test_chunks_join_speech_up_to_the_length_and_cut_in_silence():
    regions = [(0.0, 10.0), (11.0, 25.0), (26.0, 31.0), (40.0, 45.0), (70.0, 99.0)]
    planned = chunks.plan(regions, 30.0)
    assert [(c.start, c.end) for c in planned] == [(0.0, 25.0), (26.0, 45.0), (70.0, 99.0)]
    assert [c.index for c in planned] == [0, 1, 2]
    assert chunks.plan([], 30.0) == []
