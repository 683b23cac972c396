"""Search across every transcript (FTS5): accents and case ignored, names included, kept in
step with renames, known voices and removals, older histories indexed when upgraded."""

from __future__ import annotations

import json
import sqlite3

from app.core.store import Store
from app.core.store import schema as migrate
from app.core.document.transcript import Transcript, compact
from tests.builders import finished_job, line, transcript, voice


def conversation(path: str, lines: list[tuple[float, str, str]]) -> Transcript:
    return transcript(*(line(t, t + 2.0, s, text) for t, s, text in lines), path=path)


def stored(store: Store, key: str, path: str, lines) -> int:
    return finished_job(store, conversation(path, lines), key=key).id


def test_accents_and_case_are_ignored_and_names_are_found(tmp_path):
    store = Store(tmp_path / "history.db")
    stored(store, "k1", "/citas/lunes.wav", [(0.0, "SPEAKER_00", "Buenos días, ¿cómo está?"),
                                               (75.5, "SPEAKER_01", "Me duele la cabeza desde el DÍA de ayer")])
    stored(store, "k2", "/citas/martes.wav", [(3.0, "SPEAKER_00", "Nada que ver con esto")])
    hits = store.search("dia")
    assert {(h.cache_key, h.segment) for h in hits} == {("k1", 0), ("k1", 1)}
    assert "[DÍA]" in next(h.snippet for h in hits if h.segment == 1)
    assert [h.start for h in store.search("CABEZA ayer")] == [75.5]  # every word, anywhere in the segment
    assert store.search("cabeza lunes") == []
    store.rename_speaker("k1", "SPEAKER_01", "Paciente Núñez")
    assert [(h.segment, h.name) for h in store.search("nunez")] == [(1, "Paciente Núñez")]
    assert store.search("") == [] and store.search("  ¿? ") == []
    store.remove(store.jobs_with_key("k1")[0].id)
    assert store.search("dia") == [] and len(store.search("nada")) == 1


def test_a_known_voice_renamed_or_forgotten_is_searched_as_shown(tmp_path):
    from app.core.speakers import signatures as voices

    store = Store(tmp_path / "history.db")
    finished_job(store, conversation("/a.wav", [(0.0, "SPEAKER_00", "hola")]),
                 voices={"SPEAKER_00": voices.to_bytes(voice(1, 2))})
    store.remember_voice("Ana", "k", "SPEAKER_00")
    assert [h.name for h in store.search("ana")] == ["Ana"]
    store.rename_voice("Ana", "Ana María")
    assert [h.name for h in store.search("maria")] == ["Ana María"]
    store.forget_voice("Ana María")
    assert store.search("maria") == [] and [h.name for h in store.search("hola")] == ["Speaker 1"]


def test_an_older_history_is_indexed_when_upgraded(tmp_path):
    path = tmp_path / "history.db"
    old = sqlite3.connect(path, isolation_level=None)
    migrate.migrate(old, target=5)
    data = compact(conversation("/viejo.wav", [(12.0, "SPEAKER_00", "Una consulta del año pasado")]).to_dict())
    old.execute("INSERT INTO results (cache_key, transcript, created_at) VALUES ('old', ?, 0)", (json.dumps(data),))
    old.execute("INSERT INTO speaker_names VALUES ('old', 'SPEAKER_00', 'Doctora Pérez')")
    old.execute("INSERT INTO jobs (path, cache_key, settings, status, created_at) VALUES ('/viejo.wav', 'old', '{}', 'completed', 0)")
    old.close()
    store = Store(path)
    hits = store.search("ano pasado")
    assert [(h.start, h.name) for h in hits] == [(12.0, "Doctora Pérez")]
    assert [h.segment for h in store.search("perez")] == [0]


def test_search_from_the_command_line(tmp_path, monkeypatch, capsys):
    from app import cli
    from app.core import settings as settings_mod

    monkeypatch.setenv(settings_mod.DATA_DIR_ENV, str(tmp_path))
    store = Store(settings_mod.load().history_file)
    stored(store, "k1", str(tmp_path / "consulta.wav"), [(0.0, "SPEAKER_00", "Hola"),
                                                         (125.0, "SPEAKER_01", "Tengo fiebre desde el martes")])
    store.close()
    assert cli.main(["search", "FIEBRE"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(tmp_path / "consulta.wav"))
    assert "  2:05  Speaker 2  Tengo [fiebre] desde el martes" in lines[0]
    assert cli.main(["search", "nada"]) == 1


def test_all_transcripts_from_the_window_opens_the_hit_at_its_segment(qtbot, tmp_path, window_over):
    import numpy as np
    from tests import media

    store = Store(tmp_path / "history.db")
    first = media.write_wav(tmp_path / "lunes.wav", np.zeros(16000 * 20))
    second = media.write_wav(tmp_path / "martes.wav", np.zeros(16000 * 20))
    stored(store, "k1", str(first), [(0.0, "SPEAKER_00", "Buenos días"), (4.0, "SPEAKER_01", "Hola")])
    target = stored(store, "k2", str(second), [(0.0, "SPEAKER_00", "Hola otra vez"), (3.0, "SPEAKER_01", "Nada"),
                                               (9.0, "SPEAKER_00", "Tengo fiebre desde el día de ayer")])
    win = window_over(store, jobs=2, row=0)  # the other transcript is on show
    panel = win.panel
    panel.everywhere.setChecked(True)
    panel.search.setText("FIEBRE dia")
    qtbot.waitUntil(lambda: panel.hits.count() == 1, timeout=10_000)
    assert "martes.wav  0:09" in panel.hits.item(0).text() and "[fiebre]" in panel.hits.item(0).text()
    panel.hits.itemActivated.emit(panel.hits.item(0))
    qtbot.waitUntil(lambda: win.selected_job() is not None and win.selected_job().id == target
                    and panel.transcript is not None and panel.transcript.source.path.endswith("martes.wav"), timeout=10_000)
    qtbot.waitUntil(lambda: panel.segments.currentRow() == 2, timeout=10_000)
    qtbot.waitUntil(lambda: abs(panel.player.position() - 9000) < 300, timeout=10_000)  # ready to play from it
