"""The passes whisper makes over one chunk: the rest of a chunk heard again after whisper
stopped early, kept only when whisper is sure of it (the decoder itself is scripted here;
the real one runs on the FLEURS clips in test_accuracy.py)."""

from __future__ import annotations

import numpy as np

from app.core.audio_in.chunks import Chunk
from app.core.whisper import transcriber


def _word(start, end, text, probability):
    return {"start": start, "end": end, "word": " " + text, "probability": probability}


def _hear(passes):
    """Run one 20 s chunk with whisper's answer for each pass scripted; the passes' starts."""
    asked = []

    def segments(self, pipe, audio, start, end, language, escape=False):
        asked.append(start)
        return passes[len(asked) - 1], False

    ear = object.__new__(transcriber.Transcriber)
    ear._segments = segments.__get__(ear)
    found = ear._one(None, np.zeros(20 * 16000, np.float32), Chunk(0, 0.0, 20.0), "es")
    return [w["word"].strip() for seg in found for w in seg["words"]], asked


FIRST = [[_word(1.0, 1.5, "sobre", 0.97), _word(15.8, 17.0, "específicos.", 0.99)]]


def test_a_rest_whisper_is_sure_of_is_kept():
    words, asked = _hear([FIRST, [[_word(17.5, 18.0, "und", 0.54), _word(18.0, 19.0, "Themen.", 0.99)]]])
    assert asked == [0.0, 17.0]
    assert words == ["sobre", "específicos.", "und", "Themen."]


def test_a_rest_whisper_is_unsure_of_puts_no_words_in_anyones_mouth():
    # fleurs-es-001's closing citation ("Oravec, 2002") heard as "Ahora ve 2 .2." (mean 0.43)
    unsure = [[_word(17.0, 17.8, "Ahora", 0.38), _word(17.8, 18.0, "ve", 0.72), _word(18.0, 18.3, "2", 0.05),
               _word(18.3, 19.0, ".2.", 0.56)]]
    words, asked = _hear([FIRST, unsure])
    assert asked == [0.0, 17.0]
    assert words == ["sobre", "específicos."]
