"""Short sentences heard again by their own voice (sentences.py)."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.speakers import align
from app.core.speakers import sentences
from app.core.speakers.diarizer import Turn
from tests import builders


A, B = np.eye(192)[0], np.eye(192)[1]


def test_a_sentence_no_window_heard_alone_goes_to_the_voice_it_is_nearer():
    # AMI dev01's shape: "If you dump it in there." (1.0 s) between the other man's
    # sentences; both 1.5-s windows over it hear the other man more
    words = builders.words((15.5, 16.2, "Yeah,"), (16.2, 18.2, "that's it."), (18.6, 19.2, "If you"), (19.2, 19.6, "dump it."),
                   (19.6, 20.4, "What's the username?"))
    speakers = ["A"] * 5
    windows = [(15.5, 17.0), (16.7, 18.2), (18.6, 20.1), (18.9, 20.4)]
    asked = []

    def embed(spans):
        asked.extend(spans)
        return np.stack([0.6 * A + 0.8 * B if s == 18.6 else A for s, _ in spans])

    spans = sentences.sentences(words, speakers, [True, False, False, False, False], align.PAUSE_SEC)
    assert spans == [(0, 1), (2, 3), (4, 4)]
    out = sentences.hear_again(words, speakers, spans, windows, {"A": A, "B": B}, embed)
    assert out == ["A", "A", "B", "B", "A"]
    assert asked == [(18.6, 19.6), (19.6, 20.4)], "a sentence with a window wholly inside it is not heard again"


def test_a_sentence_only_a_little_nearer_another_voice_keeps_its_speaker():
    words = builders.words((1.0, 1.6, "Okay."), (1.6, 2.0, "Sure."))
    near = 0.70 * A + 0.714 * B  # nearer B, by less than MARGIN
    out = sentences.hear_again(words, ["A", "A"], [(0, 0), (1, 1)], [], {"A": A, "B": B},
                               lambda spans: np.stack([near for _ in spans]))
    assert out == ["A", "A"]
    short = builders.words((1.0, 1.3, "Yes."))  # under MIN_SEC: never heard again
    assert sentences.hear_again(short, ["A"], [(0, 0)], [], {"A": A, "B": B}, lambda spans: pytest.fail("embedded")) == ["A"]


def test_the_moved_sentence_is_its_own_segment():
    segments = [{"words": [{"start": s, "end": e, "word": " " + w, "probability": 0.9} for s, e, w in
                           ((0.0, 0.8, "Right,"), (0.8, 1.4, "I see."), (1.6, 2.4, "Me too."), (2.5, 3.2, "Fine."))]}]
    turns = [Turn(0.0, 3.2, "A")]
    hear = sentences.hearing([(0.0, 1.5), (1.5, 3.0)], {"A": A, "B": B},
                             lambda spans: np.stack([B if s == 1.6 else A for s, _ in spans]), align.PAUSE_SEC)
    out = align.align(segments, turns, hear=hear)
    assert [(s.speaker, s.text) for s in out] == [("A", "Right, I see."), ("B", "Me too."), ("A", "Fine.")]
    assert sentences.hearing([], {"A": A, "B": B}, None, 1.5) is None
    assert sentences.hearing([(0.0, 1.5)], {"A": A}, None, 1.5) is None, "one voice: nothing to hear again"
