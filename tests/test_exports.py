from __future__ import annotations

import json

import pytest

from app.core.document import exports
from app.core.document.transcript import Transcript
from tests.builders import said, transcript


def make() -> Transcript:
    return transcript(said("SPEAKER_00", (0.5, 1.0, "Hola,"), (1.1, 2.0, "¿qué tal?", 0.8)),
                      said("SPEAKER_01", (3661.25, 3662.0, "Bien <gracias> & tú", 0.7)),
                      path="/recordings/consulta uno.m4a", duration=3700.0, sha256="ab" * 32, device="cpu (int8)",
                      names={"SPEAKER_00": "Doctora"}, timings={"total": 1.0})


def test_json_is_the_documented_contract_and_round_trips():
    data = json.loads(exports.to_json(make()))
    assert data["source"] == {"path": "/recordings/consulta uno.m4a", "sha256": "ab" * 32, "duration": 3700.0}
    assert data["speakers"][0] == {"id": "SPEAKER_00", "name": "Doctora", "talk_time": 1.5, "voice": None,
                                   "channel": None}
    assert set(data["segments"][0]) == {"start", "end", "speaker", "text", "words"}
    assert set(data["segments"][0]["words"][0]) == {"start", "end", "word", "probability"}
    assert {"language", "model", "device", "timings", "schema_version", "channels"} <= set(data)
    assert Transcript.from_dict(data) == make()
    assert "¿qué tal?" in exports.to_json(make())  # readable, not \\u-escaped


def test_srt_puts_the_speaker_name_before_the_text():
    assert exports.to_srt(make()) == (
        "1\n00:00:00,500 --> 00:00:02,000\nDoctora: Hola, ¿qué tal?\n\n"
        "2\n01:01:01,250 --> 01:01:02,000\nSpeaker 2: Bien <gracias> & tú\n"
    )


def test_renaming_a_speaker_changes_the_export():
    renamed = make().with_names({"SPEAKER_01": "Paciente"})
    assert "Paciente: Bien" in exports.to_srt(renamed)
    assert renamed.segments == make().segments


def test_vtt_uses_voice_tags_and_escapes():
    text = exports.to_vtt(make())
    assert text.startswith("WEBVTT\n")
    assert "00:00:00.500 --> 00:00:02.000\n<v Doctora>Hola, ¿qué tal?</v>" in text
    assert "<v Speaker 2>Bien &lt;gracias&gt; &amp; tú</v>" in text


def test_txt_and_rttm():
    assert exports.to_txt(make()).splitlines() == ["[00:00:00] Doctora: Hola, ¿qué tal?", "",
                                                   "[01:01:01] Speaker 2: Bien <gracias> & tú"]
    assert exports.to_rttm(make()).splitlines() == [
        "SPEAKER consulta_uno 1 0.500 1.500 <NA> <NA> Doctora <NA> <NA>",
        "SPEAKER consulta_uno 1 3661.250 0.750 <NA> <NA> Speaker_2 <NA> <NA>",
    ]


def test_long_segments_become_readable_cues():
    seg = said("SPEAKER_00", *((i * 0.5, i * 0.5 + 0.4, f"word{i}") for i in range(40)))
    cues = exports.cues(seg)
    assert len(cues) > 2
    assert all(end - start <= exports.CUE_MAX_SEC and len(text) <= exports.CUE_MAX_CHARS for start, end, text in cues)
    assert " ".join(text for *_, text in cues) == seg.text


@pytest.mark.parametrize("fmt", sorted(exports.FORMATS))
def test_empty_transcript_exports(fmt):
    empty = transcript(path="x.wav", sha256="", language="", duration=1.0)
    assert isinstance(exports.FORMATS[fmt](empty), str)
