"""Speakers' roles from a local LLM, the engine's part (`engine.roles`; roles.py).

Host, confirmation, key and context are read from the settings right before each request,
never from a job: consent given or taken back in Preferences holds at once.
"""

from __future__ import annotations

import logging
from typing import Callable

from app.core.engine_parts import Part
from app.core.common.errors import UserError
from app.core.settings import Settings
from app.core.jobs.status import EventKind

log = logging.getLogger("app")


class Roles(Part):
    def __init__(self, store, emit, result, settings_now: Callable[[], Settings], spawn):
        super().__init__(store, emit)
        self._result, self._settings_now, self._spawn = result, settings_now, spawn

    def suggest(self, job_id: int, settings_now: Callable[[], Settings] | None = None, automatic: bool = False):
        """Asks the LLM for each speaker's role; stores the suggestions and one note. Never
        fails the job. `settings_now()`: the engine's by default; `automatic` (after a
        job): only while role naming is on there."""
        from app.core.llm import roles

        read = settings_now or self._settings_now

        def options_now() -> roles.RoleOptions | None:
            chosen = settings_or_none(read)
            if chosen is None or (automatic and not chosen.roles_enabled):
                return None
            return roles.RoleOptions(chosen.ollama_host, chosen.ollama_model, chosen.roles_context,
                                     chosen.ollama_timeout, chosen.ollama_confirmed_host, chosen.ollama_api_key)

        job = self._store.job(job_id)
        transcript = self._result(job_id) if options_now() is not None else None
        if job is None or transcript is None:
            return job
        job = self._store.update(job_id, note="Asking Ollama for the speakers' roles…")
        self._emit(EventKind.STATUS, job, roles="asking")
        result = roles.suggest(transcript, options_now)
        if result.roles:
            self._store.save_suggestions(job.cache_key, result.roles)
        job = self._store.update(job_id, note=result.note)
        self._emit(EventKind.STATUS, job, roles="done")
        return job

    def after_result(self, job_id: int) -> None:
        """A job just finished: roles are asked for when role naming is on (asked again
        before anything is sent)."""
        now = settings_or_none(self._settings_now)
        if now is not None and now.roles_enabled:
            self._spawn(lambda: self.suggest(job_id, automatic=True))

    def suggested(self, job_id: int) -> dict[str, str]:
        """{speaker id: suggested role}."""
        job = self._store.job(job_id)
        return self._store.suggestions(job.cache_key) if job else {}

    def to_accept(self, job_id: int) -> dict[str, str]:
        """{speaker id: suggested role} for the speakers nobody typed a name for."""
        job = self._store.job(job_id)
        if job is None:
            return {}
        typed = self._store.speaker_names(job.cache_key)
        return {k: v for k, v in self._store.suggestions(job.cache_key).items() if k not in typed}

    def accept(self, job_id: int) -> None:
        """The suggested roles become the speakers' names, except where a person typed one:
        a typed name is never overwritten."""
        job = self._store.job(job_id)
        if job is None:
            return
        for speaker_id, role in self.to_accept(job_id).items():
            self._store.rename_speaker(job.cache_key, speaker_id, role)
        self._emit(EventKind.STATUS, job, renamed="*")


def settings_or_none(read: Callable[[], Settings]) -> Settings | None:
    try:
        return read()
    except UserError:  # the settings cannot be read now: nothing is sent
        log.warning("the settings cannot be read: what they guard stays held back", exc_info=True)
        return None
