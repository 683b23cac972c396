from __future__ import annotations

import numpy as np

from app.core import chunks, loops


def w(text):
    return [{"word": " " + t, "start": 0.0, "end": 0.0, "probability": 1.0} for t in text.split()]


def said(words):
    return "".join(x["word"] for x in words).strip()


def test_repetition_loops_are_collapsed():
    assert said(loops.collapse(w("thank you " * 12 + "bye"))) == "thank you bye"
    assert said(loops.collapse(w("la " * 30))) == "la"


def test_words_after_a_loop_are_left_to_be_heard_again():
    words, looped = loops.until_loop(w("I wonder how many " + "yeah " * 9 + "look at this"))
    assert looped and said(words) == "I wonder how many yeah"
    words, looped = loops.until_loop(w("no no no no, it is fine"))
    assert not looped and said(words) == "no no no no, it is fine"


def test_ordinary_repetition_is_kept():
    for text in ("no no no no", "very very good", "sí, sí, sí", "one two three four"):
        assert said(loops.collapse(w(text))) == text


def test_chunks_join_speech_up_to_the_length_and_cut_in_silence():
    regions = [(0.0, 10.0), (11.0, 25.0), (26.0, 31.0), (40.0, 45.0), (70.0, 99.0)]
    planned = chunks.plan(regions, 30.0)
    assert [(c.start, c.end) for c in planned] == [(0.0, 25.0), (26.0, 45.0), (70.0, 99.0)]
    assert planned[0].heard == ((0.0, 25.0),)  # heard whole, its silences included
    assert [c.index for c in planned] == [0, 1, 2]
    assert chunks.plan([], 30.0) == []


def test_stretches_heard_again_are_packed_and_words_go_back_to_their_time():
    from app.core.transcribe import _in_recording, _joined

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
    from app.core.chunks import plan

    chunks = plan([(0.0, 2.0), (10.0, 41.0)], chunk_sec=30)
    covered = sum(c.end - c.start for c in chunks)
    assert covered >= 2.0 + 31.0 - 1e-6
    assert all(c.end - c.start <= 30 for c in chunks)
    assert chunks[-1].end == 41.0


def test_speech_that_no_word_reaches_is_found_and_padded():
    from app.core import coverage

    speech = [(0.0, 4.0), (6.0, 6.3), (10.0, 12.0)]
    words = [(0.2, 0.5), (0.6, 1.0), (11.0, 11.4)]
    gaps = coverage.uncovered(speech, words)
    # 1.3-4.0 has no word; 6.0-6.3 is too short to matter; 10-12 is reached by its word
    # except 10.0-10.7 and 11.7-12.0 (too short: let go)
    assert gaps == [(1.05, 4.25)]


def test_level_evening_lifts_a_quiet_party_and_leaves_silence_quiet():
    import numpy as np

    from app.core import level

    rng = np.random.default_rng(0)
    loud = 0.3 * rng.standard_normal(16000 * 3).astype(np.float32)
    quiet = 0.003 * rng.standard_normal(16000 * 3).astype(np.float32)
    silence = np.zeros(16000 * 3, np.float32)
    evened = level.even(np.concatenate([loud, silence, quiet]))
    rms = [float(np.sqrt(np.mean(evened[i * 48000 : (i + 1) * 48000][16000:32000] ** 2))) for i in range(3)]
    assert rms[2] > 0.02 and rms[1] == 0.0
    assert 0.3 < rms[0] / rms[2] < 3


def test_a_word_stretched_over_skipped_speech_does_not_hide_it():
    from app.core import coverage

    # whisper skipped 10-14.6 s and stretched "foreigners" from 10.2 s to 16.7 s
    words = [(9.0, 9.4), (10.2, 16.7), (16.8, 17.2)]
    assert coverage.uncovered([(9.0, 17.2)], words) == [(9.45, 15.95)]  # said at its end, beside "after"


def _seg(*words):
    return {"words": [{"start": s, "end": e, "word": " " + w, "probability": 0.9} for s, e, w in words]}


def test_words_found_in_a_gap_take_their_place_in_time():
    from app.core import coverage

    # whisper skipped 10-14.6 s and stretched "foreigners" (said just before "after") over it
    segments = [_seg((9.0, 9.4, "to"), (10.2, 16.7, "foreigners"), (16.8, 17.2, "after"))]
    merged = coverage.merge(segments, [_seg((11.0, 11.5, "styles"), (11.6, 12.0, "lag"))])
    words = [(w["word"].strip(), w["start"], w["end"]) for s in merged for w in s["words"]]
    assert words == [("to", 9.0, 9.4), ("styles", 11.0, 11.5), ("lag", 11.6, 12.0), ("foreigners", 15.7, 16.7),
                     ("after", 16.8, 17.2)]
    assert [s["text"] for s in merged] == ["to", "styles lag", "foreigners after"]
    assert segments[0]["words"][1]["start"] == 10.2, "the chunk's own words are left as they were"


def test_two_stretched_words_go_back_together():
    from app.core import coverage

    # "to" and "foreigners" were both stretched over the skipped 10-14.6 s
    segments = [_seg((9.0, 9.37, "famous,"), (10.19, 13.07, "to"), (13.07, 16.75, "foreigners"), (16.75, 17.1, "after"))]
    merged = coverage.merge(segments, [_seg((10.94, 11.5, "in"), (11.6, 12.78, "west"))])
    words = [(w["word"].strip(), w["start"], w["end"]) for s in merged for w in s["words"]]
    assert words == [("famous,", 9.0, 9.37), ("in", 10.94, 11.5), ("west", 11.6, 12.78), ("to", 14.75, 15.75),
                     ("foreigners", 15.75, 16.75), ("after", 16.75, 17.1)]


def test_a_stretched_word_said_first_keeps_its_start():
    from app.core import coverage

    merged = coverage.merge([_seg((9.0, 9.4, "to"), (9.5, 16.0, "go"), (17.5, 17.9, "then"))],
                            [_seg((11.0, 11.5, "styles"))])
    words = [(w["word"].strip(), w["start"], w["end"]) for s in merged for w in s["words"]]
    assert words == [("to", 9.0, 9.4), ("go", 9.5, 10.5), ("styles", 11.0, 11.5), ("then", 17.5, 17.9)]


def test_long_gaps_are_cut_into_pieces_whisper_can_hear_and_close_ones_joined():
    from app.core import coverage

    gaps = coverage.uncovered([(0.0, 60.0), (60.3, 61.5)], [])
    assert gaps[0][0] == 0.0 and gaps[-1][1] == 61.75
    assert all(e - s <= coverage.MAX_GAP_SEC for s, e in gaps)
    assert all(a[1] == b[0] for a, b in zip(gaps, gaps[1:]))


def test_times_in_warnings_read_as_clocks():
    from app.core import coverage

    assert coverage.ranges_text([(119.97, 3723.04)]) == "2:00-1:02:03"
    assert coverage.ranges_text([(i, i + 1.0) for i in range(7)]) == (
        "0:00-0:01, 0:01-0:02, 0:02-0:03, 0:03-0:04, 0:04-0:05 and 2 more"
    )


def test_a_run_of_stretched_words_covers_only_the_side_it_touches():
    from app.core import coverage

    # "made famous," | "to" and "foreigners" stretched over a quiet 10.3-14.6 s | "after"
    words = [(8.8, 9.37), (10.19, 13.07), (13.07, 16.75), (16.75, 17.1)]
    gaps = coverage.uncovered([(10.3, 14.6)], words)
    assert gaps == [(10.05, 14.85)]


def test_the_mac_app_declares_macos_14_and_opens_recordings():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packaging"))
    import mac_plist

    plist = mac_plist.info_plist("Diarization Studio", "1.0")
    assert plist["LSMinimumSystemVersion"] == "14.0"
    kinds = {t for entry in plist["CFBundleDocumentTypes"] for t in entry["LSItemContentTypes"]}
    assert kinds == {"public.audio", "public.movie"}
    assert all(entry["CFBundleTypeRole"] == "Viewer" for entry in plist["CFBundleDocumentTypes"])


def test_a_word_begun_in_the_silence_before_it_starts_where_the_voice_does():
    from app.core import coverage

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
    from app.core import coverage

    # call-es-1 on an AVX-512 VNNI Xeon: whisper began "sobre" where "críticos" ended,
    # 8 ms before the party's voice stopped, and ran it over the 0.8-s pause to 13.27 s
    segments = [_seg((11.612, 12.312, " críticos"), (12.312, 13.272, " sobre"), (13.272, 13.652, " cualquier"))]
    trimmed = coverage.trim_to_speech(segments, [(8.51, 12.32), (13.09, 15.45)])
    assert [w["start"] for w in trimmed[0]["words"]] == [11.612, 12.99, 13.272]


def test_a_word_that_starts_just_before_the_voice_keeps_its_start():
    from app.core import coverage

    segments = [_seg((5.15, 5.5, "always"), (5.5, 5.51, "a"))]
    trimmed = coverage.trim_to_speech(segments, [(5.2, 5.508)])
    assert [(w["start"], w["end"]) for w in trimmed[0]["words"]] == [(5.15, 5.5), (5.5, 5.51)]


def test_the_token_budget_of_a_window_leaves_room_for_fast_speech(sample, fleurs, settings):
    # whisper may give at most transcribe.token_budget(seconds) tokens for a window (a
    # repetition loop stops there); every utterance of the two-speaker conversation and
    # every FLEURS sentence, with its two timestamp tokens, fits with room to spare
    import tokenizers

    from app.core import audio, models, transcribe

    tokenizer = tokenizers.Tokenizer.from_file(str(models.resolve("base", settings.models_dir) / "tokenizer.json"))
    lines = [line.split() for line in sample.stm.read_text().splitlines()]
    spoken = [(float(f[3]), float(f[4]), " ".join(f[5:])) for f in lines]
    spoken += [(0.0, audio.decode(clip.audio).duration, clip.reference) for clip in fleurs]
    for start, end, text in spoken:
        tokens = len(tokenizer.encode(" " + text, add_special_tokens=False).ids) + 2
        assert tokens <= 0.8 * transcribe.token_budget(end - start), (text, end - start, tokens)
    assert transcribe.token_budget(12.0) < 224 * 0.6  # and a loop in a short stretch ends well before whisper's limit


def test_a_word_begun_where_sound_begins_keeps_its_start_though_the_detector_heard_it_later():
    import numpy as np

    from app.core import coverage, level

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
