"""Word error rate on the shared FLEURS clips, against faster-whisper's own batched pipeline."""

from __future__ import annotations

import pytest

from app.core.audio_in import decode as audio
from app.core.whisper import models
from app.core import pipeline
from evaluation import scoring

pytestmark = pytest.mark.models


def _baseline(model_dir, clips, language: bool = False):
    """The batched pipeline's text of each clip (told the clip's language when `language`)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    batched = BatchedInferencePipeline(WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2))
    texts = []
    for clip in clips:
        segments, _ = batched.transcribe(
            audio.decode(clip.audio).samples, batch_size=8, word_timestamps=True, without_timestamps=False,
            language=clip.language if language else None,
        )
        texts.append(" ".join(s.text for s in segments))
    return texts


@pytest.fixture(scope="module")
def scores(fleurs, settings, resources):
    ours = [pipeline.run(clip.audio, settings, resources=resources) for clip in fleurs]
    theirs = _baseline(models.resolve("base", settings.models_dir), fleurs)
    by_language = {}
    for clip, transcript, baseline in zip(fleurs, ours, theirs):
        entry = by_language.setdefault(clip.language, {"ref": [], "ours": [], "theirs": [], "detected": [], "voices": []})
        entry["voices"].append(len(transcript.speakers))
        entry["ref"].append(clip.reference)
        entry["ours"].append(" ".join(seg.text for seg in transcript.segments))
        entry["theirs"].append(baseline)
        entry["detected"].append(transcript.language)
    by_language["all"] = {k: [x for e in list(by_language.values()) for x in e[k]] for k in ("ref", "ours", "theirs")}
    return {
        lang: (
            scoring.wer(" ".join(e["ref"]), " ".join(e["ours"])),
            scoring.wer(" ".join(e["ref"]), " ".join(e["theirs"])),
            e.get("detected"),
            e.get("voices"),
        )
        for lang, e in by_language.items()
    }


# Five clips a language: one clip's tail moves a language's WER by two or three points. On
# a CPU without AVX-512 (CTranslate2's other int8 kernels) the batched pipeline drops the
# citation that ends fleurs-es-001 ("oravec 2002") and ours keeps it, misheard ("Ahora ve
# 2.000.2."): Spanish 0.099 against 0.076, English 0.107 against 0.136. The strict
# comparison is over all ten clips; each language may not be worse by more than that tail.
ONE_CLIPS_TAIL = 0.03


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_less_accurate_than_faster_whispers_batched_pipeline(scores, language):
    ours, theirs, detected, _ = scores[language]
    both, both_theirs, *_ = scores["all"]
    print(f"WER {language}: ours {ours:.3f}, batched pipeline {theirs:.3f}; "
          f"both languages: ours {both:.3f}, batched {both_theirs:.3f}")
    assert detected == [language] * len(detected)
    assert both <= both_theirs + 0.005
    assert ours <= theirs + ONE_CLIPS_TAIL
    assert ours < 0.15  # about 0.08 to 0.10 for base on both languages


@pytest.mark.parametrize("language", ["es", "en"])
def test_one_reader_is_one_speaker(scores, language):
    *_, voices = scores[language]
    assert voices == [1] * len(voices)


# Of the 40 FLEURS clips (fleurs/ and fleurs-more/), those where the two pipelines' words
# differ on an AVX-512 VNNI Xeon (2026-12-03): bare drops an unfinished last sentence on
# three, ours mishears one word bare gets on the fourth (docs/accuracy.md#fleurs-word-by-word).
DIFFERING = ("fleurs-en-002", "fleurs-es-001", "fleurs-de-009", "fleurs-pt-008")


def test_where_the_two_pipelines_words_differ_ours_loses_no_more_clips_than_it_wins(settings, resources):
    from evaluation import recordings

    try:
        clips = {c.audio.stem: c for c in recordings.fleurs_clips(more=True)}
    except recordings.Missing as exc:
        pytest.skip(str(exc))
    chosen = [clips[name] for name in DIFFERING if name in clips]
    if len(chosen) < len(DIFFERING):
        pytest.skip("../shared/audio/fleurs-more is absent")
    theirs = _baseline(models.resolve("base", settings.models_dir), chosen, language=True)
    lost, won = [], []
    for clip, baseline in zip(chosen, theirs):
        transcript = pipeline.run(clip.audio, settings, resources=resources)
        ours = scoring.words_right(clip.reference, " ".join(s.text for s in transcript.segments))
        bare = scoring.words_right(clip.reference, baseline)
        lost += [clip.audio.stem] if bare - ours else []
        won += [clip.audio.stem] if ours - bare else []
        if clip.audio.stem == "fleurs-en-002":  # the sentence's end, which bare leaves out
            assert "recorded by lord byron" in scoring.normalise(" ".join(s.text for s in transcript.segments))
    print(f"clips where ours loses a word bare gets: {lost}; where bare loses one ours gets: {won}")
    assert len(lost) <= len(won)
