"""Owning a history's queue and supervising its jobs: exactly one job runs at a time, in
order, in a worker (`worker.Worker`) that is replaced, never reused, after anything goes
wrong. Every change is written to the store before it is announced.

One process owns a history's queue (`owner.QueueLock`): it alone starts and stops
workers. Another process on the same history hands its jobs to the owner through the
store and sees them run there; when the owner quits or dies, it takes the lock over and
resumes what was left.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from app.core.jobs import spec as jobs
from app.core.common.errors import UserError
from app.core.jobs.messages import ChunkDone, DiarizationDone, Failure, Part, Progress, Result
from app.core.jobs.queue_lock import QueueLock
from app.core.jobs.status import EventKind, JobStatus
from app.core.store import Job, Store
from app.core.document.transcript import Transcript
from app.core.jobs.local_worker import QueueUnavailable, Worker

PROGRESS_INTERVAL_SEC = 0.25  # progress is written and announced at most this often
WATCH_INTERVAL_SEC = 1.0  # how often the store is read for other processes' changes
QUEUE_RETRY_SEC = 10.0  # a job waiting for an unreachable queue tries again this often
log = logging.getLogger("app")


class Supervisor:
    """`emit(kind, job, **extra)` announces a change (the engine's events); `announce(jobs)`
    announces what other processes changed; `spawn(fn)` runs a job's supervision on a
    thread of the caller's choosing; `finished(job_id)` is called after a job's result is
    stored."""

    def __init__(self, store: Store, emit, announce: Callable[[dict[int, Job]], None],
                 spawn: Callable[[Callable[[], None]], None], new_worker: Callable[[], Worker],
                 finished: Callable[[int], None], only_own: bool, runs_jobs: bool, watch_interval: float,
                 ready: Callable[[Job], bool] = lambda job: True):
        self._store, self._emit, self._announce, self._spawn = store, emit, announce, spawn
        self._ready = ready  # False: the job waits (for its model's download) and the next one runs
        self._new_worker, self._finished = new_worker, finished
        self._only_own = only_own
        self._runs_jobs = runs_jobs  # False: never the queue's owner (the window's HTTP API process)
        self._own: set[int] = set()
        self._queue_lock = QueueLock(store.path)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._active: int | None = None  # the job being supervised
        self._running: int | None = None  # the job the worker has been given
        self._cancel_requested: set[int] = set()
        self._worker: Worker | None = None
        self.closed = False
        self._started = False
        self._watch_interval = watch_interval
        self._paused_until = 0.0  # the queue was unreachable: no new job before then
        self.ignored_messages = 0  # worker messages naming another job (never stored)

    @property
    def owner(self) -> bool:
        return self._queue_lock.held

    def start(self, seen: Callable[[], None]) -> list[Job]:
        """`seen()` records the jobs as they are, so only later changes are announced."""
        with self.lock:
            if self._started:
                return []
            self._started = True
            seen()
        resumed = self._take_queue()
        threading.Thread(target=self._watch, daemon=True, name="job-watch").start()
        self.kick()
        return resumed

    def adopt(self, job_id: int) -> None:
        """A job this engine added: run by it even with `only_own`."""
        self._own.add(job_id)

    def cancel(self, job_id: int) -> None:
        with self.lock:
            cancelled = self._store.cancel_waiting(job_id)
            if cancelled:
                self._emit(EventKind.STATUS, cancelled)
                return
            job = self._store.job(job_id)
            if job is None or job.status != JobStatus.IN_PROGRESS:
                return  # finished
            if self._active != job_id:  # run by another process, which alone can stop it
                self._store.update(job_id, cancel_requested=True)  # it sees this within a second
                return
            self._cancel_requested.add(job_id)
            worker = self._worker if self._running == job_id else None
        if worker:
            worker.kill()  # the supervisor sees it die and records the cancel

    def requeue(self, job: Job) -> Job:
        job = self._store.update(job.id, status=JobStatus.PENDING, error="", progress=0.0, stage="", finished_at=None,
                                 cancel_requested=False)
        self._emit(EventKind.STATUS, job)
        return job

    def close(self) -> None:
        with self.lock:
            self.closed = True
            worker, self._worker = self._worker, None
            # A job whose result is stored is not busy, though its supervisor may not have
            # cleared _active yet: its worker gets to exit cleanly instead of being killed.
            active = self._store.job(self._active) if self._active is not None else None
            busy = active is not None and active.status == JobStatus.IN_PROGRESS
        if worker:
            worker.stop(graceful=not busy)
        self._queue_lock.release()
        with self.changed:
            self.changed.notify_all()

    # owning the queue

    def _take_queue(self) -> list[Job]:
        with self.lock:
            if self.closed or not self._runs_jobs or not self._queue_lock.try_acquire():
                return []
            resumed = []
            for job_id in self._store.mark_interrupted():  # their owner died: the lock was free
                self._emit(EventKind.STATUS, self._store.job(job_id))
                resumed.append(self.requeue(self._store.job(job_id)))
                self._own.add(job_id)
            return resumed

    def _watch(self) -> None:
        """Other processes' changes, announced as events; the queue taken over when its
        owner has gone."""
        while not self.closed:
            time.sleep(self._watch_interval)
            try:
                if not self.owner and self._take_queue():
                    log.info("This process now runs the queue (its owner has quit).")
                self._announce_changes()
                self.kick()
            except UserError as exc:  # the history busy for a moment: try again next time
                log.warning("%s", exc)

    def _announce_changes(self) -> None:
        current = {j.id: j for j in self._store.jobs()}
        active = current.get(self._active) if self._active is not None else None
        if active is not None and active.cancel_requested and active.status == JobStatus.IN_PROGRESS:
            self.cancel(active.id)  # asked for by another process on the history
        self._announce(current)

    # running

    def kick(self) -> None:
        with self.lock:
            if self._active is not None or self.closed or not self.owner or time.monotonic() < self._paused_until:
                return
            for candidate in self._store.jobs((JobStatus.PENDING,)):
                if (self._only_own and candidate.id not in self._own) or not self._ready(candidate):
                    continue
                job = self._store.claim(candidate.id)
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
        except UserError as exc:  # the job cannot be sent or run as it is (a full queue): said as it is
            self._drop_worker()
            self._finish(job_id, JobStatus.FAILED, str(exc))
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
            with self.lock:
                self._active = self._running = None
                self._cancel_requested.discard(job_id)
            self.kick()
            with self.changed:
                self.changed.notify_all()

    def _drop_worker(self) -> None:
        with self.lock:
            worker, self._worker = self._worker, None
        if worker:
            worker.kill()

    def _run(self, job_id: int) -> None:
        store = self._store
        job = store.job(job_id)
        done = store.checkpoints(job.cache_key)
        diarization = store.diarization(job.cache_key)
        parts = store.parts(job.cache_key)
        with self.lock:
            if self.closed:
                return
            if job_id in self._cancel_requested:  # cancelled before its worker had it
                return self._finish(job_id, JobStatus.CANCELLED, "")
            needed = self._worker is None or not self._worker.alive()
        if needed:  # made outside the lock: reaching a queue may take seconds
            try:
                made = self._new_worker()
            except QueueUnavailable as exc:  # back to waiting; tried again in a while
                self._paused_until = time.monotonic() + QUEUE_RETRY_SEC
                job = store.update(job_id, status=JobStatus.PENDING, note=str(exc), started_at=None)
                self._emit(EventKind.STATUS, job)
                return
        with self.lock:
            closed, cancelled = self.closed, job_id in self._cancel_requested
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
        store.update(job_id, worker_pid=worker.pid)
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
                    job = store.update(job_id, progress=message.fraction, stage=message.stage)
                    self._emit(EventKind.PROGRESS, job)
                    last_write = now
            elif isinstance(message, ChunkDone):
                store.save_checkpoint(job.cache_key, message.chunk, message.result)
            elif isinstance(message, Part):
                store.save_part(job.cache_key, message.part, message.data)
            elif isinstance(message, DiarizationDone):
                store.save_diarization(job.cache_key, message.data)
            elif isinstance(message, Result):
                transcript = Transcript.from_dict(message.transcript)
                resumed, computed = message.chunks_resumed, message.chunks_computed
                job = store.complete(
                    job_id, job.cache_key, transcript, message.voices, windows=message.windows,
                    duration=transcript.source.duration,
                    chunks_resumed=resumed, chunks_computed=computed, chunks_total=resumed + computed, worker_pid=None,
                )
                self._apply_voices(job.cache_key)
                self._emit(EventKind.STATUS, job)
                self._finished(job_id)
                return
            elif isinstance(message, Failure):
                return self._finish(job_id, JobStatus.FAILED, message.message)

    def _worker_died(self, job_id: int, worker: Worker) -> None:
        with self.lock:
            if self._worker is worker:
                self._worker = None
            cancelled = job_id in self._cancel_requested
            closed = self.closed
        if cancelled:
            self._finish(job_id, JobStatus.CANCELLED, "")
        elif not closed:
            job = self._store.job(job_id)
            self._finish(
                job_id, JobStatus.FAILED,
                f"{job.path}: the transcription process stopped unexpectedly ({worker.exit_reason()}). "
                "The file may be damaged; the other jobs go on.",
            )

    def _apply_voices(self, cache_key: str) -> None:
        """Known voices name the new result's speakers (here, never on a remote worker)."""
        try:
            self._store.apply_voices(cache_key)
        except Exception:  # the transcript stands without them
            log.exception("matching known voices failed")

    def _finish(self, job_id: int, status: JobStatus, error: str) -> None:
        job = self._store.update(job_id, status=status, error=error, finished_at=time.time(), worker_pid=None)
        self._emit(EventKind.STATUS, job)
