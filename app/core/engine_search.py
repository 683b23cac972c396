"""Search across the whole history, the engine's part (`engine.search`; store/search.py)."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.engine_parts import Part
from app.core.jobs.status import JobStatus


@dataclass(frozen=True)
class Found:
    job_id: int
    path: str  # as shown
    segment: int
    start: float
    speaker: str
    name: str
    snippet: str  # matches [marked]


class Search(Part):
    def find(self, text: str, limit: int = 200) -> list[Found]:
        """Every segment of every finished transcript that says `text` (or whose speaker is
        so named), the latest first; each names the latest job with that result."""
        found, jobs = [], {}
        for hit in self._store.search(text, limit):
            if hit.cache_key not in jobs:
                done = self._store.jobs_with_key(hit.cache_key, (JobStatus.COMPLETED,))
                jobs[hit.cache_key] = max(done, key=lambda j: j.finished_at or 0) if done else None
            job = jobs[hit.cache_key]
            if job is not None:
                found.append(Found(job.id, job.shown_path, hit.segment, hit.start, hit.speaker, hit.name, hit.snippet))
        return found
