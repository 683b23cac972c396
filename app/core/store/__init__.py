"""The on-disk store: one SQLite file (WAL) holding jobs, results, checkpoints and names.

Every method is one transaction; a change is on disk when the method returns.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

from app.core.common.errors import UserError
from app.core.jobs.status import FINISHED, JobStatus
from app.core.document.text import one_line, shown
from app.core.document.transcript import Transcript, compact
from app.core.store.schema import migrate
from app.core.store.checkpoints import CheckpointStore
from app.core.store.search import SearchStore
from app.core.store.known_voices import VoiceStore
from app.core.store.kept_notes import NotesStore
from app.core.store.watched import WatchStore

STATUSES = tuple(JobStatus)
BUSY_TIMEOUT_SEC = 5.0


class StoreError(UserError):
    """The history file cannot be used; stored results are left untouched."""


@dataclass(frozen=True)
class Job:
    id: int
    path: str
    sha256: str
    cache_key: str
    settings: dict
    status: JobStatus
    progress: float
    stage: str
    error: str
    duration: float | None
    no_cache: bool
    chunks_total: int
    chunks_resumed: int
    chunks_computed: int
    worker_pid: int | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    note: str = ""
    session_id: str = ""  # an HTTP API client's X-Session-ID (app/api.py)
    cancel_requested: bool = False  # by another process on the history (Engine.cancel)
    api_id: str | None = None  # the random id an HTTP API client was given for it (app/api.py)
    from_api: bool = False  # added through the HTTP API (else in the window or on the command line)

    @property
    def name(self) -> str:
        """The file's name as it can be shown (stray bytes as U+FFFD)."""
        return shown(Path(self.path).name)

    @property
    def shown_path(self) -> str:
        return shown(self.path)


_COLUMNS = [f.name for f in fields(Job)]
_SELECT = ", ".join(_COLUMNS + ["path_bytes"])


class Store(VoiceStore, SearchStore, CheckpointStore, WatchStore, NotesStore):
    def __init__(self, path: Path, busy_timeout: float = BUSY_TIMEOUT_SEC):
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            _private(self.path)
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None)
            self._wal(busy_timeout)
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA secure_delete=ON")  # what is deleted (a voice) is overwritten
            migrate(self._db)
        except sqlite3.DatabaseError as exc:
            raise self._explain(exc) from exc
        except OSError as exc:
            raise StoreError(f"The job history at {self.path} cannot be opened ({exc.strerror or exc}): check that "
                             "your user may write in that folder.") from exc

    def _wal(self, busy_timeout: float) -> None:
        """WAL mode; switching a new file to it needs the file to itself, and SQLite answers
        "locked" at once, without waiting, when another process opens it at that moment."""
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _explain(self, exc: sqlite3.Error) -> StoreError:
        """Each cause in its own words: only a damaged file is called damaged."""
        text = str(exc)
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in text or "busy" in text:
            return StoreError(
                f"The job history at {self.path} is in use by another Diarization Studio process. "
                "Close the other one, or wait for it to finish, and try again."
            )
        if primary == sqlite3.SQLITE_FULL or "disk is full" in text:
            return StoreError(f"The disk holding the job history ({self.path.parent}) is full. "
                              "Free some space and try again; nothing stored was lost.")
        if primary == sqlite3.SQLITE_READONLY or "readonly" in text:
            return StoreError(f"The job history at {self.path} cannot be written (the file or its folder is "
                              "read-only). Give your user write access to that folder, or choose another data folder.")
        if primary == sqlite3.SQLITE_CANTOPEN or "unable to open" in text:
            return StoreError(f"The job history at {self.path} cannot be opened: check that its folder exists and "
                              "your user may write there.")
        if primary == sqlite3.SQLITE_IOERR or "disk I/O error" in text:
            return StoreError(f"The disk holding the job history ({self.path}) reported a read or write error. "
                              "Check the disk (or reconnect it) and try again.")
        return StoreError(
            f"The job history at {self.path} is damaged ({text}). It has been left untouched: "
            "move the file aside to start a new history, or restore it from a backup."
        )

    def _run(self, sql: str, args=()) -> sqlite3.Cursor:
        args = tuple(shown(a) if isinstance(a, str) else a for a in args)  # an error naming an odd path
        with self._lock:
            try:
                return self._db.execute(sql, args)
            except sqlite3.DatabaseError as exc:
                raise self._explain(exc) from exc

    def _transaction(self, steps) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, args in steps:
                        self._db.execute(sql, tuple(shown(a) if isinstance(a, str) else a for a in args))
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise self._explain(exc) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # jobs

    def add_job(self, path: str, sha256: str, cache_key: str, settings: dict, status: str = "pending",
                no_cache: bool = False, duration: float | None = None, session_id: str = "",
                api_id: str | None = None, from_api: bool = False) -> Job:
        now = time.time()
        finished = now if status in FINISHED else None
        raw = os.fsencode(path)
        text = shown(path)
        cursor = self._run(
            "INSERT INTO jobs (path, path_bytes, sha256, cache_key, settings, status, no_cache, duration, created_at,"
            " finished_at, progress, session_id, api_id, from_api) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (text, None if text == path else raw, sha256, cache_key, json.dumps(settings, ensure_ascii=True), status,
             int(no_cache), duration, now, finished, 1.0 if status == "completed" else 0.0, session_id, api_id,
             int(from_api)),
        )
        return self.job(cursor.lastrowid)

    def job(self, job_id: int) -> Job | None:
        row = self._run(f"SELECT {_SELECT} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def job_by_api_id(self, api_id: str) -> Job | None:
        row = self._run(f"SELECT {_SELECT} FROM jobs WHERE api_id = ?", (api_id,)).fetchone()
        return _job(row) if row else None

    def give_api_id(self, job_id: int, api_id: str) -> Job | None:
        """The job with `api_id`, unless it had one already (kept: ids once given stay valid)."""
        self._run("UPDATE jobs SET api_id = ? WHERE id = ? AND api_id IS NULL", (api_id, job_id))
        return self.job(job_id)

    def jobs(self, statuses: tuple[str, ...] = STATUSES) -> list[Job]:
        marks = ", ".join("?" * len(statuses))
        rows = self._run(f"SELECT {_SELECT} FROM jobs WHERE status IN ({marks}) ORDER BY id", statuses)
        return [_job(r) for r in rows.fetchall()]

    def jobs_with_key(self, cache_key: str, statuses: tuple[str, ...] = STATUSES) -> list[Job]:
        marks = ", ".join("?" * len(statuses))
        rows = self._run(
            f"SELECT {_SELECT} FROM jobs WHERE cache_key = ? AND status IN ({marks}) ORDER BY id",
            (cache_key, *statuses),
        )
        return [_job(r) for r in rows.fetchall()]

    def update(self, job_id: int, **changes) -> Job:
        unknown = set(changes) - set(_COLUMNS)
        if unknown:
            raise ValueError(f"unknown job fields {unknown}")
        if "status" in changes and changes["status"] not in STATUSES:
            raise ValueError(f"unknown status {changes['status']}")
        sets = ", ".join(f"{name} = ?" for name in changes)
        values = [json.dumps(v) if name == "settings" else v for name, v in changes.items()]
        self._run(f"UPDATE jobs SET {sets} WHERE id = ?", (*values, job_id))
        return self.job(job_id)

    def claim(self, job_id: int) -> Job | None:
        """Pending to in progress, atomically: None when another process (or a cancel) got
        there first."""
        cursor = self._run(
            "UPDATE jobs SET status = 'in_progress', started_at = ?, progress = 0, stage = '' "
            "WHERE id = ? AND status = 'pending'", (time.time(), job_id))
        return self.job(job_id) if cursor.rowcount == 1 else None

    def cancel_waiting(self, job_id: int) -> Job | None:
        """A job nobody runs (pending or interrupted) becomes cancelled, atomically; None
        when it is running (or finished) by then."""
        cursor = self._run(
            "UPDATE jobs SET status = 'cancelled', finished_at = ? WHERE id = ? AND status IN ('pending', 'interrupted')",
            (time.time(), job_id))
        return self.job(job_id) if cursor.rowcount == 1 else None

    def mark_interrupted(self) -> list[int]:
        """Jobs left in progress become interrupted. Only the queue's owner calls this, just
        after taking the owner's lock: whoever ran them has died."""
        with self._lock:
            ids = [j.id for j in self.jobs((JobStatus.IN_PROGRESS,))]
            self._run("UPDATE jobs SET status = 'interrupted', worker_pid = NULL WHERE status = 'in_progress'")
        return ids

    def remove(self, job_id: int) -> None:
        """The job, and its transcript with everything kept for it when no other job shares
        it, gone from the file: secure_delete overwrites the rows, the search index is
        purged of its words and the write-ahead log emptied. A known voice remembered from
        it stays (its sample names the recording it came from) until forgotten."""
        job = self.job(job_id)
        if job is None:
            return
        steps = [("DELETE FROM jobs WHERE id = ?", (job_id,))]
        last = not [j for j in self.jobs_with_key(job.cache_key) if j.id != job_id]
        if last:
            steps += [(f"DELETE FROM {table} WHERE cache_key = ?", (job.cache_key,))
                      for table in ("results", "checkpoints", "diarization_checkpoints", "job_parts", "speaker_names",
                                    "speaker_suggestions", "speaker_voices", "voice_matches", "edited_results", "speaker_windows", "notes")]
            steps += self._index_steps(job.cache_key, None)
        self._transaction(steps)
        if last:
            self._purge_index()
        self._empty_log()

    # results and checkpoints

    def has_result(self, cache_key: str) -> bool:
        return self._run("SELECT 1 FROM results WHERE cache_key = ?", (cache_key,)).fetchone() is not None

    def result(self, cache_key: str) -> Transcript | None:
        """The transcript as shown: the user's corrections if any, names applied."""
        transcript = self._edited(cache_key) or self.machine_result(cache_key)
        if transcript is None:
            return None
        return self._named(cache_key, transcript)

    def _named(self, cache_key: str, transcript: Transcript) -> Transcript:
        matches = self.voice_matches(cache_key)
        if matches:  # a known voice names its speaker, unless the user typed a name
            transcript = transcript.with_voices(matches)
        names = self.speaker_names(cache_key)
        return transcript.with_names(names) if names else transcript

    def _edited(self, cache_key: str) -> Transcript | None:
        row = self._run("SELECT transcript FROM edited_results WHERE cache_key = ?", (cache_key,)).fetchone()
        return Transcript.from_dict(json.loads(row[0])) if row else None

    def machine_result(self, cache_key: str) -> Transcript | None:
        """The result as the pipeline made it (no corrections, no names)."""
        row = self._run("SELECT transcript FROM results WHERE cache_key = ?", (cache_key,)).fetchone()
        return Transcript.from_dict(json.loads(row[0])) if row else None

    def save_edit(self, cache_key: str, transcript: Transcript) -> None:
        """The corrected transcript, kept apart from the machine's. Names stay where they
        live (typed names, known voices): the speakers keep the machine's labels here."""
        machine = self.machine_result(cache_key)
        if machine is None:
            raise UserError("This transcript is no longer in the history.")
        labels = {s.id: s.name for s in machine.speakers}
        plain = replace(transcript, speakers=tuple(
            replace(s, name=labels.get(s.id, s.name if s.name.startswith("Speaker ") else f"Speaker {i + 1}"), voice=None)
            for i, s in enumerate(transcript.speakers)))
        data = json.dumps(compact(plain.to_dict()), ensure_ascii=False, separators=(",", ":"))
        self._transaction(
            [("INSERT OR REPLACE INTO edited_results (cache_key, transcript, updated_at) VALUES (?, ?, ?)",
              (cache_key, data, time.time()))]
            + self._index_steps(cache_key, self._named(cache_key, plain))
        )

    def revert_edits(self, cache_key: str) -> None:
        """Back to the machine's result."""
        self._run("DELETE FROM edited_results WHERE cache_key = ?", (cache_key,))
        self.reindex(cache_key)

    def speaker_windows(self, cache_key: str) -> bytes:
        """The diarizer's windows and embeddings stored with the result (recluster.py)."""
        row = self._run("SELECT data FROM speaker_windows WHERE cache_key = ?", (cache_key,)).fetchone()
        return bytes(row[0]) if row else b""

    def has_edits(self, cache_key: str) -> bool:
        return self._run("SELECT 1 FROM edited_results WHERE cache_key = ?", (cache_key,)).fetchone() is not None

    def complete(self, job_id: int, cache_key: str, transcript: Transcript, voices: dict[str, bytes] | None = None,
                 windows: bytes = b"", **job_changes) -> Job:
        """Stores the result (and its speakers' voice signatures) and marks the job
        completed, in one transaction."""
        changes = dict(job_changes, status="completed", progress=1.0, stage="done", error="", finished_at=time.time())
        sets = ", ".join(f"{name} = ?" for name in changes)
        self._transaction([
            ("INSERT OR REPLACE INTO results (cache_key, transcript, created_at) VALUES (?, ?, ?)",
             (cache_key, json.dumps(compact(transcript.to_dict()), ensure_ascii=False, separators=(",", ":")),
              time.time())),
            ("DELETE FROM checkpoints WHERE cache_key = ?", (cache_key,)),
            ("DELETE FROM diarization_checkpoints WHERE cache_key = ?", (cache_key,)),
            ("DELETE FROM job_parts WHERE cache_key = ?", (cache_key,)),
            *self._signature_steps(cache_key, voices or {}),
            ("DELETE FROM speaker_windows WHERE cache_key = ?", (cache_key,)),
            *([("INSERT INTO speaker_windows (cache_key, data) VALUES (?, ?)", (cache_key, bytes(windows)))]
              if windows else []),
            *self._index_steps(cache_key, self._named(cache_key, self._edited(cache_key) or transcript)),
            (f"UPDATE jobs SET {sets} WHERE id = ?", (*changes.values(), job_id)),
        ])
        return self.job(job_id)

    # speaker names chosen by the user

    def speaker_names(self, cache_key: str) -> dict[str, str]:
        rows = self._run("SELECT speaker_id, name FROM speaker_names WHERE cache_key = ?", (cache_key,))
        return dict(rows.fetchall())

    def rename_speaker(self, cache_key: str, speaker_id: str, name: str) -> None:
        name = one_line(name)
        if not name:
            self._run("DELETE FROM speaker_names WHERE cache_key = ? AND speaker_id = ?", (cache_key, speaker_id))
        else:
            self._run("INSERT OR REPLACE INTO speaker_names (cache_key, speaker_id, name) VALUES (?, ?, ?)",
                      (cache_key, speaker_id, name))
        self.reindex(cache_key)

    # roles suggested by the LLM, kept apart from the names people type

    def suggestions(self, cache_key: str) -> dict[str, str]:
        rows = self._run("SELECT speaker_id, role FROM speaker_suggestions WHERE cache_key = ?", (cache_key,))
        return dict(rows.fetchall())

    def save_suggestions(self, cache_key: str, roles: dict[str, str]) -> None:
        self._transaction(
            [("DELETE FROM speaker_suggestions WHERE cache_key = ?", (cache_key,))]
            + [("INSERT INTO speaker_suggestions (cache_key, speaker_id, role) VALUES (?, ?, ?)",
                (cache_key, k, one_line(v))) for k, v in roles.items() if one_line(v)]
        )

    def integrity_check(self) -> str:
        return self._run("PRAGMA integrity_check").fetchone()[0]


def _private(path: Path) -> None:
    """The history is its user's alone: its folder 0700, the file (and so the WAL and
    shared-memory files SQLite makes beside it, which take its mode) 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name != "posix":
        return
    try:
        os.chmod(path.parent, 0o700)
    except OSError:  # not ours to change (a shared folder the user chose): left as it is
        pass
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if name.exists() and name.stat().st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError:
            pass


def _job(row) -> Job:
    data = dict(zip(_COLUMNS, row))
    if row[len(_COLUMNS)] is not None:  # a path that is not valid UTF-8, kept as its bytes
        data["path"] = os.fsdecode(bytes(row[len(_COLUMNS)]))
    data["settings"] = json.loads(data["settings"])
    data["no_cache"] = bool(data["no_cache"])
    data["cancel_requested"] = bool(data["cancel_requested"])
    data["from_api"] = bool(data["from_api"])
    data["status"] = JobStatus(data["status"])
    return Job(**data)
