"""Search across every stored transcript (SQLite FTS5), kept in step by the store.

Mixed into `Store`. Each segment is a row: its text and its speaker's shown name (a typed
name, a known voice's, else "Speaker N"), accents and case ignored ("dia" finds "día"),
every word of a query a prefix. A transcript's rows are replaced whenever what it shows
changes (a result stored, a speaker renamed, a known voice applied or forgotten) and
removed with it; a removed transcript's or forgotten voice's words are purged from the
file (`_purge_index`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SNIPPET_WORDS = 12
MARK = ("[", "]")


@dataclass(frozen=True)
class Hit:
    cache_key: str
    segment: int  # index in the transcript's segments
    start: float
    speaker: str  # id
    name: str  # as shown
    snippet: str  # the text around the match, matches [marked]


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query on the name and text columns: all of them, each
    a prefix; '' when there is no word to look for."""
    words = re.findall(r"\w+", text)
    if not words:
        return ""
    return "{name text} : (" + " ".join(f'"{w}"*' for w in words) + ")"


def _key_query(cache_key: str) -> str:
    return 'cache_key : "' + cache_key.replace('"', '""') + '"'


class SearchStore:
    def _index_steps(self, cache_key: str, transcript) -> list:
        """Replaces the transcript's rows (`transcript` as shown, names applied; None: gone)
        and moves its shown revision on."""
        steps = [("DELETE FROM transcript_search WHERE transcript_search MATCH ?", (_key_query(cache_key),))]
        if transcript is None:
            return steps + [("DELETE FROM shown_revisions WHERE cache_key = ?", (cache_key,))]
        steps.append(("INSERT INTO shown_revisions (cache_key, revision) VALUES (?, 1) "
                      "ON CONFLICT (cache_key) DO UPDATE SET revision = revision + 1", (cache_key,)))
        names = transcript.speaker_names()
        for index, seg in enumerate(transcript.segments):
            steps.append((
                "INSERT INTO transcript_search (name, text, cache_key, segment, start, speaker) VALUES (?, ?, ?, ?, ?, ?)",
                (names.get(seg.speaker, seg.speaker), seg.text, cache_key, index, seg.start, seg.speaker),
            ))
        return steps

    def _purge_index(self) -> None:
        """FTS5 keeps a deleted row's words in the index's older segments (under delete
        markers) until those are merged: after a transcript or a voice is forgotten, they
        are merged now, so its words leave the file. SQLite 3.40 has no per-row way (FTS5's
        secure-delete option came in 3.44): 'optimize' merges the whole index, which is
        quick (evidence: docs/performance.md#evidence-behind-the-code)."""
        self._run("INSERT INTO transcript_search (transcript_search) VALUES ('optimize')")

    def shown_revision(self, cache_key: str) -> int:
        """A number that changes whenever what the transcript shows changes (0: none stored)."""
        row = self._run("SELECT revision FROM shown_revisions WHERE cache_key = ?", (cache_key,)).fetchone()
        return row[0] if row else 0

    def reindex(self, *cache_keys: str) -> None:
        for key in dict.fromkeys(cache_keys):
            self._transaction(self._index_steps(key, self.result(key)))

    def search(self, text: str, limit: int = 200) -> list[Hit]:
        """The segments that say every word of `text` (or whose speaker is so named), the
        latest transcripts first (ranking every match of a common word took longer than a
        search may take; evidence: docs/performance.md#evidence-behind-the-code)."""
        query = fts_query(text)
        if not query:
            return []
        rows = self._run(
            "SELECT rowid, cache_key, segment, start, speaker, name, snippet(transcript_search, 1, ?, ?, '…', ?) "
            "FROM transcript_search WHERE transcript_search MATCH ? ORDER BY rowid DESC LIMIT ?",
            (*MARK, SNIPPET_WORDS, query, limit),
        ).fetchall()
        newest: dict[str, int] = {}
        for rowid, key, *_ in rows:
            newest.setdefault(key, rowid)
        rows.sort(key=lambda r: (-newest[r[1]], r[2]))  # a transcript's hits in the order they were said
        return [Hit(key, int(seg), float(start), speaker, name, snippet) for _, key, seg, start, speaker, name, snippet in rows]
