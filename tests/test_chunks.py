"""Chunks: speech joined up to a length and cut in silence, stretches heard again packed
together, and their words put back at their time in the recording."""

from __future__ import annotations

import numpy as np

from app.core.audio_in import chunks


def test_chunks_join_speech_up_to_the_length_and_cut_in_silence():
    regions = [(0.0, 10.0), (11.0, 25.0), (26.0, 31.0), (40.0, 45.0), (70.0, 99.0)]
    planned = chunks.plan(regions, 30.0)
    assert [(c.start, c.end) for c in planned] == [(0.0, 25.0), (26.0, 45.0), (70.0, 99.0)]
    assert planned[0].heard == ((0.0, 25.0),)  # heard whole, its silences included
    assert [c.index for c in planned] == [0, 1, 2]
    assert chunks.plan([], 30.0) == []


def test_stretches_heard_again_are_packed_and_words_go_back_to_their_time():
    from app.core.whisper.transcriber import _in_recording, _joined

    planned = chunks.packed([(0.0, 5.0), (20.0, 25.0), (25.2, 28.0), (40.0, 55.0)], 25.0)
    assert [c.heard for c in planned] == [((0.0, 5.25), (19.75, 28.0)), ((40.0, 55.0),)]
    samples = np.arange(30 * 16000, dtype=np.float32)
    joined, where = _joined(samples, planned[0].heard)
    assert len(joined) == int(13.5 * 16000)
    assert joined[int(5.25 * 16000)] == samples[int(19.75 * 16000)]  # 15 s of silence left out
    word = {"start": 6.0, "end": 6.5, "word": " hi", "probability": 0.9}
    assert _in_recording(word, where) == dict(word, start=20.5, end=21.0)
    assert _in_recording(dict(word, start=1.0, end=1.5), where)["start"] == 1.0


def test_a_region_longer_than_a_chunk_is_split_not_cut_short():
    from app.core.audio_in.chunks import plan

    chunks = plan([(0.0, 2.0), (10.0, 41.0)], chunk_sec=30)
    covered = sum(c.end - c.start for c in chunks)
    assert covered >= 2.0 + 31.0 - 1e-6
    assert all(c.end - c.start <= 30 for c in chunks)
    assert chunks[-1].end == 41.0
