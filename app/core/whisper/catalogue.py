"""The Whisper models the app offers, each pinned: its repository on the Hugging Face hub,
the revision, and every file's size and sha256, written here (catalogue.json) so that a
download is checked against what we shipped, never against what a server says.

An entry without its files pinned cannot be fetched (it says so). `extra` adds entries
from a JSON file of the same form (a test repository, or an organisation's own mirror).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from app.core.common.errors import UserError

_SHA = re.compile(r"^[0-9a-f]{64}$")
_REVISION = re.compile(r"^[0-9a-f]{40}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class File:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Entry:
    name: str  # what the user picks: "small", "large-v3-turbo"
    repo: str  # "Systran/faster-whisper-small"
    revision: str  # the commit the files are pinned at ("" : not pinned yet)
    files: tuple[File, ...]
    languages: str  # what it is good for, in words
    english_only: bool = False
    built_in: bool = False
    published: str = ""  # speed and accuracy as its authors published them (docs/models.md cites them)

    @property
    def pinned(self) -> bool:
        return bool(self.revision) and bool(self.files)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def load(extra: Path | None = None) -> dict[str, Entry]:
    """The shipped catalogue, then `extra`'s entries (UserError naming what is wrong in it)."""
    shipped = json.loads((resources.files(__package__) / "catalogue.json").read_text(encoding="utf-8"))
    entries = {e.name: e for e in (_entry(d, "catalogue.json") for d in shipped["models"])}
    if extra is not None:
        try:
            added = json.loads(Path(extra).read_text(encoding="utf-8"))["models"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UserError(f"The model catalogue {extra} cannot be read ({type(exc).__name__}).") from None
        entries.update({e.name: e for e in (_entry(d, str(extra)) for d in added)})
    return entries


def _entry(data: dict, source: str) -> Entry:
    """One entry, checked: names that become paths on disk are plain, checksums are sha256."""
    try:
        name, repo = data["name"], data["repo"]
        files = tuple(File(f["name"], int(f["size"]), f["sha256"].lower()) for f in data.get("files") or ())
        revision = data.get("revision") or ""
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UserError(f"{source}: an entry of the model catalogue is incomplete.") from None
    if not _NAME.match(name) or not re.match(r"^[\w.-]+/[\w.-]+$", repo) or (revision and not _REVISION.match(revision)):
        raise UserError(f"{source}: the catalogue entry '{name}' has a bad name, repository or revision.")
    for f in files:
        if not _FILE.match(f.name) or not _SHA.match(f.sha256) or f.size <= 0:
            raise UserError(f"{source}: the catalogue entry '{name}' has a bad file ({f.name}).")
    return Entry(name, repo, revision, files, data.get("languages", ""), bool(data.get("english_only")),
                 bool(data.get("built_in")), data.get("published", ""))
