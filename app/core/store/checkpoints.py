"""What a job has done so far (whisper's chunks, the diarizer's result and its parts), kept
so that a job interrupted by a crash or a quit resumes where it was. Mixed into `Store`."""

from __future__ import annotations

import json
import time


class CheckpointStore:
    def checkpoints(self, cache_key: str) -> dict[int, list]:
        """{chunk index: [chunk dict, whisper segments]}: the caller keeps only those whose
        start and end match its own plan."""
        rows = self._run("SELECT chunk_index, chunk_start, chunk_end, result FROM checkpoints WHERE cache_key = ?",
                         (cache_key,))
        return {index: [{"index": index, "start": start, "end": end}, json.loads(result)]
                for index, start, end, result in rows.fetchall()}

    def checkpoint_rows(self, cache_key: str) -> list[tuple[int, float]]:
        rows = self._run("SELECT chunk_index, created_at FROM checkpoints WHERE cache_key = ? ORDER BY chunk_index",
                         (cache_key,))
        return rows.fetchall()

    def save_checkpoint(self, cache_key: str, chunk: dict, result: list) -> None:
        self._run(
            "INSERT OR REPLACE INTO checkpoints (cache_key, chunk_index, chunk_start, chunk_end, result, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (cache_key, chunk["index"], chunk["start"], chunk["end"], json.dumps(result, ensure_ascii=False), time.time()),
        )

    def clear_checkpoints(self, cache_key: str) -> None:
        self._transaction([(f"DELETE FROM {table} WHERE cache_key = ?", (cache_key,))
                           for table in ("checkpoints", "diarization_checkpoints", "job_parts")])

    def diarization(self, cache_key: str):
        row = self._run("SELECT result FROM diarization_checkpoints WHERE cache_key = ?", (cache_key,)).fetchone()
        return json.loads(row[0]) if row else None

    def parts(self, cache_key: str) -> dict[int, bytes]:
        """Pieces of a job's work in progress (see pipeline.Hooks.parts)."""
        rows = self._run("SELECT part, data FROM job_parts WHERE cache_key = ?", (cache_key,))
        return {part: bytes(data) for part, data in rows.fetchall()}

    def save_part(self, cache_key: str, part: int, data: bytes) -> None:
        self._run("INSERT OR REPLACE INTO job_parts (cache_key, part, data) VALUES (?, ?, ?)", (cache_key, part, data))

    def save_diarization(self, cache_key: str, result) -> None:
        self._run("INSERT OR REPLACE INTO diarization_checkpoints (cache_key, result, created_at) VALUES (?, ?, ?)",
                  (cache_key, json.dumps(result), time.time()))
