"""The job queue and the only door into the core: exactly one job runs at a time, in order;
nothing is ever lost, and no job is ever given another's result.

Each job runs in a worker process (`worker.py`) watched from a background thread: the
caller chooses how that thread is started (a plain thread for the CLI, Qt's QThreadPool
for the window). Every change is written to the store before it is announced.

One process owns a history's queue (`owner.QueueLock`): it alone starts and stops
workers. Another process on the same history (a second window, the command line while
the window is open) hands its jobs to the owner through the store and sees them run
there; when the owner quits or dies, it takes the lock over and resumes what was left.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from . import audio, devices, jobs, media
from .engine_edits import EditsDoor
from .engine_search import SearchDoor
from .engine_voices import VoicesDoor
from .errors import Cancelled, UserError
from .messages import ChunkDone, DiarizationDone, Failure, Part, Progress, Result, Stop
from .owner import QueueLock
from .settings import Settings
from .status import EventKind, JobStatus
from .store import Job, Store
from .transcript import Transcript

PROGRESS_INTERVAL_SEC = 0.25  # progress is written and announced at most this often
WATCH_INTERVAL_SEC = 1.0  # how often the store is read for other processes' changes
QUEUE_RETRY_SEC = 10.0  # a job waiting for an unreachable queue tries again this often
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


class QueueUnavailable(UserError):
    """The job queue cannot be reached and the user chose to wait for it."""


def worker_factory(settings_now: Callable[[], Settings]):
    """Where jobs run, by the settings in force when a worker is needed: this computer's
    worker process, or the Redis queue's workers (falling back to this computer, or
    waiting, when the queue is unreachable, as the user chose)."""

    def make():
        settings = settings_now()
        if settings.process_on != "workers":
            return _Worker()
        from .queue import RemoteWorker

        try:
            return RemoteWorker(settings.redis_url)
        except UserError as exc:
            if settings.queue_fallback == "local":
                log.warning("%s This job runs on this computer.", exc)
                return _Worker()
            raise QueueUnavailable(f"{exc} The job waits for the queue.") from None

    return make


class Engine(VoicesDoor, SearchDoor, EditsDoor):
    """`worker_factory()` gives a new worker (see `_Worker` for what one must do); tests
    give a scripted one. `only_own`: as owner, run only the jobs this engine added or
    resumed (the command line), leaving the others to the app that added them.
    `runs_jobs=False`: this engine never takes the queue; it adds, reads and cancels, and
    the owner runs (the HTTP API served beside the window, in a process of its own).
    `settings_now()`: the settings in force now (the window's, as Preferences left them;
    by default those saved in the history's folder and the environment, read again each
    time): consent to send excerpts to an LLM is read from it when they would be sent,
    never from a job."""

    def __init__(self, store: Store, spawn: Callable[[Callable[[], None]], None] = _thread,
                 worker_factory: Callable[[], "_Worker"] | None = None, only_own: bool = False,
                 watch_interval: float = WATCH_INTERVAL_SEC, runs_jobs: bool = True,
                 settings_now: Callable[[], Settings] | None = None):
        self.store = store
        self._settings_now = settings_now or (lambda: _saved_settings(self.store.path.parent))
        self._spawn = spawn
        self._new_worker = worker_factory or _Worker
        self._only_own = only_own
        self._runs_jobs = runs_jobs  # False: never the queue's owner (the window's HTTP API process)
        self._own: set[int] = set()
        self._queue_lock = QueueLock(store.path)
        self._listeners: list[Callable[[Event], None]] = []
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._active: int | None = None  # the job being supervised
        self._running: int | None = None  # the job the worker has been given
        self._cancel_requested: set[int] = set()
        self._worker = None
        self._closed = False
        self._started = False
        self._seen: dict[int, tuple] = {}
        self._watch_interval = watch_interval
        self._paused_until = 0.0  # the queue was unreachable: no new job before then
        self.ignored_messages = 0  # worker messages naming another job (never stored)

    # reading

    @property
    def owner(self) -> bool:
        """Whether this process runs the history's queue (else another one does)."""
        return self._queue_lock.held

    def jobs(self) -> list[Job]:
        return self.store.jobs()

    def job(self, job_id: int) -> Job | None:
        return self.store.job(job_id)

    def job_for_api(self, api_id: str) -> Job | None:
        """The job an HTTP API client was given `api_id` for."""
        return self.store.job_by_api_id(api_id)

    def with_api_id(self, job: Job) -> Job:
        """The job with an id for API clients, made now if it has none (a job added in the
        window, listed to them only when the user allows it)."""
        return job if job.api_id else (self.store.give_api_id(job.id, new_api_id()) or job)

    def result(self, job_id: int) -> Transcript | None:
        """The job's transcript, naming the file this job was given (a stored result may
        have come from another file with the same content)."""
        job = self.store.job(job_id)
        found = self.store.result(job.cache_key) if job and job.status == JobStatus.COMPLETED else None
        if found is None or found.source.path == job.shown_path:
            return found
        return replace(found, source=replace(found.source, path=job.shown_path))

    def shown_revision(self, job: Job) -> int:
        """A number that changes whenever the job's transcript as shown changes, in any
        process on the history (0: none)."""
        return self.store.shown_revision(job.cache_key)

    def suggestions(self, job_id: int) -> dict[str, str]:
        job = self.store.job(job_id)
        return self.store.suggestions(job.cache_key) if job else {}

    # events

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, kind: EventKind, job: Job, **extra) -> None:
        with self._lock:
            self._seen[job.id] = _fingerprint(job) if kind != EventKind.REMOVED else None
        for listener in list(self._listeners):
            listener(Event(kind, job, extra))
        with self._changed:
            self._changed.notify_all()

    # commands

    def start(self) -> list[Job]:
        """Takes the queue if no other process holds it (jobs a dead owner left in progress
        are resumed from their checkpoints); watches the store for other processes' jobs."""
        with self._lock:
            if self._started:
                return []
            self._started = True
            self._seen = {j.id: _fingerprint(j) for j in self.store.jobs()}
        resumed = self._take_queue()
        threading.Thread(target=self._watch, daemon=True, name="job-watch").start()
        self._kick()
        return resumed

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

    def add(self, path, settings: Settings, no_cache: bool = False, session_id: str | None = None) -> Job:
        """A job for one file (hashed here: the window calls this off its own thread).
        `session_id`: sent by an HTTP API client ("" when it sent none): the job is that
        session's, with a random id of its own for the client (`job_for_api`).
        Raises Cancelled when the engine closes meanwhile."""
        if self._closed:
            raise Cancelled()
        self.start()
        path = Path(path).absolute()
        settings_data = jobs.settings_to_dict(settings)
        client = {} if session_id is None else {"session_id": session_id, "api_id": new_api_id(), "from_api": True}
        try:
            audio.check_readable(path)
            sha256 = audio.file_sha256(path, cancel=lambda: self._closed)
            label = devices.plan(settings.device, settings.compute_type).label
        except (UserError, OSError) as exc:
            job = self.store.add_job(str(path), "", "", settings_data, status=JobStatus.FAILED, **client)
            job = self.store.update(job.id, error=str(exc) if isinstance(exc, UserError) else f"{path}: {exc}")
            self._emit(EventKind.ADDED, job)
            return job
        key = jobs.cache_key(sha256, settings, label)
        with self._lock:
            if no_cache:
                # a fresh start once, at adding: a resumed run keeps what it had done
                self.store.clear_checkpoints(key)
            else:
                if self.store.has_result(key):
                    done = self.store.jobs_with_key(key, (JobStatus.COMPLETED,))
                    duration = done[-1].duration if done else None
                    job = self.store.add_job(str(path), sha256, key, settings_data, JobStatus.COMPLETED,
                                             duration=duration, **client)
                    self._emit(EventKind.ADDED, job, cached=True)
                    return job
                # another's job is not handed to an API client: its id would let it cancel that job
                waiting = [j for j in self.store.jobs_with_key(key, (JobStatus.PENDING, JobStatus.IN_PROGRESS))
                           if session_id is None or (session_id and j.from_api and j.session_id == session_id)]
                if waiting:
                    return waiting[0]
            job = self.store.add_job(str(path), sha256, key, settings_data, no_cache=no_cache, **client)
            self._own.add(job.id)
            self._emit(EventKind.ADDED, job)
        self._kick()
        return job

    def cancel(self, job_id: int) -> None:
        with self._lock:
            cancelled = self.store.cancel_waiting(job_id)
            if cancelled:
                self._emit(EventKind.STATUS, cancelled)
                return
            job = self.store.job(job_id)
            if job is None or job.status != JobStatus.IN_PROGRESS:
                return  # finished
            if self._active != job_id:  # run by another process, which alone can stop it
                self.store.update(job_id, cancel_requested=True)  # it sees this within a second
                return
            self._cancel_requested.add(job_id)
            worker = self._worker if self._running == job_id else None
        if worker:
            worker.kill()  # the supervisor sees it die and records the cancel

    def retry(self, job_id: int) -> Job | None:
        job = self.store.job(job_id)
        if job is None or not job.status.can_retry:
            return job
        if not job.cache_key:  # it failed before it could be read: look at the file again
            self.store.remove(job_id)
            self._emit(EventKind.REMOVED, job)
            return self.add(job.path, jobs.settings_from_dict(job.settings), job.no_cache)
        job = self._requeue(job)
        self._kick()
        return job

    def remove(self, job_id: int) -> None:
        """Cancels the job if it runs and forgets it. May wait for its worker to stop: the
        window calls it off its own thread."""
        self.cancel(job_id)
        job = self.wait(job_id, statuses=tuple(s for s in JobStatus if s.settled), timeout=30)
        if job and job.status.settled:
            self.store.remove(job_id)
            self._emit(EventKind.REMOVED, job)

    def rename_speaker(self, job_id: int, speaker_id: str, name: str) -> None:
        job = self.store.job(job_id)
        if job:
            self.store.rename_speaker(job.cache_key, speaker_id, name)
            self._emit(EventKind.STATUS, job, renamed=speaker_id)

    def accept_roles(self, job_id: int) -> None:
        """The suggested roles become the speakers' names, except where a person typed one:
        a typed name is never overwritten."""
        job = self.store.job(job_id)
        if job is None:
            return
        for speaker_id, role in self.roles_to_accept(job_id).items():
            self.store.rename_speaker(job.cache_key, speaker_id, role)
        self._emit(EventKind.STATUS, job, renamed="*")

    def roles_to_accept(self, job_id: int) -> dict[str, str]:
        """{speaker id: suggested role} for the speakers nobody typed a name for."""
        job = self.store.job(job_id)
        if job is None:
            return {}
        typed = self.store.speaker_names(job.cache_key)
        return {k: v for k, v in self.store.suggestions(job.cache_key).items() if k not in typed}

    def name_roles(self, job_id: int, settings_now: Callable[[], Settings] | None = None,
                   automatic: bool = False) -> Job | None:
        """Asks the LLM for each speaker's role; stores the suggestions and one note. Never fails the job.

        Host, confirmation, key and context come from `settings_now()` (the engine's by
        default), read again right before each request; `automatic` (after a job): only
        while role naming is on there."""
        from . import roles

        read = settings_now or self._settings_now

        def options_now() -> roles.RoleOptions | None:
            chosen = self._settings_or_none(read)
            if chosen is None or (automatic and not chosen.roles_enabled):
                return None
            return roles.RoleOptions(chosen.ollama_host, chosen.ollama_model, chosen.roles_context,
                                     chosen.ollama_timeout, chosen.ollama_confirmed_host, chosen.ollama_api_key)

        job = self.store.job(job_id)
        transcript = self.result(job_id) if options_now() is not None else None
        if job is None or transcript is None:
            return job
        job = self.store.update(job_id, note="Asking Ollama for the speakers' roles…")
        self._emit(EventKind.STATUS, job, roles="asking")
        result = roles.suggest(transcript, options_now)
        if result.roles:
            self.store.save_suggestions(job.cache_key, result.roles)
        job = self.store.update(job_id, note=result.note)
        self._emit(EventKind.STATUS, job, roles="done")
        return job

    @staticmethod
    def _settings_or_none(read: Callable[[], Settings]) -> Settings | None:
        try:
            return read()
        except UserError:  # the settings cannot be read now: nothing is sent
            log.warning("role naming skipped: the settings cannot be read", exc_info=True)
            return None

    def wait(self, job_id: int, statuses=tuple(s for s in JobStatus if s.finished), timeout: float | None = None) -> Job:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                job = self.store.job(job_id)
                if job is None or job.status in statuses:
                    return job
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return job
                self._changed.wait(timeout=0.5 if left is None else min(left, 0.5))

    def close(self) -> None:
        """Stops the worker and gives the queue up; a job still running is left in
        progress, to resume wherever the queue is next owned."""
        with self._lock:
            self._closed = True
            worker, self._worker = self._worker, None
            # A job whose result is stored is not busy, though its supervisor may not have
            # cleared _active yet: its worker gets to exit cleanly instead of being killed.
            active = self.store.job(self._active) if self._active is not None else None
            busy = active is not None and active.status == JobStatus.IN_PROGRESS
        if worker:
            worker.stop(graceful=not busy)
        self._queue_lock.release()
        with self._changed:
            self._changed.notify_all()

    # owning the queue

    def _take_queue(self) -> list[Job]:
        with self._lock:
            if self._closed or not self._runs_jobs or not self._queue_lock.try_acquire():
                return []
            resumed = []
            for job_id in self.store.mark_interrupted():  # their owner died: the lock was free
                self._emit(EventKind.STATUS, self.store.job(job_id))
                resumed.append(self._requeue(self.store.job(job_id)))
                self._own.add(job_id)
            return resumed

    def _watch(self) -> None:
        """Other processes' changes, announced as events; the queue taken over when its
        owner has gone."""
        while not self._closed:
            time.sleep(self._watch_interval)
            try:
                if not self.owner and self._take_queue():
                    log.info("This process now runs the queue (its owner has quit).")
                self._announce_changes()
                self._kick()
            except UserError as exc:  # the history busy for a moment: try again next time
                log.warning("%s", exc)

    def _announce_changes(self) -> None:
        current = {j.id: j for j in self.store.jobs()}
        with self._lock:
            seen = dict(self._seen)
        active = current.get(self._active) if self._active is not None else None
        if active is not None and active.cancel_requested and active.status == JobStatus.IN_PROGRESS:
            self.cancel(active.id)  # asked for by another process on the history
        for job_id, job in current.items():
            if job_id not in seen:
                self._emit(EventKind.ADDED, job)
            elif seen[job_id] != _fingerprint(job):
                kind = EventKind.PROGRESS if seen[job_id] and seen[job_id][0] == job.status else EventKind.STATUS
                self._emit(kind, job)
        for job_id in seen.keys() - current.keys():
            if seen[job_id] is not None:
                self._emit(EventKind.REMOVED, _gone(job_id))

    # running

    def _requeue(self, job: Job) -> Job:
        job = self.store.update(job.id, status=JobStatus.PENDING, error="", progress=0.0, stage="", finished_at=None,
                                cancel_requested=False)
        self._emit(EventKind.STATUS, job)
        return job

    def _kick(self) -> None:
        with self._lock:
            if self._active is not None or self._closed or not self.owner or time.monotonic() < self._paused_until:
                return
            for candidate in self.store.jobs((JobStatus.PENDING,)):
                if self._only_own and candidate.id not in self._own:
                    continue
                job = self.store.claim(candidate.id)
                if job is not None:
                    break
            else:
                return
            self._active = job.id
            self._emit(EventKind.STATUS, job)
        self._spawn(lambda: self._supervise(job.id))

    def _supervise(self, job_id: int) -> None:
        try:
            self._run(job_id)
        except Exception as exc:  # the engine must keep going whatever happens
            # The worker may still be busy with this job: it is replaced, never reused, so
            # nothing it says later can reach another job.
            self._drop_worker()
            try:
                self._finish(job_id, JobStatus.FAILED,
                             f"Internal error while running this job ({type(exc).__name__}: {exc}).")
            except Exception:
                log.exception("job %s: could not record its failure", job_id)
        finally:
            with self._lock:
                self._active = self._running = None
                self._cancel_requested.discard(job_id)
            self._kick()
            with self._changed:
                self._changed.notify_all()

    def _drop_worker(self) -> None:
        with self._lock:
            worker, self._worker = self._worker, None
        if worker:
            worker.kill()

    def _run(self, job_id: int) -> None:
        job = self.store.job(job_id)
        done = self.store.checkpoints(job.cache_key)
        diarization = self.store.diarization(job.cache_key)
        parts = self.store.parts(job.cache_key)
        with self._lock:
            if self._closed:
                return
            if job_id in self._cancel_requested:  # cancelled before its worker had it
                return self._finish(job_id, JobStatus.CANCELLED, "")
            needed = self._worker is None or not self._worker.alive()
        if needed:  # made outside the lock: reaching a queue may take seconds
            try:
                made = self._new_worker()
            except QueueUnavailable as exc:  # back to waiting; tried again in a while
                self._paused_until = time.monotonic() + QUEUE_RETRY_SEC
                job = self.store.update(job_id, status=JobStatus.PENDING, note=str(exc), started_at=None)
                self._emit(EventKind.STATUS, job)
                return
        with self._lock:
            closed, cancelled = self._closed, job_id in self._cancel_requested
            if needed and not closed:
                self._worker = made
            worker = self._worker
            if not (closed or cancelled):
                self._running = job_id
        if closed:  # the app closed meanwhile: the job stays in progress, to resume
            if needed:
                made.stop(graceful=True)
            return
        if cancelled:
            return self._finish(job_id, JobStatus.CANCELLED, "")
        self.store.update(job_id, worker_pid=worker.pid)
        worker.send(jobs.description(job, done, diarization, parts))
        last_write = 0.0
        while True:
            message = worker.receive()
            if message is None:
                return self._worker_died(job_id, worker)
            if getattr(message, "job_id", None) != job_id:
                self.ignored_messages += 1
                log.warning("job %s: ignored a worker message for job %s", job_id, getattr(message, "job_id", None))
                continue
            if isinstance(message, Progress):
                now = time.monotonic()
                if now - last_write >= PROGRESS_INTERVAL_SEC or message.stage != job.stage:
                    job = self.store.update(job_id, progress=message.fraction, stage=message.stage)
                    self._emit(EventKind.PROGRESS, job)
                    last_write = now
            elif isinstance(message, ChunkDone):
                self.store.save_checkpoint(job.cache_key, message.chunk, message.result)
            elif isinstance(message, Part):
                self.store.save_part(job.cache_key, message.part, message.data)
            elif isinstance(message, DiarizationDone):
                self.store.save_diarization(job.cache_key, message.data)
            elif isinstance(message, Result):
                transcript = Transcript.from_dict(message.transcript)
                resumed, computed = message.chunks_resumed, message.chunks_computed
                job = self.store.complete(
                    job_id, job.cache_key, transcript, message.voices, windows=message.windows,
                    duration=transcript.source.duration,
                    chunks_resumed=resumed, chunks_computed=computed, chunks_total=resumed + computed, worker_pid=None,
                )
                self._apply_voices(job.cache_key)
                self._emit(EventKind.STATUS, job)
                now = self._settings_or_none(self._settings_now)
                if now is not None and now.roles_enabled:  # asked again before anything is sent
                    self._spawn(lambda: self.name_roles(job_id, automatic=True))
                return
            elif isinstance(message, Failure):
                return self._finish(job_id, JobStatus.FAILED, message.message)

    def _worker_died(self, job_id: int, worker) -> None:
        with self._lock:
            if self._worker is worker:
                self._worker = None
            cancelled = job_id in self._cancel_requested
            closed = self._closed
        if cancelled:
            self._finish(job_id, JobStatus.CANCELLED, "")
        elif not closed:
            job = self.store.job(job_id)
            self._finish(
                job_id, JobStatus.FAILED,
                f"{job.path}: the transcription process stopped unexpectedly ({worker.exit_reason()}). "
                "The file may be damaged; the other jobs go on.",
            )

    def _apply_voices(self, cache_key: str) -> None:
        """Known voices name the new result's speakers (here, never on a remote worker)."""
        try:
            self.store.apply_voices(cache_key)
        except Exception:  # the transcript stands without them
            log.exception("matching known voices failed")

    def _finish(self, job_id: int, status: JobStatus, error: str) -> None:
        job = self.store.update(job_id, status=status, error=error, finished_at=time.time(), worker_pid=None)
        self._emit(EventKind.STATUS, job)


def _saved_settings(data_dir: Path) -> Settings:
    """The preferences saved in the history's folder and the environment, as they are now."""
    from . import settings

    return settings.load(data_dir=data_dir)


def _fingerprint(job: Job) -> tuple:
    return (job.status, job.progress, job.stage, job.note, job.error)


def _gone(job_id: int) -> Job:
    """A stand-in for a job another process removed (only its id is read)."""
    return Job(job_id, "", "", "", {}, JobStatus.CANCELLED, 0.0, "", "", None, False, 0, 0, 0, None, 0.0, None, None)


def open_history(settings: Settings) -> tuple[Store, str]:
    """The history, for the window and the command line alike. When it cannot be used, a
    history for this session only (kept in a temporary folder) and the reason to show, so
    that work goes on and the damaged file is left untouched."""
    import tempfile

    try:
        return Store(settings.history_file), ""
    except UserError as exc:
        folder = Path(tempfile.mkdtemp(prefix="diarization-session-"))
        return Store(folder / "history.db"), f"{exc} Until then, new jobs run but are not kept after you quit."


class _Worker:
    """One worker process and its end of the pipe. A scripted worker for tests offers the
    same: pid, alive(), send(message), receive() (None once it has died), kill(),
    stop(graceful), exit_reason()."""

    def __init__(self):
        import multiprocessing
        import os

        from . import worker

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=worker.serve, args=(child, os.getpid()), daemon=True)
        self._process.start()
        child.close()  # so that the worker's death reads as end-of-file here
        self.pid = self._process.pid

    def alive(self) -> bool:
        return self._process.is_alive()

    def send(self, message) -> None:
        self._conn.send(message)

    def receive(self):
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self._process.join(timeout=5)
            return None

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)

    def stop(self, graceful: bool) -> None:
        if graceful:
            try:
                self._conn.send(Stop())
                self._process.join(timeout=3)
            except (OSError, ValueError):
                pass
        self.kill()
        self._conn.close()

    def exit_reason(self) -> str:
        code = self._process.exitcode
        if code is None:
            return "no exit code"
        return f"signal {-code}" if code < 0 else f"exit code {code}"
