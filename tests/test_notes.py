"""Notes from a local LLM, against a real local HTTP server speaking Ollama's API: every
point is checked against the turns it cites before it is shown, a bad answer gives one
note, a long transcript is noted in parts whose citations stay in their part, and a
correction marks the notes as made from an earlier version."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from app.core.common.errors import UserError
from app.core.engine import Engine
from app.core.llm import chat, notes
from app.core.store import Store
from tests.builders import finished_job, line, transcript
from tests.ollama_server import MODEL, closed_port_host


def consultation():
    return transcript(
        line(0.0, 4.0, "SPEAKER_00", "Buenos días, ¿qué le trae por aquí?"),
        line(4.5, 12.0, "SPEAKER_01", "Desde el 3 de marzo tengo dolor de cabeza por las tardes."),
        line(12.5, 20.0, "SPEAKER_00", "Tome ibuprofeno, 400 mg cada ocho horas, y vuelva en dos semanas."),
        line(20.5, 24.0, "SPEAKER_01", "De acuerdo, se lo diré a Marta."),
        names={"SPEAKER_00": "Dra. Ruiz", "SPEAKER_01": "Juan"}, language="es")


def answer_with(*points):
    return lambda body: json.dumps({"points": list(points)})


def options(host: str, timeout: float = 5.0):
    return lambda: chat.LLMOptions(host, MODEL, timeout=timeout)


def test_points_citing_turns_that_exist_come_with_their_times(fake_ollama):
    ollama = fake_ollama(answer_with(
        {"section": "reason", "text": "Dolor de cabeza por las tardes desde el 3 de marzo.", "turns": [2],
         "who": "Juan", "quote": None},
        {"section": "plan", "text": "Ibuprofeno 400 mg cada ocho horas; volver en dos semanas.", "turns": [3],
         "who": "Dra. Ruiz", "quote": "vuelva en dos semanas"}))
    made = notes.make(consultation(), "consultation", options(ollama.host))
    assert [p.supported for p in made.points] == [True, True], [p.problem for p in made.points]
    assert made.points[0].who == "SPEAKER_01" and made.cites[2] == (4.5, 12.0) and made.cites[3] == (12.5, 20.0)
    assert made.model == MODEL and made.parts == 1
    sent = ollama.requests[-1]
    assert sent["options"]["num_ctx"] == notes.CONTEXT_TOKENS and sent["format"]["properties"]["points"]
    asked = sent["messages"][0]["content"]
    assert "[2] Juan (0:04): Desde el 3 de marzo" in asked and "in Spanish" in asked


@pytest.mark.parametrize("point, problem", [
    ({"section": "plan", "text": "Volver en dos semanas.", "turns": [9]}, "turn 9, which is not in the transcript"),
    ({"section": "plan", "text": "Juan vuelve en dos semanas.", "turns": [3], "who": "Juan"},
     "about Juan, who speaks in none of the turns"),
    ({"section": "plan", "text": "Cita.", "turns": [3], "quote": "vuelva en tres semanas"},
     "quotation is not word for word"),
    ({"section": "plan", "text": "Ibuprofeno 20 mg cada ocho horas.", "turns": [3]}, "20 is in none of the turns"),
    ({"section": "reason", "text": "Dolor desde el 3 de abril.", "turns": [2]}, "'abril' is in none"),
    ({"section": "reason", "text": "Le duele la cabeza desde el 5 de marzo.", "turns": [2]}, "5 is in none"),
    ({"section": "plan", "text": "Se lo dirá a Marta.", "turns": [3]}, "Marta is in none of the turns"),
    ({"section": "plan", "text": "Nada.", "turns": []}, "cites no turn"),
    ({"section": "plan", "text": "Lo verá Pedro.", "turns": [3], "who": "Pedro"}, "not a speaker of this transcript"),
])
def test_each_unsupported_point_is_caught_and_kept_as_unsupported(fake_ollama, point, problem):
    good = {"section": "plan", "text": "Ibuprofeno 400 mg cada ocho horas.", "turns": [3]}
    ollama = fake_ollama(answer_with(good, point))
    made = notes.make(consultation(), "consultation", options(ollama.host))
    shown = {p.text: p for p in made.points}
    assert shown[good["text"]].supported
    assert not shown[point["text"]].supported and problem in shown[point["text"]].problem


@pytest.mark.parametrize("reply, said", [
    ("Aquí tiene las notas: el paciente tiene dolor.", "not valid JSON"),
    (json.dumps({"notes": []}), "no list of points"),
    (json.dumps({"points": [{"section": "plan", "text": "x", "turns": "3"}]}), "did not list its turns"),
    (json.dumps({"points": [{"section": "weather", "text": "x", "turns": [1]}]}), "no known section"),
])
def test_an_answer_that_breaks_the_schema_gives_one_clear_note(fake_ollama, reply, said):
    ollama = fake_ollama(lambda body: reply)
    with pytest.raises(chat.ChatError, match=said):
        notes.make(consultation(), "consultation", options(ollama.host))


@pytest.mark.parametrize("mode, said", [("drip", "did not answer within 2 s"), ("slow", "did not answer within 2 s"),
                                        ("missing", "ollama pull"), ("huge", "ran past 256 KB")])
def test_a_server_that_drips_stalls_lacks_the_model_or_floods_is_cut_with_one_note(fake_ollama, mode, said):
    import time

    ollama = fake_ollama(mode=mode, delay=30)
    started = time.monotonic()
    with pytest.raises(chat.ChatError, match=said):
        notes.make(consultation(), "summary", options(ollama.host, timeout=2))
    assert time.monotonic() - started < 6


def test_nothing_is_sent_off_this_computer_or_when_consent_is_gone(fake_ollama):
    with pytest.raises(chat.ChatError, match="not on this computer"):
        notes.make(consultation(), "summary", lambda: chat.LLMOptions("http://203.0.113.9:11434", MODEL, timeout=2))
    with pytest.raises(chat.ChatError, match="not running"):
        notes.make(consultation(), "summary", options(closed_port_host()))
    ollama = fake_ollama(answer_with())
    with pytest.raises(chat.ChatError, match="turned off"):
        notes.make(consultation(), "summary", lambda: None)
    assert ollama.requests == []


def test_a_two_hour_transcript_is_noted_in_parts_and_each_citation_points_into_its_part(fake_ollama):
    segments = [line(i * 6.0, i * 6.0 + 5.0, f"SPEAKER_0{i % 2}",
                     f"Punto número {i}: hablamos del tema {i} con bastante detalle y algunas palabras más para "
                     "llenar el turno como en una reunión real de trabajo.") for i in range(1200)]
    long = transcript(*segments, language="es")
    assert long.segments[-1].end > 7190

    def cite_the_first_turn_shown(body):
        asked = body["messages"][0]["content"]
        first = int(re.search(r"^\[(\d+)\]", asked, re.M).group(1))
        return json.dumps({"points": [{"section": "summary", "text": f"Se habló del tema {first - 1}.",
                                       "turns": [first]}]})

    ollama = fake_ollama(cite_the_first_turn_shown)
    made = notes.make(long, "summary", options(ollama.host))
    asked = [r["messages"][0]["content"] for r in ollama.requests if "messages" in r]
    assert made.parts == len(asked) > 1
    limit = (notes.CONTEXT_TOKENS - notes.ANSWER_TOKENS) * notes.CHARS_PER_TOKEN
    assert all(len(a) < limit for a in asked)
    assert all(p.supported for p in made.points), [p.problem for p in made.points]
    for point, prompt in zip(made.points, asked):
        number = point.turns[0]
        assert f"[{number}] " in prompt  # cited in the part it was made from
        start, end = made.cites[number]
        assert (start, end) == (long.segments[number - 1].start, long.segments[number - 1].end)
        assert f"tema {number - 1} " in long.segments[number - 1].text


def test_a_part_citing_a_turn_of_another_part_is_unsupported(fake_ollama):
    segments = [line(i * 6.0, i * 6.0 + 5.0, "SPEAKER_00", "Palabras " * 40 + str(i)) for i in range(600)]

    def always_turn_one(body):
        part = re.search(r"part (\d+) of", body["messages"][0]["content"]).group(1)
        return json.dumps({"points": [{"section": "summary", "text": f"Palabras, parte {part}.", "turns": [1]}]})

    ollama = fake_ollama(always_turn_one)
    made = notes.make(transcript(*segments), "summary", options(ollama.host))
    assert made.parts == len(made.points) > 1  # a monologue, cut into pieces that fit
    assert made.points[0].supported  # the first part holds turn 1
    assert all("not in the part it was made from" in p.problem for p in made.points[1:])


def engine_over(ollama, tmp_path):
    """An engine over a history holding the consultation, its LLM the server `ollama`."""
    from app.core.settings import Settings

    store = Store(tmp_path / "h.db")
    job = finished_job(store, consultation())
    now = Settings(data_dir=tmp_path, ollama_host=ollama.host, ollama_model=MODEL, ollama_timeout=5)
    return Engine(store, settings_now=lambda: now), job


def test_notes_are_kept_with_the_transcript_and_marked_when_it_is_corrected(fake_ollama, tmp_path):
    ollama = fake_ollama(answer_with({"section": "plan", "text": "Ibuprofeno 400 mg cada ocho horas.", "turns": [3]}))
    engine, job = engine_over(ollama, tmp_path)
    steps = []
    made = engine.notes.make(job.id, "consultation", progress=lambda f, s: steps.append((f, s)))
    assert steps[-1] == (1.0, "Notes: done")
    kept, current = engine.notes.get(job.id)
    assert kept == made and current
    engine.rename_speaker(job.id, "SPEAKER_00", "Doctora")  # a name is not a correction
    assert engine.notes.get(job.id)[1]
    shown = engine.result(job.id)
    engine.edits.save(job.id, replace(shown, segments=(*shown.segments[:2], replace(
        shown.segments[2], text="Tome paracetamol, 1 g cada ocho horas."), shown.segments[3])))
    kept, current = engine.notes.get(job.id)
    assert kept == made and not current
    engine.close()


def test_a_failure_leaves_the_kept_notes_and_says_why(fake_ollama, tmp_path):
    ollama = fake_ollama(answer_with({"section": "summary", "text": "Consulta por dolor de cabeza.", "turns": [2]}))
    engine, job = engine_over(ollama, tmp_path)
    made = engine.notes.make(job.id)
    ollama.answer = lambda body: "not json"
    with pytest.raises(UserError, match="not valid JSON"):
        engine.notes.make(job.id)
    assert engine.notes.get(job.id) == (made, True)
    engine.close()


def test_the_command_line_makes_prints_and_keeps_notes(fake_ollama, tmp_path, monkeypatch, capsys):
    from app import cli
    from app.core import settings as settings_mod

    ollama = fake_ollama(answer_with(
        {"section": "plan", "text": "Ibuprofeno 400 mg cada ocho horas.", "turns": [3]},
        {"section": "plan", "text": "Ibuprofeno 20 mg.", "turns": [3]}))
    monkeypatch.setenv(settings_mod.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv("OLLAMA_HOST", ollama.host)
    store = Store(settings_mod.load().history_file)
    job = finished_job(store, consultation())
    store.close()
    assert cli.main(["notes", str(job.id), "--template", "consultation", "--model", MODEL]) == 0
    out, err = capsys.readouterr()
    assert "## Plan" in out and "- Ibuprofeno 400 mg cada ocho horas. [00:12]" in out
    assert "**Unsupported: 20 is in none of the turns it cites.**" in out and "1 of 2 point(s)" in err
    asked = len(ollama.requests)
    assert cli.main(["notes", str(job.id), "--format", "json", "--model", MODEL]) == 0  # the kept ones
    printed = json.loads(capsys.readouterr().out)
    assert len(ollama.requests) == asked and printed["current"] and printed["template"] == "consultation"
    assert printed["points"][0]["cites"] == [{"start": 12.5, "end": 20.0}] and printed["points"][0]["supported"]
    assert printed["points"][1]["supported"] is False
    assert cli.main(["show", str(job.id), "--format", "md", "--notes"]) == 0
    shown = capsys.readouterr().out
    assert shown.index("## Notes") < shown.index("## Transcript") and "[00:12]" in shown
    assert cli.main(["show", str(job.id), "--format", "json", "--notes"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"]["points"][0]["cites"] == [{"start": 12.5, "end": 20.0}]
    monkeypatch.setenv("OLLAMA_HOST", closed_port_host())
    assert cli.main(["notes", str(job.id), "--again", "--model", MODEL]) == 1
    assert "error: Ollama is not running at" in capsys.readouterr().err


def test_word_and_pdf_carry_the_notes(fake_ollama, tmp_path):
    import io

    from docx import Document

    from app.core.document.exports import render

    ollama = fake_ollama(answer_with({"section": "summary", "text": "Consulta por dolor de cabeza.", "turns": [2]},
                                {"section": "summary", "text": "Se lo dirá a Marta.", "turns": [3]}))
    made = notes.make(consultation(), "summary", options(ollama.host))
    word = Document(io.BytesIO(render("docx", consultation(), notes=(made.to_dict(), False))))
    text = "\n".join(p.text for p in word.paragraphs)
    assert "Consulta por dolor de cabeza. [00:04]" in text and "Made from an earlier version" in text
    assert "Unsupported: Marta is in none of the turns it cites." in text
    page = render("html", consultation(), notes=(made.to_dict(), True))
    assert page.index("<h2>Notes</h2>") < page.index("<h2>Transcript</h2>") and "earlier version" not in page


def test_the_http_api_makes_and_gives_notes(fake_ollama, tmp_path, settings):
    from tests.test_api import Server

    ollama = fake_ollama(answer_with({"section": "summary", "text": "Dolor de cabeza desde el 3 de marzo.",
                                 "turns": [2]}))
    from app.core import settings as settings_mod

    # the engine reads the host from the preferences in the history's folder when it sends
    settings_mod.save_preferences(replace(settings, data_dir=tmp_path), {"ollama_host": ollama.host,
                                                                        "ollama_model": MODEL, "ollama_timeout": 5})
    api = Server(tmp_path, settings)
    try:
        job = finished_job(api.engine._store, consultation())
        api_id = api.engine.with_api_id(job).api_id
        api.settings = replace(api.settings, api_lists_window_jobs=True)
        with api.client() as http:
            assert http.get(f"/api/diarization/notes/{api_id}").status_code == 404
            anyone = http.post(f"/api/diarization/notes/{api_id}", headers={"Authorization": ""})
            assert anyone.status_code == 401 and ollama.requests == []  # nothing sent for a caller without the token
            assert http.post(f"/api/diarization/notes/{'0' * 32}").status_code == 404
            made = http.post(f"/api/diarization/notes/{api_id}", params={"template": "summary"})
            assert made.status_code == 200, made.text
            assert made.json()["points"][0]["cites"] == [{"start": 4.5, "end": 12.0}]
            assert http.get(f"/api/diarization/notes/{api_id}").json() == made.json()
            md = http.get(f"/api/diarization/result/{api_id}", params={"format": "md", "notes": "true"}).text
            assert "Dolor de cabeza desde el 3 de marzo. [00:04]" in md
            assert http.post(f"/api/diarization/notes/{api_id}", params={"template": "poem"}).status_code == 422
            ollama.answer = lambda body: "nope"
            failed = http.post(f"/api/diarization/notes/{api_id}")
            assert failed.status_code == 502 and "not valid JSON" in failed.json()["detail"]
    finally:
        api.close()
