"""Known voices in the history: speakers' signatures, named voices and their samples, matches.

Mixed into `Store`. A forgotten voice is gone for good: SQLite overwrites what it deletes
(secure_delete, set when the store opens), the search index's copies of its name are
purged, and the write-ahead log is emptied after.
"""

from __future__ import annotations

import time

import numpy as np

from app.core.speakers import signatures as voice_math
from app.core.common.errors import UserError
from app.core.document.text import one_line


class VoiceStore:
    # the speakers' signatures, stored with each result

    def signatures(self, cache_key: str) -> dict[str, np.ndarray]:
        rows = self._run("SELECT speaker_id, signature FROM speaker_voices WHERE cache_key = ?", (cache_key,))
        return {speaker: voice_math.from_bytes(blob) for speaker, blob in rows.fetchall()}

    def _signature_steps(self, cache_key: str, signatures: dict[str, bytes]) -> list:
        steps = [("DELETE FROM speaker_voices WHERE cache_key = ?", (cache_key,))]
        for speaker, blob in (signatures or {}).items():
            try:
                voice_math.from_bytes(blob)
            except (ValueError, TypeError):  # a malformed one (a remote worker's) is left out
                continue
            steps.append(("INSERT INTO speaker_voices (cache_key, speaker_id, signature) VALUES (?, ?, ?)",
                          (cache_key, str(speaker), bytes(blob))))
        return steps

    # named voices

    def known_voices(self) -> list[tuple[int, str, list[np.ndarray]]]:
        """Every known voice with its samples: (id, name, signatures)."""
        found: dict[int, tuple[int, str, list]] = {}
        for vid, name in self._run("SELECT id, name FROM voices ORDER BY name COLLATE NOCASE").fetchall():
            found[vid] = (vid, name, [])
        for vid, blob in self._run("SELECT voice_id, signature FROM voice_samples ORDER BY id").fetchall():
            if vid in found:
                found[vid][2].append(voice_math.from_bytes(blob))
        return list(found.values())

    def voice_list(self) -> list[dict]:
        """For showing: each voice with its samples and where each came from."""
        out = []
        for vid, name, created in self._run("SELECT id, name, created_at FROM voices ORDER BY name COLLATE NOCASE").fetchall():
            samples = [
                {"id": sid, "source": source, "speaker_id": speaker, "added_at": added}
                for sid, source, speaker, added in self._run(
                    "SELECT id, source, speaker_id, added_at FROM voice_samples WHERE voice_id = ? ORDER BY id", (vid,)
                ).fetchall()
            ]
            out.append({"id": vid, "name": name, "created_at": created, "samples": samples})
        return out

    def remember_voice(self, name: str, cache_key: str, speaker_id: str, source: str = "") -> int:
        """Adds the speaker's signature to the voice called `name` (made if new); its id."""
        name = one_line(name)
        if not name:
            raise UserError("A voice needs a name.")
        row = self._run("SELECT signature FROM speaker_voices WHERE cache_key = ? AND speaker_id = ?",
                        (cache_key, speaker_id)).fetchone()
        if row is None:
            raise UserError(f"{speaker_id} has no voice signature in this transcript (it was made before voices "
                            "were kept, or the speaker says too little); transcribe it again to remember it.")
        now = time.time()
        self._transaction([
            ("INSERT OR IGNORE INTO voices (name, created_at) VALUES (?, ?)", (name, now)),
            ("INSERT INTO voice_samples (voice_id, signature, cache_key, speaker_id, source, added_at) "
             "VALUES ((SELECT id FROM voices WHERE name = ?), ?, ?, ?, ?, ?)",
             (name, row[0], cache_key, speaker_id, one_line(source, 500), now)),
            # the user said who this is: that is this speaker's match here
            ("DELETE FROM voice_matches WHERE cache_key = ? AND speaker_id = ?", (cache_key, speaker_id)),
            ("INSERT INTO voice_matches (cache_key, speaker_id, voice_id, similarity) "
             "VALUES (?, ?, (SELECT id FROM voices WHERE name = ?), 1.0)", (cache_key, speaker_id, name)),
        ])
        self.reindex(*self._keys_named_by(name))
        return self._run("SELECT id FROM voices WHERE name = ?", (name,)).fetchone()[0]

    def rename_voice(self, old: str, new: str) -> None:
        new = one_line(new)
        if not new:
            raise UserError("A voice needs a name.")
        if self._run("SELECT 1 FROM voices WHERE name = ?", (new,)).fetchone() and new != old:
            raise UserError(f"There is already a voice called {new}.")
        if self._run("UPDATE voices SET name = ? WHERE name = ?", (new, old)).rowcount == 0:
            raise UserError(f"No known voice is called {old}.")
        self.reindex(*self._keys_named_by(new))

    def forget_voice(self, name: str) -> None:
        """The voice, its samples and its matches, gone from the file."""
        row = self._run("SELECT id FROM voices WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise UserError(f"No known voice is called {name}.")
        named = self._keys_named_by(name)
        self._transaction([
            ("DELETE FROM voice_samples WHERE voice_id = ?", (row[0],)),
            ("DELETE FROM voice_matches WHERE voice_id = ?", (row[0],)),
            ("DELETE FROM voices WHERE id = ?", (row[0],)),
        ])
        self.reindex(*named)
        self._purge_index()  # the name, in the search rows it was shown in
        self._empty_log()

    def remove_sample(self, sample_id: int) -> None:
        self._run("DELETE FROM voice_samples WHERE id = ?", (sample_id,))
        self._empty_log()

    def _empty_log(self) -> None:
        """Deleted pages were overwritten in the database; their older copies in the
        write-ahead log go too (when no other reader holds it open). The log is truncated
        to nothing, not just reset: its frames would stay readable until overwritten."""
        self._run("PRAGMA wal_checkpoint(TRUNCATE)")

    # matches: which known voice named which speaker

    def apply_voices(self, cache_key: str, threshold: float = voice_math.THRESHOLD) -> list[voice_math.Match]:
        """Matches this result's speakers against the known voices now; a match the user
        rejected stays rejected, and a speaker the user named keeps that name (see result)."""
        speakers = self.signatures(cache_key)
        rejected = set(self._run("SELECT speaker_id, voice_id FROM voice_matches WHERE cache_key = ? AND rejected = 1",
                                 (cache_key,)).fetchall())
        known = self.known_voices()
        found = [m for m in voice_math.match(speakers, known, threshold) if (m.speaker_id, m.voice_id) not in rejected]
        before = set(self._run("SELECT speaker_id, voice_id FROM voice_matches WHERE cache_key = ? AND rejected = 0",
                               (cache_key,)).fetchall())
        self._transaction(
            [("DELETE FROM voice_matches WHERE cache_key = ? AND rejected = 0", (cache_key,))]
            + [("INSERT OR REPLACE INTO voice_matches (cache_key, speaker_id, voice_id, similarity) VALUES (?, ?, ?, ?)",
                (cache_key, m.speaker_id, m.voice_id, m.similarity)) for m in found]
        )
        if before != {(m.speaker_id, m.voice_id) for m in found}:  # the names shown changed
            self.reindex(cache_key)
        return found

    def apply_voices_everywhere(self, threshold: float = voice_math.THRESHOLD) -> int:
        """Known voices applied to every stored result; how many speakers they name."""
        keys = [k for (k,) in self._run("SELECT DISTINCT cache_key FROM speaker_voices").fetchall()]
        return sum(len(self.apply_voices(key, threshold)) for key in keys)

    def voice_matches(self, cache_key: str) -> dict[str, dict]:
        """{speaker id: {"name", "similarity"}} for the matches not rejected."""
        rows = self._run(
            "SELECT m.speaker_id, v.name, m.similarity FROM voice_matches m JOIN voices v ON v.id = m.voice_id "
            "WHERE m.cache_key = ? AND m.rejected = 0", (cache_key,))
        return {speaker: {"name": name, "similarity": round(similarity, 3)} for speaker, name, similarity in rows}

    def reject_voice_match(self, cache_key: str, speaker_id: str) -> None:
        self._run("UPDATE voice_matches SET rejected = 1 WHERE cache_key = ? AND speaker_id = ?", (cache_key, speaker_id))
        self.reindex(cache_key)

    def _keys_named_by(self, name: str) -> list[str]:
        """The transcripts in which the voice `name` names a speaker."""
        rows = self._run("SELECT DISTINCT m.cache_key FROM voice_matches m JOIN voices v ON v.id = m.voice_id "
                         "WHERE v.name = ?", (name,))
        return [key for (key,) in rows.fetchall()]
