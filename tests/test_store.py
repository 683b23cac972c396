"""The SQLite store: schema and migrations, damage and locks, names, checkpoints."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.core.store import Store, StoreError
from app.core.store import schema as migrate
from app.core.document.transcript import Transcript
from tests import builders

ROOT = Path(__file__).resolve().parent.parent


def transcript(n_segments: int = 2) -> Transcript:
    lines = (builders.line(i * 2.0, i * 2.0 + 1.5, f"SPEAKER_0{i % 2}", f"frase número {i}") for i in range(n_segments))
    return builders.transcript(*lines, device="cpu (int8)")


def schema(db: sqlite3.Connection) -> dict:
    """Tables with their columns (name, type, not null, default, key), and index names."""
    names = db.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    return {
        (kind, name): [tuple(row)[1:] for row in db.execute(f"PRAGMA table_info({name})")] if kind == "table" else None
        for kind, name in names
    }


def test_schema_file_and_migrations_give_the_same_database(tmp_path):
    fresh = sqlite3.connect(tmp_path / "fresh.db", isolation_level=None)
    stepped = sqlite3.connect(tmp_path / "stepped.db", isolation_level=None)
    migrate.migrate(fresh)
    for number, _ in migrate.migrations():
        migrate.migrate(stepped, target=number)
    assert schema(fresh) == schema(stepped)
    version = migrate.latest_version()
    assert fresh.execute("PRAGMA user_version").fetchone()[0] == stepped.execute("PRAGMA user_version").fetchone()[0] == version


def test_an_old_database_is_upgraded_and_keeps_its_jobs(tmp_path):
    path = tmp_path / "history.db"
    old = sqlite3.connect(path, isolation_level=None)
    migrate.migrate(old, target=1)
    old.execute("INSERT INTO jobs (path, settings, status, created_at) VALUES ('/x.wav', '{}', 'failed', 1.0)")
    old.close()
    store = Store(path)
    assert [j.path for j in store.jobs()] == ["/x.wav"]
    store.rename_speaker("k", "SPEAKER_00", "Doctora")  # a table from migration 2
    assert store.speaker_names("k") == {"SPEAKER_00": "Doctora"}


def test_wal_mode(tmp_path):
    store = Store(tmp_path / "h.db")
    assert store._run("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_damaged_file_is_a_clear_error_and_left_untouched(tmp_path):
    path = tmp_path / "history.db"
    garbage = b"this is not a database, it is a shopping list\n" * 100
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="damaged.*left untouched"):
        Store(path)
    assert path.read_bytes() == garbage


def test_a_database_from_a_newer_app_is_refused(tmp_path):
    path = tmp_path / "history.db"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer Diarization Studio"):
        Store(path)


def test_a_locked_database_says_so(tmp_path):
    path = tmp_path / "history.db"
    Store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="in use by another"):
            store = Store(path, busy_timeout=0.2)
            store.add_job("/a.wav", "", "k", {})
    finally:
        holder.execute("ROLLBACK")


def test_jobs_statuses_and_order(tmp_path):
    store = Store(tmp_path / "h.db")
    ids = [store.add_job(f"/{i}.wav", "", f"k{i}", {"model": "base"}).id for i in range(3)]
    assert [j.id for j in store.jobs(("pending",))] == ids
    store.update(ids[1], status="in_progress", worker_pid=999999999)
    with pytest.raises(ValueError):
        store.update(ids[0], status="exploded")
    assert store.mark_interrupted() == [ids[1]]
    assert store.job(ids[1]).status == "interrupted"


def test_completing_stores_the_result_and_drops_checkpoints(tmp_path):
    store = Store(tmp_path / "h.db")
    job = store.add_job("/a.wav", "ab", "key", {})
    store.save_checkpoint("key", {"index": 0, "start": 0.0, "end": 30.0}, [{"text": "hola"}])
    assert store.checkpoints("key") == {0: [{"index": 0, "start": 0.0, "end": 30.0}, [{"text": "hola"}]]}
    store.save_diarization("key", {"turns": [[0.0, 1.0, "SPEAKER_00"]], "speech": [[0.0, 1.0]]})
    store.complete(job.id, "key", transcript(), duration=4.0)
    assert store.checkpoints("key") == {} and store.diarization("key") is None
    assert store.job(job.id).status == "completed"
    assert store.result("key") == transcript()


def test_speaker_names_apply_to_the_stored_result(tmp_path):
    store = Store(tmp_path / "h.db")
    builders.finished_job(store, transcript(), key="key")
    store.rename_speaker("key", "SPEAKER_01", "  Paciente ")
    assert store.result("key").speaker_names()["SPEAKER_01"] == "Paciente"
    store.rename_speaker("key", "SPEAKER_01", "")
    assert store.result("key").speaker_names()["SPEAKER_01"] == "Speaker 2"


def test_removing_a_job_keeps_a_result_another_job_shares(tmp_path):
    store = Store(tmp_path / "h.db")
    first = builders.finished_job(store, transcript(), key="key")
    second = store.add_job("/copy of a.wav", "ab", "key", {}, status="completed")
    store.remove(first.id)
    assert store.result("key") is not None
    store.remove(second.id)
    assert store.result("key") is None
    assert store.integrity_check() == "ok"


def test_a_thousand_segment_result_opens_fast(tmp_path):
    store = Store(tmp_path / "h.db")
    builders.finished_job(store, transcript(1000), key="key")
    started = time.perf_counter()
    loaded = store.result("key")
    elapsed = time.perf_counter() - started
    assert len(loaded.segments) == 1000
    print(f"opened a 1000-segment result in {elapsed * 1000:.1f} ms")  # the benchmark reports it properly
    assert json.loads(json.dumps(loaded.to_dict()))["segments"][999]["text"] == "frase número 999"


def test_what_a_transcript_shows_has_a_revision_another_process_can_read(tmp_path):
    from dataclasses import replace

    store = Store(tmp_path / "h.db")
    other = Store(tmp_path / "h.db")  # the HTTP API's process, say
    job = store.add_job("/a.wav", "ab", "key", {})
    assert other.shown_revision("key") == 0
    store.complete(job.id, "key", transcript())
    seen = [other.shown_revision("key")]
    store.rename_speaker("key", "SPEAKER_00", "Ana")
    seen.append(other.shown_revision("key"))
    edited = store.result("key")
    store.save_edit("key", replace(edited, segments=edited.segments[:1]))
    seen.append(other.shown_revision("key"))
    store.revert_edits("key")
    seen.append(other.shown_revision("key"))
    assert seen == sorted(set(seen)) and seen[0] > 0, seen  # each change a new number
    store.remove(job.id)
    assert other.shown_revision("key") == 0


OPEN_AT_ONCE = """
import sys, time
sys.path.insert(0, {root!r})
from app.core.store import Store
start = {start!r}
while time.time() < start:
    pass
Store(__import__("pathlib").Path({path!r}))
"""


def test_processes_opening_a_new_history_at_the_same_moment_all_succeed(tmp_path):
    # Both used to read "no tables yet" and create them: the second was told the history
    # was damaged and to move it aside.
    for attempt in range(3):
        path = tmp_path / f"h{attempt}.db"
        code = OPEN_AT_ONCE.format(root=str(ROOT), start=time.time() + 1.5, path=str(path))
        procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)]
        errors = [p.communicate(timeout=60)[1] for p in procs]
        assert all(p.returncode == 0 for p in procs), errors
        assert Store(path).integrity_check() == "ok"
