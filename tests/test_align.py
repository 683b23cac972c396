from __future__ import annotations

from app.core.speakers.align import align, name_speakers
from app.core.speakers.diarizer import Turn


def words(*spec):
    """spec: (start, end, text) triples -> one whisper segment."""
    return {"words": [{"start": s, "end": e, "word": " " + t, "probability": 0.9} for s, e, t in spec]}


def test_words_follow_the_voice_that_overlaps_them_most():
    turns = [Turn(0.0, 2.0, "A"), Turn(2.0, 4.0, "B")]
    segs = align([words((0.1, 0.5, "hello"), (0.6, 1.0, "there"), (1.9, 2.6, "hi"), (2.7, 3.0, "you"))], turns)
    assert [(s.speaker, s.text) for s in segs] == [("A", "hello there"), ("B", "hi you")]


def test_segment_never_spans_a_speaker_change():
    turns = [Turn(0, 1, "A"), Turn(1, 2, "B"), Turn(2, 3, "A")]
    segs = align([words((0.2, 0.4, "a"), (1.2, 1.4, "b"), (2.2, 2.4, "c"))], turns)
    assert [s.speaker for s in segs] == ["A", "B", "A"]
    for seg in segs:
        assert all(seg.start <= w.start and w.end <= seg.end for w in seg.words)


def test_word_in_a_gap_takes_the_nearest_voice_or_the_previous_one():
    turns = [Turn(0, 1, "A"), Turn(5, 6, "B")]
    segs = align([words((0.5, 0.8, "one"), (1.2, 1.4, "two"), (2.5, 2.7, "three"), (4.7, 4.9, "four"))], turns)
    assert [(s.speaker, s.text) for s in segs] == [("A", "one two three"), ("B", "four")]


def test_long_pause_starts_a_new_segment():
    turns = [Turn(0, 10, "A")]
    segs = align([words((0.0, 0.5, "before"), (3.0, 3.5, "after"))], turns)
    assert [s.text for s in segs] == ["before", "after"]


def test_no_turns_gives_one_speaker():
    segs, speakers = name_speakers(align([words((0.0, 0.5, "alone"))], []), [])
    assert [s.speaker for s in segs] == ["SPEAKER_00"]
    assert speakers[0].talk_time == 0.5


def test_ids_by_first_appearance_and_talk_time_from_voices():
    turns = [Turn(0, 1, "SPEAKER_02"), Turn(1, 4, "SPEAKER_01"), Turn(9, 9.5, "SPEAKER_03")]
    segs, speakers = name_speakers(align([words((0.2, 0.5, "x"), (1.5, 2.0, "y"))], turns), turns)
    assert [s.speaker for s in segs] == ["SPEAKER_00", "SPEAKER_01"]
    assert [(s.id, s.name, s.talk_time) for s in speakers] == [
        ("SPEAKER_00", "Speaker 1", 1.0),
        ("SPEAKER_01", "Speaker 2", 3.0),
    ]


def test_an_early_speaker_change_moves_forward_to_the_sentence_end():
    # The voices change two words early (1.5 s windows): "Chicago also." is still the
    # first speaker's; the pause and the full stop say where the turn really ends.
    spoken = [(0.0, 0.3, "I'm"), (0.35, 0.7, "from"), (0.75, 1.2, "Chicago"), (1.25, 1.6, "also."),
              (2.2, 2.5, "Well,"), (2.55, 2.9, "there"), (2.95, 3.3, "isn't")]
    turns = [Turn(0.0, 0.9, "A"), Turn(0.9, 3.5, "B")]
    segs = align([words(*spoken)], turns)
    assert [(s.speaker, s.text) for s in segs] == [("A", "I'm from Chicago also."), ("B", "Well, there isn't")]


def test_an_early_speaker_change_moves_forward_to_the_question_mark():
    # "So what can I say?" | "Oh, I don't hear that": the voices change two words early.
    spoken = [(0.0, 0.2, "So"), (0.25, 0.5, "what"), (0.55, 0.7, "can"), (0.75, 0.85, "I"), (0.9, 1.2, "say?"),
              (1.8, 2.0, "Oh,"), (2.05, 2.2, "I"), (2.25, 2.5, "don't"), (2.55, 2.8, "hear")]
    turns = [Turn(0.0, 0.6, "A"), Turn(0.6, 3.0, "B")]
    segs = align([words(*spoken)], turns)
    assert [(s.speaker, s.text) for s in segs] == [("A", "So what can I say?"), ("B", "Oh, I don't hear")]


def test_a_change_at_the_right_place_stays():
    spoken = [(0.0, 0.3, "yes"), (0.35, 0.6, "and"), (1.4, 1.7, "no"), (2.5, 2.8, "then.")]
    turns = [Turn(0.0, 1.0, "A"), Turn(1.0, 3.0, "B")]
    segs = align([words(*spoken)], turns)
    assert [(s.speaker, s.text) for s in segs] == [("A", "yes and"), ("B", "no then.")]


def test_a_late_speaker_change_moves_back_to_the_pause():
    # "...originally from Chicago also." | "Well, there isn't": the voices change one word late.
    spoken = [(0.75, 1.2, "Chicago"), (1.25, 1.6, "also."), (2.2, 2.5, "Well,"), (2.55, 2.9, "there"),
              (2.95, 3.3, "isn't")]
    turns = [Turn(0.0, 2.6, "A"), Turn(2.6, 3.5, "B")]
    segs = align([words(*spoken)], turns)
    assert [(s.speaker, s.text) for s in segs] == [("A", "Chicago also."), ("B", "Well, there isn't")]


def test_a_change_moves_at_most_three_words():
    # short sentences one after the other must not walk the change along
    spoken, t = [], 0.0
    for i, w in enumerate(["a", "b", "Yes.", "Okay.", "Right.", "Sure.", "Fine.", "Good.", "Well."]):
        spoken.append((round(t, 2), round(t + 0.3, 2), w))
        t += 0.3 + 0.2 + 0.1 * i  # each pause a little longer than the last
    turns = [Turn(0.0, 0.75, "A"), Turn(0.75, 30.0, "B")]
    segs = align([words(*spoken)], turns)
    assert segs[0].speaker == "A" and len(segs[0].words) <= 2 + 3


def test_the_speech_at_a_change_of_speaker_goes_to_the_words_on_each_side():
    # The pyannote sample: whisper ends "there." at 9.74 and starts "Needs" at 9.98, while
    # both people talk through the gap; the diarizer changes speaker at 9.9
    turns = [Turn(7.65, 9.9, "A"), Turn(9.9, 11.1, "B")]
    spoken = words((9.48, 9.74, "there."), (9.98, 10.24, "Needs"), (10.24, 10.62, "design."))
    segs = align([spoken], turns, [(7.65, 17.95)])
    assert [(s.speaker, s.start, s.end) for s in segs] == [("A", 9.48, 9.9), ("B", 9.9, 10.92)]
    assert [w.start for w in segs[1].words] == [9.9, 10.24], "only the words at the change move"
    assert segs[1].words[-1].end == 10.92, "the last word takes 0.3 s of the speech after it (fill_tails)"


def test_silence_at_a_change_of_speaker_stays_silence():
    # a call: one party stops at 3.0, the other starts at 3.8; the detector heard a pause
    turns = [Turn(0.0, 3.4, "A"), Turn(3.4, 6.0, "B")]
    spoken = words((2.5, 3.0, "gracias."), (3.8, 4.2, "Hola"))
    segs = align([spoken], turns, [(0.0, 3.05), (3.75, 6.0)])
    assert [(s.start, s.end) for s in segs] == [(2.5, 3.05), (3.75, 4.5)]
    assert [(s.start, s.end) for s in align([spoken], turns)] == [(2.5, 3.0), (3.8, 4.2)], "without speech: as said"


def test_speech_in_a_gap_past_the_diarizers_change_goes_to_the_nearer_side():
    # AMI trn00: "stuff." ends 26.65, the other voice's "like" starts 28.0, the detector heard
    # 27.01-27.36 in between and the diarizer changes at 28.1, past the gap: all of it to "stuff."
    turns = [Turn(21.4, 25.85, "B"), Turn(25.86, 27.36, "A"), Turn(28.1, 30.0, "B")]
    spoken = words((25.65, 26.65, "stuff."), (28.0, 28.21, "like"))
    segs = align([spoken], turns, [(21.44, 25.85), (27.01, 27.358), (28.098, 30.0)])
    assert [(s.speaker, s.start, s.end) for s in segs] == [("A", 25.65, 27.358), ("B", 28.0, 28.51)]


def test_a_word_ends_where_the_voice_heard_after_it_ends():
    # FLEURS en-004: whisper's last word ends 3.676 s, the detector hears the voice to 3.70 s
    turns = [Turn(0.0, 3.7, "A")]
    spoken = words((3.2, 3.676, "room."))
    assert align([spoken], turns, [(0.1, 3.7)])[0].end == 3.7


def test_a_word_takes_at_most_a_little_of_the_speech_after_it_and_never_the_next_words():
    turns = [Turn(0.0, 9.0, "A")]
    spoken = words((1.0, 1.5, "so"), (1.6, 2.0, "then"), (5.0, 5.4, "well"))
    segs = align([spoken], turns, [(0.9, 3.0), (4.9, 9.0)])
    ends = [w.end for s in segs for w in s.words]
    assert ends == [1.6, 2.3, 5.7]
    assert [(s.start, s.end) for s in segs] == [(1.0, 2.3), (5.0, 5.7)], "segments span their words"


def test_a_word_ending_in_silence_keeps_its_end():
    turns = [Turn(0.0, 3.0, "A")]
    spoken = words((1.0, 1.5, "no."))
    assert align([spoken], turns, [(0.9, 1.4)])[0].end == 1.5
    assert align([spoken], turns)[0].end == 1.5, "without the detector's speech: as said"


def test_a_change_between_two_words_said_without_a_pause_is_not_moved_to_a_short_breath():
    # AMI dev00: "I'm the marketing expert you're | the marketing expert, okay": the voices
    # change at "the"; a 0.16-s breath before "okay" is no reason to give three more words
    # to the first speaker.
    spoken = [(26.21, 26.64, "I'm"), (26.64, 26.86, "the"), (26.86, 27.54, "marketing"), (27.54, 28.08, "expert"),
              (28.08, 28.68, "you're"), (28.68, 28.74, "the"), (28.74, 29.04, "marketing"),
              (29.04, 29.50, "expert,"), (29.66, 29.94, "okay")]
    turns = [Turn(26.31, 28.29, "B"), Turn(28.5, 30.0, "A")]
    segs = align([words(*spoken)], turns)
    assert [(s.speaker, s.text) for s in segs] == [("B", "I'm the marketing expert you're"),
                                                   ("A", "the marketing expert, okay")]
