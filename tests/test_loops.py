"""Repetition loops: collapsed, the words after one left to be heard again, ordinary
repetition kept; and the token budget that stops a loop in a window."""

from __future__ import annotations

from app.core.whisper import loops


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


def test_the_token_budget_of_a_window_leaves_room_for_fast_speech(sample, fleurs, settings):
    # whisper may give at most transcribe.token_budget(seconds) tokens for a window (a
    # repetition loop stops there); every utterance of the two-speaker conversation and
    # every FLEURS sentence, with its two timestamp tokens, fits with room to spare
    import tokenizers

    from app.core.audio_in import decode as audio
    from app.core.whisper import models
    from app.core.whisper import transcriber as transcribe

    tokenizer = tokenizers.Tokenizer.from_file(str(models.resolve("base", settings.models_dir) / "tokenizer.json"))
    lines = [line.split() for line in sample.stm.read_text().splitlines()]
    spoken = [(float(f[3]), float(f[4]), " ".join(f[5:])) for f in lines]
    spoken += [(0.0, audio.decode(clip.audio).duration, clip.reference) for clip in fleurs]
    for start, end, text in spoken:
        tokens = len(tokenizer.encode(" " + text, add_special_tokens=False).ids) + 2
        assert tokens <= 0.8 * transcribe.token_budget(end - start), (text, end - start, tokens)
    assert transcribe.token_budget(12.0) < 224 * 0.6  # and a loop in a short stretch ends well before whisper's limit
