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
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > latest:
        raise sqlite3.DatabaseError(
            f"it was written by a newer Diarization Studio (schema {version}, this one knows {latest})"
        )
    if version >= target:
        return version
    fresh = version == 0 and target == latest and not _has_tables(db)
    steps = [(target, (resources.files(__package__) / "schema.sql").read_text(encoding="utf-8"))] if fresh else [
        (number, sql) for number, sql in available if version < number <= target
    ]
    for number, sql in steps:
        try:
            db.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
        except sqlite3.Error:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    return target


def _has_tables(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] > 0
