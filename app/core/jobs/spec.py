"""A job as plain data: what to run, and the key its result is cached under.

The description is JSON-ready, so a job can run in a local worker process or, later, in a
remote worker fed through a queue, and come back into the same store.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields, replace
from pathlib import Path

from app.core.settings import NOT_IN_JOBS, Settings

# Raise when a change to the pipeline changes its results: old cache entries stop matching.
PIPELINE_VERSION = 2

# Settings that change the transcript. Chunk workers, threads and the data folder do not.
_RESULT_SETTINGS = ("model", "language", "device", "compute_type", "chunk_sec", "num_speakers", "max_speakers")
# What a remote worker is told: those, and how a stereo call's channels are heard (in the
# cache key only when not "auto", see cache_key).
JOB_SETTINGS = _RESULT_SETTINGS + ("channels",)


def settings_to_dict(settings: Settings) -> dict:
    data = asdict(settings)
    for name in NOT_IN_JOBS:  # a key or a password is never written into the history
        data.pop(name, None)
    data["data_dir"] = str(settings.data_dir)
    data["from_env"] = list(settings.from_env)
    return data


def settings_from_dict(data: dict) -> Settings:
    known = {f.name for f in fields(Settings)}
    clean = {k: v for k, v in data.items() if k in known}
    clean["data_dir"] = Path(clean.get("data_dir") or Settings().data_dir)
    clean["from_env"] = tuple(clean.get("from_env", ()))
    return replace(Settings(), **clean)


def cache_key(sha256: str, settings: Settings, device_label: str = "") -> str:
    """Content hash plus everything that changes the result: renaming the file changes nothing."""
    parts = {name: getattr(settings, name) for name in _RESULT_SETTINGS}
    if settings.channels != "auto":  # auto is left out: results stored before the choice existed keep their key
        parts["channels"] = settings.channels
    parts.update(sha256=sha256, pipeline=PIPELINE_VERSION, resolved_device=device_label)
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def description(job, done_chunks: dict[int, list], diarization: dict | None = None,
                parts: dict[int, bytes] | None = None):
    """The message a worker receives for a stored job (`messages.RunJob`, plain data inside)."""
    from app.core.jobs.messages import RunJob

    return RunJob(job.id, job.path, job.settings, job.cache_key, job.sha256, dict(done_chunks), diarization,
                  dict(parts or {}))
