"""What the engine and a worker process say to each other, as typed values.

Every message from a worker names its job; the engine drops (and counts) any that names
another, so one job's words can never be stored as another's.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunJob:
    """A job description (see jobs.description): what to run and what is already done."""

    job_id: int
    path: str
    settings: dict
    cache_key: str
    sha256: str = ""
    done_chunks: dict = field(default_factory=dict)  # {chunk index: [chunk dict, result]}
    diarization: dict | None = None  # {"turns", "speech"} from an earlier run of this job
    parts: dict = field(default_factory=dict)  # {part: bytes}, see Part


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Progress:
    job_id: int
    fraction: float
    stage: str


@dataclass(frozen=True)
class ChunkDone:
    job_id: int
    chunk: dict  # Chunk.to_dict()
    result: list


@dataclass(frozen=True)
class DiarizationDone:
    job_id: int
    data: dict  # {"turns": [[start, end, speaker]], "speech": [[start, end]]}


@dataclass(frozen=True)
class Part:
    """A piece of work done so far, kept so a killed job need not do it again (the
    numbering: pipeline.Hooks.parts)."""

    job_id: int
    part: int
    data: bytes


@dataclass(frozen=True)
class Result:
    job_id: int
    transcript: dict
    chunks_resumed: int
    chunks_computed: int


@dataclass(frozen=True)
class Failure:
    job_id: int
    message: str
    internal: bool = False
    traceback: str = ""


FromWorker = Progress | ChunkDone | Part | DiarizationDone | Result | Failure
