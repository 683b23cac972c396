"""A stand-in for the worker process in the engine's fast tests: it answers each job with
the messages a script gives, as a real worker sends them through its pipe."""

from __future__ import annotations

import queue
from pathlib import Path

from app.core.jobs.messages import Progress, Result, RunJob
from tests import builders


def transcript_saying(text: str, path: str) -> dict:
    return builders.transcript(builders.said("SPEAKER_00", (0.0, 1.0, text)), path=path, language="en").to_dict()


class ScriptedWorker:
    """Answers each job with `script(job)`'s messages; more may be queued from outside
    (as a real worker's would still be in its pipe). kill() makes receive() end."""

    made: list["ScriptedWorker"] = []

    def __init__(self, script):
        self.script = script
        self.pid = 4242
        self.inbox: queue.Queue = queue.Queue()
        self.jobs: list[RunJob] = []
        self.dead = False
        ScriptedWorker.made.append(self)

    def alive(self) -> bool:
        return not self.dead

    def send(self, message) -> None:
        if isinstance(message, RunJob):
            self.jobs.append(message)
            for answer in self.script(message):
                self.inbox.put(answer)

    def receive(self):
        while not self.dead:
            try:
                return self.inbox.get(timeout=0.05)
            except queue.Empty:
                continue
        return None

    def kill(self) -> None:
        self.dead = True

    def stop(self, graceful: bool) -> None:
        self.dead = True

    def exit_reason(self) -> str:
        return "signal 9"


def finishes(job: RunJob):
    """A worker that transcribes any file as the file's own name."""
    yield Progress(job.job_id, 0.5, "transcribe")
    yield Result(job.job_id, transcript_saying(Path(job.path).stem, job.path), 0, 1)


def never_finishes(job: RunJob):
    yield Progress(job.job_id, 0.5, "transcribe")
