"""The job queue: exactly one job runs at a time, in order; nothing is ever lost.

Each job runs in a worker process (`worker.py`) watched from a background thread: the
caller chooses how that thread is started (a plain thread for the CLI, Qt's QThreadPool
for the window). Every change is written to the store before it is announced.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import audio, devices, jobs
from .errors import UserError
from .settings import Settings
from .store import Job, Store
from .transcript import Transcript

PROGRESS_INTERVAL_SEC = 0.25  # progress is written and announced at most this often


@dataclass(frozen=True)
class Event:
    kind: str  # "added", "progress", "status", "removed"
    job: Job
    extra: dict = field(default_factory=dict)


def _thread(fn: Callable[[], None]) -> None:
    threading.Thread(target=fn, daemon=True, name="job-supervisor").start()


class Engine:
    def __init__(self, store: Store, spawn: Callable[[Callable[[], None]], None] = _thread):
        self.store = store
        self._spawn = spawn
        self._listeners: list[Callable[[Event], None]] = []
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._active: int | None = None
        self._cancel_requested: set[int] = set()
        self._worker: _Worker | None = None
        self._closed = False

    # events

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)

    def _emit(self, kind: str, job: Job, **extra) -> None:
        for listener in list(self._listeners):
            listener(Event(kind, job, extra))
        with self._changed:
            self._changed.notify_all()

    # commands

    def start(self) -> list[Job]:
        """Jobs a dead process left in progress become interrupted, then resume from checkpoints."""
        resumed = []
        for job_id in self.store.mark_interrupted(_alive):
            job = self.store.job(job_id)
            self._emit("status", job)
            resumed.append(self._requeue(job))
        self._kick()
        return resumed

    def add(self, path, settings: Settings, no_cache: bool = False) -> Job:
        path = Path(path).absolute()
        settings_data = jobs.settings_to_dict(settings)
        try:
            audio.check_readable(path)
            sha256 = audio.file_sha256(path)
            label = devices.plan(settings.device, settings.compute_type).label
        except (UserError, OSError) as exc:
            job = self.store.add_job(str(path), "", "", settings_data, status="failed")
            job = self.store.update(job.id, error=str(exc) if isinstance(exc, UserError) else f"{path}: {exc}")
            self._emit("added", job)
            return job
        key = jobs.cache_key(sha256, settings, label)
        with self._lock:
            if not no_cache:
                if self.store.has_result(key):
                    done = self.store.jobs_with_key(key, ("completed",))
                    duration = done[-1].duration if done else None
                    job = self.store.add_job(str(path), sha256, key, settings_data, "completed", duration=duration)
                    self._emit("added", job, cached=True)
                    return job
                waiting = self.store.jobs_with_key(key, ("pending", "in_progress"))
                if waiting:
                    return waiting[0]
            job = self.store.add_job(str(path), sha256, key, settings_data, no_cache=no_cache)
            self._emit("added", job)
        self._kick()
        return job

    def cancel(self, job_id: int) -> None:
        with self._lock:
            job = self.store.job(job_id)
            if job is None or job.status in ("completed", "failed", "cancelled"):
                return
            if job.status in ("pending", "interrupted"):
                self._emit("status", self.store.update(job_id, status="cancelled", finished_at=time.time()))
                return
            self._cancel_requested.add(job_id)
            worker = self._worker
        if worker:
            worker.kill()  # the supervisor sees it die and records the cancel

    def retry(self, job_id: int) -> Job | None:
        job = self.store.job(job_id)
        if job is None or job.status not in ("failed", "cancelled", "interrupted"):
            return job
        if not job.cache_key:  # it failed before it could be read: look at the file again
            self.store.remove(job_id)
            return self.add(job.path, jobs.settings_from_dict(job.settings), job.no_cache)
        job = self._requeue(job)
        self._kick()
        return job

    def remove(self, job_id: int) -> None:
        self.cancel(job_id)
        self.wait(job_id, statuses=("cancelled", "completed", "failed", "interrupted"), timeout=30)
        job = self.store.job(job_id)
        if job:
            self.store.remove(job_id)
            self._emit("removed", job)

    def result(self, job_id: int) -> Transcript | None:
        job = self.store.job(job_id)
        return self.store.result(job.cache_key) if job and job.status == "completed" else None

    def rename_speaker(self, job_id: int, speaker_id: str, name: str) -> None:
        job = self.store.job(job_id)
        if job:
            self.store.rename_speaker(job.cache_key, speaker_id, name)
            self._emit("status", job, renamed=speaker_id)

    def suggestions(self, job_id: int) -> dict[str, str]:
        job = self.store.job(job_id)
        return self.store.suggestions(job.cache_key) if job else {}

    def name_roles(self, job_id: int, settings: Settings | None = None) -> Job | None:
        """Asks the LLM for each speaker's role; stores the suggestions and one note. Never fails the job."""
        from . import roles

        job = self.store.job(job_id)
        transcript = self.result(job_id)
        if job is None or transcript is None:
            return job
        chosen = settings or jobs.settings_from_dict(job.settings)
        options = roles.RoleOptions(chosen.ollama_host, chosen.ollama_model, chosen.roles_context, chosen.ollama_timeout)
        job = self.store.update(job_id, note="Asking Ollama for the speakers' roles…")
        self._emit("status", job, roles="asking")
        result = roles.suggest(transcript, options)
        if result.roles:
            self.store.save_suggestions(job.cache_key, result.roles)
        job = self.store.update(job_id, note=result.note)
        self._emit("status", job, roles="done")
        return job

    def wait(self, job_id: int, statuses=("completed", "failed", "cancelled"), timeout: float | None = None) -> Job:
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
        """Stops the worker; a job still running is left in progress, to resume next start."""
        with self._lock:
            self._closed = True
            worker, self._worker = self._worker, None
            # A job whose result is stored is not busy, though its supervisor may not have
            # cleared _active yet: its worker gets to exit cleanly instead of being killed.
            busy = self._active is not None and self.store.job(self._active).status == "in_progress"
        if worker:
            worker.stop(graceful=not busy)

    # running

    def _requeue(self, job: Job) -> Job:
        job = self.store.update(job.id, status="pending", error="", progress=0.0, stage="", finished_at=None)
        self._emit("status", job)
        return job

    def _kick(self) -> None:
        with self._lock:
            if self._active is not None or self._closed:
                return
            pending = self.store.jobs(("pending",))
            if not pending:
                return
            job = self.store.update(pending[0].id, status="in_progress", started_at=time.time(), progress=0.0, stage="")
            self._active = job.id
            self._emit("status", job)
        self._spawn(lambda: self._supervise(job.id))

    def _supervise(self, job_id: int) -> None:
        try:
            self._run(job_id)
        except Exception as exc:  # the engine must keep going whatever happens
            self._finish(job_id, "failed", f"Internal error while running this job ({type(exc).__name__}: {exc}).")
        finally:
            with self._lock:
                self._active = None
                self._cancel_requested.discard(job_id)
            self._kick()
            with self._changed:
                self._changed.notify_all()

    def _run(self, job_id: int) -> None:
        job = self.store.job(job_id)
        if job.no_cache:
            self.store.clear_checkpoints(job.cache_key)
        done = self.store.checkpoints(job.cache_key)
        with self._lock:
            if self._closed:
                return
            if self._worker is None or not self._worker.alive():
                self._worker = _Worker()
            worker = self._worker
        self.store.update(job_id, worker_pid=worker.pid)
        worker.send(jobs.description(job.id, job.path, job.settings, job.cache_key, done, job.sha256))
        last_write = 0.0
        while True:
            message = worker.receive()
            if message is None:
                return self._worker_died(job_id, worker)
            kind = message["type"]
            if kind == "progress":
                now = time.monotonic()
                if now - last_write >= PROGRESS_INTERVAL_SEC or message["stage"] != job.stage:
                    job = self.store.update(job_id, progress=message["fraction"], stage=message["stage"])
                    self._emit("progress", job)
                    last_write = now
            elif kind == "chunk":
                self.store.save_checkpoint(job.cache_key, message["chunk"], message["result"])
            elif kind == "result":
                transcript = Transcript.from_dict(message["transcript"])
                resumed, computed = message["chunks_resumed"], message["chunks_computed"]
                job = self.store.complete(
                    job_id, job.cache_key, transcript, duration=transcript.source.duration,
                    chunks_resumed=resumed, chunks_computed=computed, chunks_total=resumed + computed, worker_pid=None,
                )
                self._emit("status", job)
                if job.settings.get("roles_enabled"):
                    threading.Thread(target=self.name_roles, args=(job_id,), daemon=True, name="roles").start()
                return
            elif kind == "error":
                return self._finish(job_id, "failed", message["message"])

    def _worker_died(self, job_id: int, worker: "_Worker") -> None:
        with self._lock:
            if self._worker is worker:
                self._worker = None
            cancelled = job_id in self._cancel_requested
            closed = self._closed
        if cancelled:
            self._finish(job_id, "cancelled", "")
        elif not closed:
            job = self.store.job(job_id)
            self._finish(
                job_id, "failed",
                f"{job.path}: the transcription process stopped unexpectedly ({worker.exit_reason()}). "
                "The file may be damaged; the other jobs go on.",
            )

    def _finish(self, job_id: int, status: str, error: str) -> None:
        job = self.store.update(job_id, status=status, error=error, finished_at=time.time(), worker_pid=None)
        self._emit("status", job)


def _alive(pid: int | None) -> bool:
    """Whether a job's worker process still runs (so another app instance owns the job)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():  # Linux: a zombie left by a killed app, or a reused pid, is not our worker
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (proc / "cmdline").read_bytes()
        except OSError:
            return False
        return state != "Z" and b"multiprocessing" in command
    return True


class _Worker:
    """One worker process and its end of the pipe."""

    def __init__(self):
        from . import worker

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=worker.serve, args=(child, os.getpid()), daemon=True)
        self._process.start()
        child.close()  # so that the worker's death reads as end-of-file here
        self.pid = self._process.pid

    def alive(self) -> bool:
        return self._process.is_alive()

    def send(self, message: dict) -> None:
        self._conn.send(message)

    def receive(self) -> dict | None:
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
                self._conn.send({"type": "stop"})
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
