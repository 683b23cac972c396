"""What watched folders took and wrote (engine_watch.py), kept in the history.

Mixed into `Store`. A file is claimed by inserting its row: of two watchers (the window's
and the command line's) only the one whose row went in queues it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    id: int
    path: str
    folder: str
    sha256: str
    job_id: int | None
    exports: tuple[str, ...]
    export_to: str
    state: str
    claimed_by: int


_CLAIM = "id, path, folder, sha256, job_id, exports, export_to, state, claimed_by"


def _claim(row) -> Claim:
    return Claim(row[0], row[1], row[2], row[3], row[4], tuple(json.loads(row[5])), row[6], row[7], row[8])


class WatchStore:
    def claim_file(self, path: str, size: int, mtime_ns: int, folder: str, exports, export_to: str,
                   pid: int) -> Claim | None:
        """The new claim, or None when this file as it is now was claimed before (by anyone)."""
        cursor = self._run(
            "INSERT OR IGNORE INTO watched_files (path, size, mtime_ns, folder, exports, export_to, claimed_by,"
            " claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (path, size, mtime_ns, folder, json.dumps(list(exports)), export_to, pid, time.time()))
        if cursor.rowcount != 1:
            return None
        return _claim(self._run(f"SELECT {_CLAIM} FROM watched_files WHERE id = ?", (cursor.lastrowid,)).fetchone())

    def release_claims(self, alive) -> int:
        """Forgets claims whose watcher died before queuing them (`alive(pid)` False): their
        files are taken again. How many."""
        rows = self._run("SELECT id, claimed_by FROM watched_files WHERE state = 'claimed'").fetchall()
        dead = [row[0] for row in rows if not alive(row[1])]
        for claim_id in dead:
            self._run("DELETE FROM watched_files WHERE id = ? AND state = 'claimed'", (claim_id,))
        return len(dead)

    def drop_claim(self, claim_id: int) -> None:
        self._run("DELETE FROM watched_files WHERE id = ? AND state = 'claimed'", (claim_id,))

    def watched_job(self, folder: str, sha256: str) -> int | None:
        """A job still in the history that this folder queued for the same content."""
        row = self._run("SELECT w.job_id FROM watched_files w JOIN jobs j ON j.id = w.job_id WHERE w.folder = ?"
                        " AND w.sha256 = ? AND j.status NOT IN ('failed', 'cancelled') ORDER BY w.id DESC LIMIT 1",
                        (folder, sha256)).fetchone()
        return row[0] if row else None

    def claim_queued(self, claim_id: int, sha256: str, job_id: int | None, note: str = "") -> None:
        self._run("UPDATE watched_files SET sha256 = ?, job_id = ?, state = ?, note = ? WHERE id = ?",
                  (sha256, job_id, "queued" if job_id is not None else "done", note, claim_id))

    def claims_finished(self) -> list[Claim]:
        """Queued claims whose job has finished (or is gone from the history)."""
        rows = self._run(
            f"SELECT {', '.join('w.' + c.strip() for c in _CLAIM.split(','))} FROM watched_files w"
            " LEFT JOIN jobs j ON j.id = w.job_id WHERE w.state = 'queued'"
            " AND (j.id IS NULL OR j.status IN ('completed', 'failed', 'cancelled')) ORDER BY w.id").fetchall()
        return [_claim(r) for r in rows]

    def take_claim(self, claim_id: int) -> bool:
        """Whether this watcher writes the claim's exports (another may have taken them)."""
        return self._run("UPDATE watched_files SET state = 'exporting' WHERE id = ? AND state = 'queued'",
                         (claim_id,)).rowcount == 1

    def claim_done(self, claim_id: int, note: str = "") -> None:
        self._run("UPDATE watched_files SET state = 'done', note = ? WHERE id = ?", (note, claim_id))

    def export_owner(self, path: str) -> tuple[str, str] | None:
        """(recording, sha256) of the automatic export written at `path`, if one was."""
        row = self._run("SELECT recording, sha256 FROM watch_exports WHERE path = ?", (path,)).fetchone()
        return (row[0], row[1]) if row else None

    def export_written(self, path: str, recording: str, sha256: str) -> None:
        self._run("INSERT OR REPLACE INTO watch_exports (path, recording, sha256, written_at) VALUES (?, ?, ?, ?)",
                  (path, recording, sha256, time.time()))
