"""Notes from a local LLM, the engine's part (`engine.notes`; llm/notes.py).

Host, confirmation, key and context are read from the settings right before each request
leaves, as for roles. Notes are kept with the transcript; a correction made after them
marks them as made from an earlier version.
"""

from __future__ import annotations

from typing import Callable

from app.core.common.errors import UserError
from app.core.engine_parts import Part
from app.core.engine_roles import settings_or_none
from app.core.jobs.status import EventKind


class NotesPart(Part):
    def __init__(self, store, emit, result, settings_now):
        super().__init__(store, emit)
        self._result, self._settings_now = result, settings_now

    def make(self, job_id: int, template: str = "summary", instructions: str = "",
             progress: Callable[[float, str], None] | None = None, cancel: Callable[[], bool] | None = None):
        """Asks the LLM for notes of the job's transcript as shown (corrections and names),
        checks every point, keeps them and returns them (`notes.Notes`). UserError with the
        one note that says why there are none (the notes kept before stay)."""
        from app.core.llm import chat, notes

        job = self._finished(job_id)
        transcript = self._result(job_id)

        def options_now() -> chat.LLMOptions | None:
            now = settings_or_none(self._settings_now)
            return None if now is None else chat.LLMOptions(
                now.ollama_host, now.ollama_model, now.roles_context, now.ollama_timeout, now.ollama_confirmed_host,
                now.ollama_api_key)

        try:
            made = notes.make(transcript, template, options_now, instructions, progress=progress or (lambda f, s: None),
                              cancel=cancel or (lambda: False))
        except chat.ChatError as exc:
            raise UserError(str(exc)) from None
        self._store.save_notes(job.cache_key, made.to_dict())
        self._emit(EventKind.STATUS, job, notes=True)
        return made

    def get(self, job_id: int):
        """(the notes kept for the job or None, whether they were made from the transcript as it is now)."""
        from app.core.llm import notes

        job = self._store.job(job_id)
        data = self._store.notes(job.cache_key) if job else None
        if data is None:
            return None, False
        kept = notes.Notes.from_dict(data)
        transcript = self._result(job_id)
        return kept, transcript is not None and notes.revision(transcript) == kept.revision

    @staticmethod
    def templates() -> list[tuple[str, str]]:
        """(name, title) of each template, the user's own ("custom") last."""
        from app.core.llm import notes

        return [(t.name, t.title) for t in notes.TEMPLATES.values()] + [(notes.CUSTOM, "Your own instructions")]

    def data(self, job_id: int) -> tuple[dict, bool] | None:
        """(the notes' plain data, whether current), for the exports; None when there are none."""
        kept, current = self.get(job_id)
        return (kept.to_dict(), current) if kept else None
