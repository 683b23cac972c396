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
    voices: dict = field(default_factory=dict)  # {speaker id: signature bytes}, voices.py
    windows: bytes = b""  # the diarizer's windows and embeddings, recluster.py


@dataclass(frozen=True)
class Failure:
    job_id: int
    message: str
    internal: bool = False
    traceback: str = ""


FromWorker = Progress | ChunkDone | Part | DiarizationDone | Result | Failure


# As JSON, for a worker on another machine (through Redis): plain data only, never pickle.

_TYPES = {cls.__name__: cls for cls in (RunJob, Stop, Progress, ChunkDone, Part, DiarizationDone, Result, Failure)}


def to_json(message) -> str:
    import base64
    import json
    from dataclasses import asdict

    def plain(value):
        if isinstance(value, bytes):
            return {"__bytes__": base64.b64encode(value).decode("ascii")}
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    return json.dumps({"type": type(message).__name__, **plain(asdict(message))}, ensure_ascii=True)


def from_json(text: str):
    """The message in `text`; ValueError for anything that is not one (a malformed or
    hostile payload is refused, never run)."""
    import base64
    import json
    from dataclasses import fields

    def typed(value):
        if isinstance(value, dict):
            if set(value) == {"__bytes__"}:
                return base64.b64decode(value["__bytes__"], validate=True)
            return {k: typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        return value

    try:
        data = json.loads(text)
        cls = _TYPES[data.pop("type")]
        names = {f.name for f in fields(cls)}
        if not set(data) <= names:
            raise ValueError(f"unknown fields {sorted(set(data) - names)}")
        values = {k: typed(v) for k, v in data.items()}
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError, base64.binascii.Error) as exc:
        raise ValueError(f"not a job message ({type(exc).__name__}: {exc})") from None
    if cls is RunJob:
        values["done_chunks"] = {int(k): v for k, v in values.get("done_chunks", {}).items()}
        values["parts"] = {int(k): v for k, v in values.get("parts", {}).items()}
    return cls(**values)
