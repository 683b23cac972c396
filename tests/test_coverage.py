"""Coverage: speech no word reaches found and heard again, the words found put in their
place, and words trimmed to the speech they are said in."""

from __future__ import annotations

import numpy as np

from app.core.whisper import coverage
from app.core.audio_in import level


def _seg(*words):
    return {"words": [{"start": s, "end": e, "word": " " + w, "probability": 0.9} for s, e, w in words]}


def test_speech_that_no_word_reaches_is_found_and_padded():
    speech = [(0.0, 4.0), (6.0, 6.3), (10.0, 12.0)]
    words = [(0.2, 0.5), (0.6, 1.0), (11.0, 11.4)]
    gaps = coverage.uncovered(speech, words)
    # 1.3-4.0 has no word; 6.0-6.3 is too short to matter; 10-12 is reached by its word
    # except 10.0-10.7 and 11.7-12.0 (too short: let go)
    assert gaps == [(1.05, 4.25)]


def test_a_word_stretched_over_skipped_speech_does_not_hide_it():
    # whisper skipped 10-14.6 s and stretched "foreigners" from 10.2 s to 16.7 s
    words = [(9.0, 9.4), (10.2, 16.7), (16.8, 17.2)]
    assert coverage.uncovered([(9.0, 17.2)], words) == [(9.45, 15.95)]  # said at its end, beside "after"


def test_words_found_in_a_gap_take_their_place_in_time():
    # whisper skipped 10-14.6 s and stretched "foreigners" (said just before "after") over it
    segments = [_seg((9.0, 9.4, "to"), (10.2, 16.7, "foreigners"), (16.8, 17.2, "after"))]
    merged = coverage.merge(segments, [_seg((11.0, 11.5, "styles"), (11.6, 12.0, "lag"))])
    words = [(w["word"].strip(), w["start"], w["end"]) for s in merged for w in s["words"]]
    assert words == [("to", 9.0, 9.4), ("styles", 11.0, 11.5), ("lag", 11.6, 12.0), ("foreigners", 15.7, 16.7),
                     ("after", 16.8, 17.2)]
    assert [s["text"] for s in merged] == ["to", "styles lag", "foreigners after"]
    assert segments[0]["words"][1]["start"] == 10.2, "the chunk's own words are left as they were"


def test_two_stretched_words_go_back_together():
    # "to" and "foreigners" were both stretched over the skipped 10-14.6 s
    segments = [_seg((9.0, 9.37, "famous,"), (10.19, 13.07, "to"), (13.07, 16.75, "foreigners"), (16.75, 17.1, "after"))]
    merged = coverage.merge(segments, [_seg((10.94, 11.5, "in"), (11.6, 12.78, "west"))])
    words = [(w["word"].strip(), w["start"], w["end"]) for s in merged for w in s["words"]]
    assert words == [("famous,", 9.0, 9.37), ("in", 10.94, 11.5), ("west", 11.6, 12.78), ("to", 14.75, 15.75),
                     ("foreigners", 15.75, 16.75), ("after", 16.75, 17.1)]


def test_a_stretched_word_said_first_keeps_its_start():
    merged = coverage.merge([_seg((9.0, 9.4, "to"), (9.5, 16.0, "go"), (17.5, 17.9, "then"))],
                            [_seg((11.0, 11.5, "styles"))])
    words = [(w["word"].strip(), w["start"], w["end"]) for s in merged for w in s["words"]]
    assert words == [("to", 9.0, 9.4), ("go", 9.5, 10.5), ("styles", 11.0, 11.5), ("then", 17.5, 17.9)]


def test_long_gaps_are_cut_into_pieces_whisper_can_hear_and_close_ones_joined():
    gaps = coverage.uncovered([(0.0, 60.0), (60.3, 61.5)], [])
    assert gaps[0][0] == 0.0 and gaps[-1][1] == 61.75
    assert all(e - s <= coverage.MAX_GAP_SEC for s, e in gaps)
    assert all(a[1] == b[0] for a, b in zip(gaps, gaps[1:]))


def test_times_in_warnings_read_as_clocks():
    assert coverage.ranges_text([(119.97, 3723.04)]) == "2:00-1:02:03"
    assert coverage.ranges_text([(i, i + 1.0) for i in range(7)]) == (
        "0:00-0:01, 0:01-0:02, 0:02-0:03, 0:03-0:04, 0:04-0:05 and 2 more"
    )


def test_a_run_of_stretched_words_covers_only_the_side_it_touches():
    # "made famous," | "to" and "foreigners" stretched over a quiet 10.3-14.6 s | "after"
    words = [(8.8, 9.37), (10.19, 13.07), (13.07, 16.75), (16.75, 17.1)]
    gaps = coverage.uncovered([(10.3, 14.6)], words)
    assert gaps == [(10.05, 14.85)]


def test_a_word_begun_in_the_silence_before_it_starts_where_the_voice_does():
    # A constructed call: whisper began "always" at 3.58 s, after "you," (3.30 s), though
    # the voice starts again at 5.22 s; so the party's pause read as 2 s of speech.
    segments = [_seg((2.92, 3.30, "you,"), (3.58, 5.48, "always"), (5.48, 6.02, "begin")),
                _seg((30.0, 30.4, "unheard"))]
    speech = [(0.51, 3.39), (5.22, 7.42)]
    trimmed = coverage.trim_to_speech(segments, speech)
    words = [(w["word"].strip(), w["start"], w["end"]) for s in trimmed for w in s["words"]]
    assert words == [("you,", 2.92, 3.30), ("always", 5.12, 5.48), ("begin", 5.48, 6.02),
                     ("unheard", 30.0, 30.4)], "a word the detector did not hear at all is left alone"
    assert trimmed[0]["start"] == 2.92 and segments[0]["words"][1]["start"] == 3.58


def test_a_word_that_grazes_the_end_of_one_stretch_starts_with_the_stretch_it_is_said_in():
    # call-es-1 on an AVX-512 VNNI Xeon: whisper began "sobre" where "críticos" ended,
    # 8 ms before the party's voice stopped, and ran it over the 0.8-s pause to 13.27 s
    segments = [_seg((11.612, 12.312, " críticos"), (12.312, 13.272, " sobre"), (13.272, 13.652, " cualquier"))]
    trimmed = coverage.trim_to_speech(segments, [(8.51, 12.32), (13.09, 15.45)])
    assert [w["start"] for w in trimmed[0]["words"]] == [11.612, 12.99, 13.272]


def test_a_word_that_starts_just_before_the_voice_keeps_its_start():
    segments = [_seg((5.15, 5.5, "always"), (5.5, 5.51, "a"))]
    trimmed = coverage.trim_to_speech(segments, [(5.2, 5.508)])
    assert [(w["start"], w["end"]) for w in trimmed[0]["words"]] == [(5.15, 5.5), (5.5, 5.51)]


def test_a_word_begun_where_sound_begins_keeps_its_start_though_the_detector_heard_it_later():
    # AMI trn07, far-field: whisper began "Did" at 26.80 s, the detector's speech at 27.20 s,
    # the reference's at 26.51 s; the 0.4 s between were 23-37 dB above the room's quiet.
    # On the constructed calls the pause before a word whisper began early is silence.
    rng = np.random.default_rng(0)
    audio = (rng.normal(size=16000 * 4) * 1e-4).astype(np.float32)  # a quiet room
    audio[int(1.6 * 16000) : int(3.5 * 16000)] += (rng.normal(size=int(1.9 * 16000)) * 0.03).astype(np.float32)
    loudness = level.Loudness(audio)
    speech = [(2.0, 3.5)]
    segments = [_seg((1.70, 2.30, "Did"), (2.30, 2.60, "you")), _seg((0.50, 3.00, "always"))]
    trimmed = coverage.trim_to_speech(segments, speech, loudness.sound_from)
    starts = [w["start"] for s in trimmed for w in s["words"]]
    assert starts[0] == 1.7, "whisper's start, inside the sound the detector heard late, is kept"
    assert abs(starts[2] - 1.6) < 0.03, "a word begun in the quiet starts where the sound does"
    assert coverage.trim_to_speech(segments, speech)[0]["words"][0]["start"] == 1.9, "without the audio: as before"


def test_a_word_whisper_put_in_the_silence_just_before_a_turn_moves_to_the_turn():
    # stereo-call-wide, the left channel heard alone: whisper began "en" at 13.64 s in the
    # silence while the other side spoke; the party's voice starts at 14.59 s
    rng = np.random.default_rng(1)
    audio = (rng.normal(size=16000 * 17) * 2e-4).astype(np.float32)
    audio[int(14.59 * 16000) : int(15.97 * 16000)] += (rng.normal(size=int(1.38 * 16000)) * 0.1).astype(np.float32)
    loudness = level.Loudness(audio)
    segments = [_seg((13.644, 14.224, "en"), (14.224, 14.804, "la"), (14.804, 15.104, "plaza"))]
    moved = coverage.trim_to_speech(segments, [(14.59, 15.97)], loudness.sound_from, loudness.quiet)
    assert [(w["start"], w["end"]) for w in moved[0]["words"]][:2] == [(14.49, 14.69), (14.49, 14.804)]
    # a quiet party's word the detector missed is sound, not silence: it keeps its times
    audio[int(13.6 * 16000) : int(14.2 * 16000)] += (rng.normal(size=int(0.6 * 16000)) * 0.01).astype(np.float32)
    loudness = level.Loudness(audio)
    kept = coverage.trim_to_speech(segments, [(14.59, 15.97)], loudness.sound_from, loudness.quiet)
    assert kept[0]["words"][0]["start"] == 13.644
