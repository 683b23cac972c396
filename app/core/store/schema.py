"""Schema upgrades: a new database gets schema.sql whole; an older one, the numbered files it lacks.

The schema version is SQLite's `user_version`: the number of the last migration applied.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources

_MIGRATION = re.compile(r"^(\d{4})_[\w]+\.sql$")


def migrations() -> list[tuple[int, str]]:
    folder = resources.files(__package__) / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    return sorted(found)


def latest_version() -> int:
    return migrations()[-1][0]


def migrate(db: sqlite3.Connection, target: int | None = None) -> int:
    """Brings the database to `target` (the latest by default); returns the version reached."""
    available = migrations()
    latest = available[-1][0]
    target = latest if target is None else target
    # The version is read under the write lock: two processes opening a new history at the
    # same moment must not both create its tables (the second saw "table jobs already exists").
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > latest:
            raise sqlite3.DatabaseError(
                f"it was written by a newer Diarization Studio (schema {version}, this one knows {latest})"
            )
        if version < target:
            fresh = version == 0 and target == latest and not _has_tables(db)
            steps = [(target, (resources.files(__package__) / "schema.sql").read_text(encoding="utf-8"))] if fresh else [
                (number, sql) for number, sql in available if version < number <= target
            ]
            for number, sql in steps:
                for statement in _statements(sql):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")
            version = target
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return version


def _statements(sql: str) -> list[str]:
    """A script's statements, one by one (executescript would commit the open transaction)."""
    found, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                found.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(part.strip().startswith("--") for part in buffer.strip().splitlines()):
        found.append(buffer.strip())
    return found


def _has_tables(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] > 0
