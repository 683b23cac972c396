"""Which dropped paths are recordings: files by extension, folders by what they hold."""

from __future__ import annotations

from pathlib import Path

AUDIO = {".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wma", ".aif", ".aiff", ".amr", ".caf"}
VIDEO = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".wmv", ".3gp", ".mpg", ".mpeg"}
EXTENSIONS = AUDIO | VIDEO

# The only FFmpeg demuxers that may open a recording, by their full names (what FFmpeg
# calls `format.name`): audio and video containers, whatever a file is called. Never a
# script, playlist or image sequence (concat, hls, dash, image2...): those open the files
# they name, so an upload could be transcribed as another one. Nothing here reads another
# file (mov's external references stay off: FFmpeg's enable_drefs is off by default).
DEMUXERS = frozenset({
    "wav", "w64", "aiff", "au", "caf", "voc", "flac", "wv",  # PCM and lossless audio
    "mp3", "aac", "ogg", "amr", "amrnb", "amrwb",  # compressed audio (mp3: MP2 too; ogg: Opus, Vorbis, FLAC)
    "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "asf",  # MP4/MOV/M4A/3GP, MKV/WebM, WMA/WMV
    "avi", "flv", "mpeg", "mpegts", "dv", "mxf",  # other video: old, screen recorders, camcorders (MTS), cameras
})


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
