"""The worker process: runs jobs it is sent, one at a time, and reports back in plain data.

Messages in: {"type": "job", ...} (see jobs.description) or {"type": "stop"}.
Messages out: {"type": "progress"|"chunk"|"result"|"error", "job_id": ..., ...}.
A job in its own process cannot freeze the window, a native crash takes only the worker
down, and cancelling is killing it. Models stay loaded between jobs.
"""

from __future__ import annotations

import os
import threading
import time
import traceback


def serve(conn, parent_pid: int) -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.basicConfig(format="%(message)s")
    logging.getLogger("app").setLevel(logging.INFO)
    _exit_with_parent(parent_pid)
    from .pipeline import Resources

    resources = Resources()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message.get("type") == "job":
            run_job(message, _Sender(conn), resources)
        elif message.get("type") == "stop":
            return


def run_job(message: dict, send, resources) -> None:
    """Runs one job description; every outcome becomes a message."""
    from . import pipeline
    from .errors import UserError
    from .jobs import settings_from_dict

    job_id = message["job_id"]
    done = {int(k): v for k, v in message.get("done_chunks", {}).items()}
    computed = [0]

    def on_chunk(chunk, result):
        computed[0] += 1
        send({"type": "chunk", "job_id": job_id, "chunk": chunk.to_dict(), "result": result})

    hooks = pipeline.Hooks(
        progress=lambda fraction, stage: send({"type": "progress", "job_id": job_id, "fraction": fraction, "stage": stage}),
        done_chunks=done,
        on_chunk=on_chunk,
    )
    try:
        transcript = pipeline.run(
            message["path"], settings_from_dict(message["settings"]), hooks, resources, message.get("sha256", "")
        )
    except UserError as exc:
        send({"type": "error", "job_id": job_id, "kind": "user", "message": str(exc)})
        return
    except Exception as exc:  # reported to the engine, which keeps going
        send({
            "type": "error", "job_id": job_id, "kind": "internal",
            "message": f"{message['path']}: unexpected failure ({type(exc).__name__}: {exc}).",
            "traceback": traceback.format_exc(),
        })
        return
    send({
        "type": "result", "job_id": job_id, "transcript": transcript.to_dict(),
        "chunks_resumed": len(done), "chunks_computed": computed[0],
    })


class _Sender:
    """conn.send from several threads (the diarizer reports from its own)."""

    def __init__(self, conn):
        self.conn, self.lock = conn, threading.Lock()

    def __call__(self, message: dict) -> None:
        with self.lock:
            self.conn.send(message)


def _exit_with_parent(parent_pid: int) -> None:
    """If the app is killed (kill -9, power button), its worker must not run on alone."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()
