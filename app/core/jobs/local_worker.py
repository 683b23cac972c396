"""The worker process: runs jobs it is sent, one at a time, and reports back in plain data;
and the engine's end of it (`LocalWorker`, one kind of `Worker`).

Messages in: `messages.RunJob` or `messages.Stop`. Messages out: `messages.Progress`,
`ChunkDone`, `DiarizationDone`, `Result` or `Failure`, each naming its job.
A job in its own process cannot freeze the window, a native crash takes only the worker
down, and cancelling is killing it. Models stay loaded between jobs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from typing import Callable, Protocol

from app.core.common.errors import UserError

log = logging.getLogger("app")


class Worker(Protocol):
    """Where the engine's supervisor runs a job: this computer's worker process
    (`LocalWorker`), the Redis queue's (`queue.RemoteWorker`), or a scripted one in tests.
    `receive()` gives the job's next message (`messages`), None once the worker has died."""

    pid: int | None

    def alive(self) -> bool: ...
    def send(self, message) -> None: ...
    def receive(self): ...
    def kill(self) -> None: ...
    def stop(self, graceful: bool) -> None: ...
    def exit_reason(self) -> str: ...


class QueueUnavailable(UserError):
    """The job queue cannot be reached and the user chose to wait for it."""


def worker_factory(settings_now) -> Callable[[], Worker]:
    """Where jobs run, by the settings in force when a worker is needed: this computer's
    worker process, or the Redis queue's workers (falling back to this computer, or
    waiting, when the queue is unreachable, as the user chose)."""

    def make() -> Worker:
        settings = settings_now()
        if settings.process_on != "workers":
            return LocalWorker()
        from app.core.jobs.redis_queue import RemoteWorker

        try:
            return RemoteWorker(settings.redis_url)
        except UserError as exc:
            if settings.queue_fallback == "local":
                log.warning("%s This job runs on this computer.", exc)
                return LocalWorker()
            raise QueueUnavailable(f"{exc} The job waits for the queue.") from None

    return make


class LocalWorker:
    """This computer's worker process (`serve`, below) and the engine's end of its pipe."""

    def __init__(self):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(child, os.getpid()), daemon=True)
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
        from app.core.jobs.messages import Stop

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


def serve(conn, parent_pid: int) -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.basicConfig(format="%(message)s")
    logging.getLogger("app").setLevel(logging.INFO)
    _exit_with_parent(parent_pid)
    _yield_to_the_window()
    from app.core.jobs.messages import RunJob
    from app.core.pipeline import Resources

    resources = Resources()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(message, RunJob):
            run_job(message, _Sender(conn), resources)
        else:  # Stop, or anything unknown
            return


def run_job(job, send, resources, settings=None, decoded=None, cancel=lambda: False) -> None:
    """Runs one job (a `messages.RunJob`); every outcome becomes a message. A remote worker
    gives its own `settings` (its device and threads), the `decoded` audio it was sent,
    and how it hears a cancel."""
    from app.core import pipeline
    from app.core.jobs.spec import settings_from_dict
    from app.core.jobs.messages import ChunkDone, DiarizationDone, Failure, Part, Progress, Result

    job_id = job.job_id
    done = {int(k): v for k, v in job.done_chunks.items()}
    computed = [0]
    signatures: dict[str, bytes] = {}
    windows = [b""]

    def on_chunk(chunk, result):
        computed[0] += 1
        send(ChunkDone(job_id, chunk.to_dict(), result))

    hooks = pipeline.Hooks(
        progress=lambda fraction, stage: send(Progress(job_id, fraction, stage)),
        done_chunks=done,
        on_chunk=on_chunk,
        diarization=job.diarization,
        on_diarization=lambda data: send(DiarizationDone(job_id, data)),
        parts=job.parts,
        on_part=lambda part, data: send(Part(job_id, part, data)),
        on_voices=signatures.update,
        on_windows=lambda data: windows.__setitem__(0, data),
        cancel=cancel,
    )
    try:
        transcript = pipeline.run(job.path, settings or settings_from_dict(job.settings), hooks, resources, job.sha256,
                                  decoded=decoded)
    except UserError as exc:
        send(Failure(job_id, str(exc)))
        return
    except Exception as exc:  # reported to the engine, which keeps going
        send(Failure(job_id, f"{job.path}: unexpected failure ({type(exc).__name__}: {exc}).", internal=True,
                     traceback=traceback.format_exc()))
        return
    send(Result(job_id, transcript.to_dict(), len(done), computed[0], signatures, windows[0]))


class _Sender:
    """conn.send from several threads (the diarizer reports from its own)."""

    def __init__(self, conn):
        self.conn, self.lock = conn, threading.Lock()

    def __call__(self, message: dict) -> None:
        with self.lock:
            self.conn.send(message)


def _yield_to_the_window() -> None:
    """Jobs use every core; at a lower priority they leave the window (and the rest of the
    machine) the CPU it needs to answer at once. It costs a job nothing on an idle machine."""
    try:
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):  # not on every platform; not worth failing a job for
        pass


WORKER_NICENESS = 10


def _exit_with_parent(parent_pid: int) -> None:
    """If the app is killed (kill -9, power button), its worker must not run on alone."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
