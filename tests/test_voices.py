"""Known voices: matching, the history's voices (kept, renamed, forgotten for good), the
command line, and real recordings: a voice remembered in one names its owner in another."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.speakers import signatures as voices
from app.core.store import Store
from app.core.document.transcript import Transcript
from tests.builders import finished_job, line, transcript, voice


def test_the_best_assignment_overall_wins_not_the_first_come():
    # Ana is a little closer to speaker 0 than to speaker 1, but Bea matches only speaker 0:
    # taking the first best pair (0-Ana) would leave Bea unmatched.
    speakers = {"SPEAKER_00": voice(1, 0.3, 0), "SPEAKER_01": voice(1, 0, 0.3)}
    known = [(1, "Ana", [voice(1, 0.15, 0.15)]), (2, "Bea", [voice(1, 0.5, 0)])]
    found = {m.speaker_id: m.name for m in voices.match(speakers, known, threshold=0.9)}
    assert found == {"SPEAKER_00": "Bea", "SPEAKER_01": "Ana"}


def test_one_voice_names_at_most_one_speaker_and_none_below_the_threshold():
    speakers = {"SPEAKER_00": voice(1, 0.1), "SPEAKER_01": voice(1, 0.12), "SPEAKER_02": voice(0, 1)}
    found = voices.match(speakers, [(1, "Ana", [voice(1, 0.11)])], threshold=0.9)
    assert len(found) == 1 and found[0].name == "Ana"
    assert voices.match({"SPEAKER_00": voice(0, 1)}, [(1, "Ana", [voice(1, 0)])]) == []


def test_a_malformed_signature_is_refused():
    for bad in (b"", b"\0" * 10, np.full(voices.DIMENSIONS, np.nan, "<f4").tobytes()):
        with pytest.raises(ValueError):
            voices.from_bytes(bad)


def greetings(path: str = "a.wav") -> Transcript:
    return transcript(line(0.0, 0.5, "SPEAKER_00", "hola"), line(1.0, 1.5, "SPEAKER_01", "hola"), path=path)


def finished(store: Store, key: str, signatures: dict[str, np.ndarray], path: str = "a.wav") -> int:
    return finished_job(store, greetings(path), key=key,
                        voices={k: voices.to_bytes(v) for k, v in signatures.items()}).id


def test_a_remembered_voice_names_its_speaker_elsewhere_and_a_typed_name_wins(tmp_path):
    store = Store(tmp_path / "history.db")
    ana, bea = voice(1, 0.2, 0.1), voice(0.1, 1, 0.2)
    finished(store, "first", {"SPEAKER_00": ana, "SPEAKER_01": bea})
    store.remember_voice("Ana", "first", "SPEAKER_00", "first.wav")
    finished(store, "second", {"SPEAKER_00": voice(0.1, 1, 0.25), "SPEAKER_01": voice(1, 0.22, 0.1)})
    store.apply_voices("second")
    speakers = {s.id: s for s in store.result("second").speakers}
    assert speakers["SPEAKER_01"].name == "Ana" and speakers["SPEAKER_01"].voice["similarity"] > 0.99
    assert speakers["SPEAKER_00"].name == "Speaker 1" and speakers["SPEAKER_00"].voice is None
    assert store.result("second").to_dict()["speakers"][1]["voice"]["name"] == "Ana"
    store.rename_speaker("second", "SPEAKER_01", "Dra. García")  # typed: wins, and says no voice
    speakers = {s.id: s for s in store.result("second").speakers}
    assert speakers["SPEAKER_01"].name == "Dra. García" and speakers["SPEAKER_01"].voice is None
    store.rename_speaker("second", "SPEAKER_01", "")
    store.reject_voice_match("second", "SPEAKER_01")  # "that is not Ana"
    store.apply_voices("second")  # and it stays rejected
    assert {s.id: s.name for s in store.result("second").speakers}["SPEAKER_01"] == "Speaker 2"


def test_forgetting_a_voice_removes_its_signatures_from_the_file(tmp_path, monkeypatch):
    import sqlite3

    connect = sqlite3.connect

    def platform_default_off(*args, **kwargs):  # as where SQLite is built without SECURE_DELETE
        db = connect(*args, **kwargs)
        db.execute("PRAGMA secure_delete=OFF")
        return db

    monkeypatch.setattr(sqlite3, "connect", platform_default_off)
    path = tmp_path / "history.db"
    store = Store(path)
    ana = voice(1, 0.2, 0.1, 0.3)
    finished(store, "first", {"SPEAKER_00": ana})
    store.remove(store.jobs()[0].id)  # the transcript goes; the remembered sample must be all that is left
    finished(store, "again", {"SPEAKER_00": ana})
    store.remember_voice("Ana", "again", "SPEAKER_00")
    store.remove(store.jobs()[0].id)
    assert [v["name"] for v in store.voice_list()] == ["Ana"]
    blob = voices.to_bytes(ana)
    store.forget_voice("Ana")
    assert store.voice_list() == [] and store.known_voices() == []
    store.close()
    for name in ("history.db", "history.db-wal"):
        if (tmp_path / name).exists():
            assert blob not in (tmp_path / name).read_bytes(), name


def test_voices_from_the_command_line(tmp_path, monkeypatch, capsys):
    from app import cli
    from app.core import settings as settings_mod

    monkeypatch.setenv(settings_mod.DATA_DIR_ENV, str(tmp_path))
    store = Store(settings_mod.load().history_file)
    recording = tmp_path / "consulta.wav"
    recording.write_bytes(b"RIFF....WAVE")
    from app.core.audio_in.decode import file_sha256

    job = finished_job(store, greetings(str(recording)), sha256=file_sha256(recording),
                       voices={"SPEAKER_01": voices.to_bytes(voice(1, 2, 3))})
    store.close()
    assert cli.main(["voices", "add", str(recording), "SPEAKER_01", "Ana"]) == 0
    assert cli.main(["voices", "add", str(recording), "SPEAKER_07", "Ana"]) == 1
    assert "no speaker SPEAKER_07" in capsys.readouterr().err
    assert cli.main(["voices", "rename", "Ana", "Ana María"]) == 0
    capsys.readouterr()
    assert cli.main(["voices", "list"]) == 0
    listed = capsys.readouterr().out
    assert "Ana María  (1 sample)" in listed and "SPEAKER_01 of" in listed and "consulta.wav" in listed
    assert cli.main(["show", str(job.id), "--format", "json"]) == 0
    assert '"name": "Ana María"' in capsys.readouterr().out
    assert cli.main(["voices", "remove", "Ana María"]) == 0
    assert cli.main(["voices", "remove", "Ana María"]) == 1


@pytest.mark.models
def test_a_voice_from_one_meeting_names_the_same_person_in_another_and_nobody_elsewhere(settings, resources, tmp_path):
    from app.core import pipeline
    from evaluation import devset, recordings
    from evaluation.scoring import identities

    try:
        items = {item.name: item for item in devset.ami_items()}
    except recordings.Missing as exc:
        pytest.skip(str(exc))
    store = Store(tmp_path / "history.db")
    truths = {}
    for name in ("ami-dev00", "ami-dev01", "ami-trn05"):  # dev00 and dev01 share two people; trn05 neither
        item = items[name]
        signatures: dict[str, bytes] = {}
        result = pipeline.run(item.write(tmp_path), settings, pipeline.Hooks(on_voices=signatures.update), resources)
        finished_job(store, result, key=name, voices=signatures)
        truths[name] = identities(item.turns, result)
        if name == "ami-dev00":
            assert len(signatures) == 2
            for speaker, who in truths[name].items():
                store.remember_voice(who, name, speaker)
        else:
            store.apply_voices(name)
    named = {s.id: s.name for s in store.result("ami-dev01").speakers if s.voice}
    assert named and all(truths["ami-dev01"][sid] == who for sid, who in named.items())
    assert not [s for s in store.result("ami-trn05").speakers if s.voice]


def test_the_window_remembers_a_voice_shows_it_apart_lets_it_be_rejected_and_forgets_it(qtbot, tmp_path, window_over):
    from tests import media

    store = Store(tmp_path / "history.db")
    wav = media.write_wav(tmp_path / "consulta.wav", np.zeros(16000))
    finished(store, "k", {"SPEAKER_00": voice(1, 2, 3), "SPEAKER_01": voice(3, 2, 1)}, path=str(wav))
    win = window_over(store)
    panel = win.panel
    qtbot.waitUntil(lambda: panel.speakers.rowCount() == 2, timeout=10_000)
    panel.rememberRequested.emit("SPEAKER_00", "Ana")  # what "Remember this voice…" sends
    qtbot.waitUntil(lambda: panel.speakers.item(0, 0).text() == "Ana - known voice, 1.00", timeout=10_000)
    assert panel.known_voice_names == ["Ana"]
    panel.rejectVoiceRequested.emit("SPEAKER_00")  # "This is not Ana"
    qtbot.waitUntil(lambda: panel.speakers.item(0, 0).text() == "Speaker 1", timeout=10_000)
    win.open_voices()
    dialog = win.voices_dialog
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 1, timeout=10_000)
    assert dialog.tree.topLevelItem(0).child(0).text(1).endswith("consulta.wav")  # where the sample came from
    dialog.tree.setCurrentItem(dialog.tree.topLevelItem(0))
    dialog.forget(confirm=False)
    qtbot.waitUntil(lambda: dialog.tree.topLevelItemCount() == 0, timeout=10_000)
    assert store.known_voices() == []
    dialog.close()


def test_a_sample_removed_and_voices_applied_to_every_past_transcript(tmp_path):
    store = Store(tmp_path / "history.db")
    ana, other = voice(1, 0.2, 0.1), voice(0.1, 1, 0.2)
    finished(store, "first", {"SPEAKER_00": ana, "SPEAKER_01": other})
    finished(store, "second", {"SPEAKER_00": voice(1, 0.21, 0.1)})
    finished(store, "third", {"SPEAKER_00": voice(1, 0.19, 0.12)})
    store.remember_voice("Ana", "first", "SPEAKER_00")
    store.remember_voice("Ana", "first", "SPEAKER_01")  # a wrong sample, added by mistake
    assert len(store.voice_list()[0]["samples"]) == 2
    store.remove_sample(store.voice_list()[0]["samples"][1]["id"])
    assert len(store.voice_list()[0]["samples"]) == 1 and len(store.known_voices()[0][2]) == 1
    # (the bytes stay in the file as the first transcript's own signature for its SPEAKER_01)
    assert store.apply_voices_everywhere() == 3  # past transcripts, from their stored signatures
    assert [s.name for s in store.result("third").speakers] == ["Ana", "Speaker 2"]
