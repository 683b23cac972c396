"""Which dropped paths are recordings: files by extension, folders by what they hold."""

from __future__ import annotations

from pathlib import Path

AUDIO = {".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wma", ".aif", ".aiff", ".amr", ".caf"}
VIDEO = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".wmv", ".3gp", ".mpg", ".mpeg"}
EXTENSIONS = AUDIO | VIDEO


def is_media(path: Path) -> bool:
    return path.suffix.lower() in EXTENSIONS and not path.name.startswith(".")


def collect(paths) -> tuple[list[Path], list[Path]]:
    """(recordings to add, paths refused). A folder adds the recordings inside it, sorted."""
    accepted, refused = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_media(p)
                           and not any(part.startswith(".") for part in p.relative_to(path).parts))
            (accepted.extend(found) if found else refused.append(path))
        elif is_media(path):
            accepted.append(path)
        else:
            refused.append(path)
    return accepted, refused
