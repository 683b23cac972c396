"""The only door into the core: front ends (the window, the command line, the HTTP API,
the self-test) open an engine for their role and reach jobs, results, exports and the
engine's parts (`voices`, `edits`, `excerpts`, `search`, `roles`, `notes`, `models`,
`watching`) through it; the history is its business alone.

Exactly one job runs at a time, in order; nothing is ever lost, and no job is ever given
another's result (`supervisor.Supervisor` owns the queue and runs the jobs).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from app.core.audio_in import decode as audio
from app.core.common import devices
from app.core.jobs import spec as jobs
from app.core.audio_in import media
from app.core.engine_edits import Edits
from app.core.engine_parts import fingerprint as _fingerprint, gone as _gone, open_history
from app.core.engine_excerpts import Excerpts
from app.core.engine_models import Models
from app.core.engine_notes import NotesPart
from app.core.engine_roles import Roles, settings_or_none
from app.core.engine_search import Search
from app.core.engine_voices import Voices
from app.core.engine_watch import Watching
from app.core.common.errors import Cancelled, UserError
from app.core.settings import Settings
from app.core.jobs.status import EventKind, JobStatus
from app.core.store import Job, Store
from app.core.jobs.supervisor import WATCH_INTERVAL_SEC, Supervisor
from app.core.document.transcript import Transcript
from app.core.jobs.local_worker import Worker, worker_factory

log = logging.getLogger("app")


@dataclass(frozen=True)
class Event:
    kind: EventKind
    job: Job
    extra: dict = field(default_factory=dict)


def new_api_id() -> str:
    """128 random bits: an API client's job id, which alone lets it read or cancel that job."""
    return secrets.token_hex(16)


def _thread(fn: Callable[[], None]) -> None:
    threading.Thread(target=fn, daemon=True, name="job-supervisor").start()


class Engine:
    """`worker_factory()` gives a new `worker.Worker`; tests give a scripted one.
    `only_own`: as owner, run only the jobs this engine added or resumed (the command
    line), leaving the others to the app that added them. `runs_jobs=False`: this engine
    never takes the queue; it adds, reads and cancels, and the owner runs (the HTTP API
    served beside the window, in a process of its own). `settings_now()`: the settings in
    force now (the window's, as Preferences left them; by default those saved in the
    history's folder and the environment, read again each time): consent to send excerpts
    to an LLM, and whether exports name the recording's folder, are read from it when
    used, never from a job. Open one with the `for_...` constructor of your role."""

    def __init__(self, store: Store, spawn: Callable[[Callable[[], None]], None] = _thread,
                 worker_factory: Callable[[], Worker] | None = None, only_own: bool = False,
                 watch_interval: float = WATCH_INTERVAL_SEC, runs_jobs: bool = True,
                 settings_now: Callable[[], Settings] | None = None):
        from app.core.jobs.local_worker import LocalWorker

        self._store = store
        self._settings_now = settings_now or (lambda: _saved_settings(store.path.parent))
        self._spawn = spawn
        self._listeners: list[Callable[[Event], None]] = []
        self._seen: dict[int, tuple | None] = {}
        self._jobs = Supervisor(store, self._emit, self._announce, spawn, worker_factory or LocalWorker,
                                lambda job_id: self.roles.after_result(job_id), only_own, runs_jobs, watch_interval,
                                lambda job: self.models.ready(job, self._jobs.kick))
        self.voices = Voices(store, self._emit)
        self.edits = Edits(store, self._emit)
        self.excerpts = Excerpts(store, self._emit, self.result)  # a speaker's audio
        self.search = Search(store, self._emit)
        self.roles = Roles(store, self._emit, self.result, self._settings_now, spawn)
        self.watching = Watching(store, self._emit, self.add, self.render)
        self.notes = NotesPart(store, self._emit, self.result, self._settings_now)
        self.models = Models(store, self._emit, self._settings_now)

    # opening, one way per role

    @classmethod
    def for_window(cls, settings: Settings, spawn, settings_now) -> tuple["Engine", str]:
        """The window's: jobs run where `settings_now()` says when each starts. With the
        reason the history could not be used ("" when it could)."""
        store, problem = open_history(settings)
        return cls(store, spawn=spawn, worker_factory=worker_factory(settings_now), settings_now=settings_now), problem

    @classmethod
    def for_command_line(cls, settings: Settings) -> tuple["Engine", str]:
        """`transcribe`: runs only the jobs it adds (others are the window's)."""
        store, problem = open_history(settings)
        return cls(store, only_own=True, worker_factory=worker_factory(lambda: settings)), problem

    @classmethod
    def for_reading(cls, settings: Settings) -> "Engine":
        """`jobs`, `show`, `voices`, `search`: a damaged history is reported (UserError),
        not replaced; never started, so reading never takes the queue."""
        return cls(Store(settings.history_file))

    @classmethod
    def for_service(cls, settings: Settings) -> tuple["Engine", str]:
        """`serve` and `watch`, which run until stopped: as the queue's owner, every job
        (a window opened meanwhile hands its jobs here); beside an open window, it runs them."""
        store, problem = open_history(settings)
        return cls(store, worker_factory=worker_factory(lambda: settings), settings_now=lambda: settings), problem

    @classmethod
    def for_api_process(cls, history: Path, settings_now: Callable[[], Settings]) -> "Engine":
        """The HTTP API beside the window, in a process of its own: the window's engine
        runs the jobs it adds."""
        return cls(Store(Path(history)), runs_jobs=False, settings_now=settings_now)

    @classmethod
    def for_selftest(cls, data_dir: Path) -> "Engine":
        """A throwaway history in `data_dir`, jobs on this computer."""
        return cls(Store(Path(data_dir) / "history.db"))

    # reading

    @property
    def owner(self) -> bool:
        """Whether this process runs the history's queue (else another one does)."""
        return self._jobs.owner

    @property
    def history_path(self) -> Path:
        """The history's file (another process opens its own engine on it)."""
        return self._store.path

    @property
    def ignored_messages(self) -> int:
        """Worker messages naming another job than the one it was given (never stored)."""
        return self._jobs.ignored_messages

    def jobs(self) -> list[Job]:
        return self._store.jobs()

    def job(self, job_id: int) -> Job | None:
        return self._store.job(job_id)

    def job_for_api(self, api_id: str) -> Job | None:
        """The job an HTTP API client was given `api_id` for."""
        return self._store.job_by_api_id(api_id)

    def with_api_id(self, job: Job) -> Job:
        """The job with an id for API clients, made now if it has none (a job added in the
        window, listed to them only when the user allows it)."""
        return job if job.api_id else (self._store.give_api_id(job.id, new_api_id()) or job)

    def result(self, job_id: int) -> Transcript | None:
        """The job's transcript, naming the file this job was given (a stored result may
        have come from another file with the same content)."""
        job = self._store.job(job_id)
        found = self._store.result(job.cache_key) if job and job.status == JobStatus.COMPLETED else None
        if found is None or found.source.path == job.shown_path:
            return found
        return replace(found, source=replace(found.source, path=job.shown_path))

    def render(self, job_id: int, fmt: str, with_folder: bool | None = None, stamps: str = "turn",
               printer=None, with_notes: bool = False) -> str | bytes | None:
        """The job's transcript in `fmt` (exports.ALL; bytes for docx and pdf), None when it
        has none. Names the recording's folder only when `with_folder`, by default as the
        settings say. A PDF is printed from the HTML by `printer(html) -> bytes`, which the
        front end brings (the core never imports Qt). `with_notes`: the notes kept, if any,
        in a document or the JSON."""
        from app.core.document.exports import render

        transcript = self.result(job_id)
        if transcript is None:
            return None
        if with_folder is None:
            now = settings_or_none(self._settings_now)
            with_folder = now is not None and not now.exports_without_folder
        job = self._store.job(job_id)
        made = (job.finished_at or job.created_at) if job else None
        notes = self.notes.data(job_id) if with_notes else None
        return render(fmt, transcript, with_folder=with_folder, stamps=stamps, made=made, printer=printer, notes=notes)

    def export(self, job_id: int, fmt: str, path: Path, stamps: str = "turn", printer=None,
               with_notes: bool = False) -> None:
        """The job's transcript written to `path` in `fmt`, whole or not at all; UserError
        saying why nothing was written."""
        from app.core.common.files import write_atomic

        job = self._store.job(job_id)
        if job is not None and os.path.realpath(path) == os.path.realpath(job.path):
            raise UserError(f"Nothing was exported: {Path(path).name} is the recording itself. Choose another name.")
        text = self.render(job_id, fmt, stamps=stamps, printer=printer, with_notes=with_notes)
        if text is None:
            raise UserError("Nothing was exported: select a finished job first." if job is None else
                            f"Nothing was exported: the transcript of {job.name} could not be read from the history.")
        try:
            write_atomic(Path(path), text)
        except OSError as exc:
            raise UserError(f"Could not write {path}: {exc.strerror or exc}. Choose another folder.") from None

    def shown_revision(self, job: Job) -> int:
        """A number that changes whenever the job's transcript as shown changes, in any
        process on the history (0: none)."""
        return self._store.shown_revision(job.cache_key)

    @staticmethod
    def check_recording(path: Path, max_seconds: float) -> None:
        """UserError unless `path` holds audio the pipeline can read, not too long (the
        header only: an upload that is not audio is refused before it is queued)."""
        audio.probe(path, max_seconds)

    @staticmethod
    def probe_queue(url: str) -> str:
        """Whether the Redis queue at `url` answers, and how many workers serve it, in words."""
        from app.core.jobs import redis_queue as queue

        try:
            return queue.probe(url)
        except UserError as exc:
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - any failure is a message here
            return f"Could not connect ({type(exc).__name__})."

    # events

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, kind: EventKind, job: Job, **extra) -> None:
        with self._jobs.lock:
            self._seen[job.id] = _fingerprint(job) if kind != EventKind.REMOVED else None
        for listener in list(self._listeners):
            listener(Event(kind, job, extra))
        with self._jobs.changed:
            self._jobs.changed.notify_all()

    def _announce(self, current: dict[int, Job]) -> None:
        """Changes other processes made to the history, as events."""
        with self._jobs.lock:
            seen = dict(self._seen)
        for job_id, job in current.items():
            if job_id not in seen:
                self._emit(EventKind.ADDED, job)
            elif seen[job_id] != _fingerprint(job):
                kind = EventKind.PROGRESS if seen[job_id] and seen[job_id][0] == job.status else EventKind.STATUS
                self._emit(kind, job)
        for job_id in seen.keys() - current.keys():
            if seen[job_id] is not None:
                self._emit(EventKind.REMOVED, _gone(job_id))

    # commands

    def start(self) -> list[Job]:
        """Takes the queue if no other process holds it (jobs a dead owner left in progress
        are resumed from their checkpoints); watches the store for other processes' jobs."""
        return self._jobs.start(lambda: self._seen.update({j.id: _fingerprint(j) for j in self._store.jobs()}))

    def add_paths(self, paths, settings: Settings, no_cache: bool = False) -> tuple[list[Job], list[Path]]:
        """Files and folders (the recordings inside, sorted): (jobs added, paths refused)."""
        accepted, refused = media.collect(paths)
        added = []
        for path in accepted:
            try:
                added.append(self.add(path, settings, no_cache))
            except Cancelled:  # the app is closing: the rest of the drop is not added
                break
        return added, refused

    def add(self, path, settings: Settings, no_cache: bool = False, session_id: str | None = None,
            sha256: str | None = None) -> Job:
        """A job for one file (hashed here unless the caller just did: `sha256`; the window
        calls this off its own thread). `session_id`: sent by an HTTP API client ("" when it
        sent none): the job is that session's, with a random id of its own for the client.
        Raises Cancelled when the engine closes meanwhile."""
        if self._jobs.closed:
            raise Cancelled()
        self.start()
        store = self._store
        path = Path(path).absolute()
        settings_data = jobs.settings_to_dict(settings)
        client = {} if session_id is None else {"session_id": session_id, "api_id": new_api_id(), "from_api": True}
        try:
            audio.check_readable(path)
            sha256 = sha256 or audio.file_sha256(path, cancel=lambda: self._jobs.closed)
            label = devices.plan(settings.device, settings.compute_type).label
        except (UserError, OSError) as exc:
            job = store.add_job(str(path), "", "", settings_data, status=JobStatus.FAILED, **client)
            job = store.update(job.id, error=str(exc) if isinstance(exc, UserError) else f"{path}: {exc}")
            self._emit(EventKind.ADDED, job)
            return job
        key = jobs.cache_key(sha256, settings, label)
        with self._jobs.lock:
            if no_cache:
                # a fresh start once, at adding: a resumed run keeps what it had done
                store.clear_checkpoints(key)
            else:
                if store.has_result(key):
                    done = store.jobs_with_key(key, (JobStatus.COMPLETED,))
                    duration = done[-1].duration if done else None
                    job = store.add_job(str(path), sha256, key, settings_data, JobStatus.COMPLETED,
                                        duration=duration, **client)
                    self._emit(EventKind.ADDED, job, cached=True)
                    return job
                # another's job is not handed to an API client: its id would let it cancel that job
                waiting = [j for j in store.jobs_with_key(key, (JobStatus.PENDING, JobStatus.IN_PROGRESS))
                           if session_id is None or (session_id and j.from_api and j.session_id == session_id)]
                if waiting:
                    return waiting[0]
            job = store.add_job(str(path), sha256, key, settings_data, no_cache=no_cache, **client)
            self._jobs.adopt(job.id)
            self._emit(EventKind.ADDED, job)
        self._jobs.kick()
        return job

    def cancel(self, job_id: int) -> None:
        self._jobs.cancel(job_id)

    def retry(self, job_id: int) -> Job | None:
        job = self._store.job(job_id)
        if job is None or not job.status.can_retry:
            return job
        if not job.cache_key:  # it failed before it could be read: look at the file again
            self._store.remove(job_id)
            self._emit(EventKind.REMOVED, job)
            return self.add(job.path, jobs.settings_from_dict(job.settings), job.no_cache)
        job = self._jobs.requeue(job)
        self._jobs.kick()
        return job

    def remove(self, job_id: int) -> None:
        """Cancels the job if it runs and forgets it. May wait for its worker to stop: the
        window calls it off its own thread."""
        self.cancel(job_id)
        job = self.wait(job_id, statuses=tuple(s for s in JobStatus if s.settled), timeout=30)
        if job and job.status.settled:
            self._store.remove(job_id)
            self._emit(EventKind.REMOVED, job)

    def rename_speaker(self, job_id: int, speaker_id: str, name: str) -> None:
        job = self._store.job(job_id)
        if job:
            self._store.rename_speaker(job.cache_key, speaker_id, name)
            self._emit(EventKind.STATUS, job, renamed=speaker_id)

    def wait(self, job_id: int, statuses=tuple(s for s in JobStatus if s.finished), timeout: float | None = None) -> Job:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._jobs.changed:
            while True:
                job = self._store.job(job_id)
                if job is None or job.status in statuses:
                    return job
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return job
                self._jobs.changed.wait(timeout=0.5 if left is None else min(left, 0.5))

    def close(self) -> None:
        """Stops the worker and gives the queue up; a job still running is left in
        progress, to resume wherever the queue is next owned."""
        self._jobs.close()


def serve_worker(url: str, name: str | None = None, burst: bool = False, password: str | None = None) -> None:
    """`python -m app worker`: this machine serves the Redis queue at `url` (a NAS)."""
    from app.core.jobs.redis_worker import serve

    serve(url, name, burst=burst, password=password)


def read_queue_password(path) -> str:
    """The queue's password from a file (its first line)."""
    from app.core.jobs.redis_queue import read_password

    return read_password(path)


def _saved_settings(data_dir: Path) -> Settings:
    """The preferences saved in the history's folder and the environment, as they are now."""
    from app.core.settings import load

    return load(data_dir=data_dir)
