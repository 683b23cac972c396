"""Notes made of a transcript (llm/notes.py), kept beside it and removed with it. Mixed into `Store`."""

from __future__ import annotations

import json
import time


class NotesStore:
    def save_notes(self, cache_key: str, data: dict) -> None:
        self._run("INSERT OR REPLACE INTO notes (cache_key, data, updated_at) VALUES (?, ?, ?)",
                  (cache_key, json.dumps(data, ensure_ascii=False), time.time()))

    def notes(self, cache_key: str) -> dict | None:
        row = self._run("SELECT data FROM notes WHERE cache_key = ?", (cache_key,)).fetchone()
        return json.loads(row[0]) if row else None
