"""Any audio or video file to 16 kHz mono float32 samples, through PyAV (no ffmpeg binary)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import AudioError

SAMPLE_RATE = 16000
# A damaged stream is still worth transcribing, up to a point.
_MAX_BAD_PACKETS = 200


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    warnings: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def check_readable(path: Path) -> None:
    """Fail early, with the reason a person can act on, for paths that are not files."""
    if not path.exists():
        raise AudioError(f"{path}: file not found.")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file.")
    if not os.access(path, os.R_OK):
        raise AudioError(f"{path}: cannot be read (permission denied).")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes).")


def file_sha256(path: Path, block: int = 1 << 20, cancel=lambda: False) -> str:
    """The content's hash, read a block at a time; `cancel()` true stops it (Cancelled)."""
    from .errors import Cancelled

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            if cancel():
                raise Cancelled()
            digest.update(chunk)
    return digest.hexdigest()


def decode(path: Path) -> Audio:
    """Decode the first audio stream, mixing every channel down to mono."""
    import av  # PyAV ships FFmpeg's libraries; imported here to keep start-up cheap

    path = Path(path)
    check_readable(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise AudioError(
            f"{path}: cannot be read as audio or video; it is damaged, incomplete or not a media file ({_reason(exc)})."
        ) from exc
    with container:
        if not container.streams.audio:
            kind = "a video without an audio track" if container.streams.video else "no audio track"
            raise AudioError(f"{path}: contains {kind}; there is nothing to transcribe.")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        pieces, bad_packets = _decode_stream(container, stream, path)
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    if samples.size == 0:
        if bad_packets:
            raise AudioError(f"{path}: the audio is damaged; no part of it could be decoded.")
        raise AudioError(f"{path}: the audio track is empty (zero length).")
    np.clip(samples, -1.0, 1.0, out=samples)
    warnings = ()
    if bad_packets:
        warnings = (f"{path.name}: {bad_packets} damaged part(s) of the audio were skipped.",)
    return Audio(samples=samples, warnings=warnings)


def _decode_stream(container, stream, path: Path) -> tuple[list[np.ndarray], int]:
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    pieces: list[np.ndarray] = []
    bad_packets = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                bad_packets += 1
                if bad_packets > _MAX_BAD_PACKETS:
                    raise AudioError(f"{path}: the audio is too damaged to decode.") from None
                continue
            for frame in frames:
                frame.pts = None  # let the resampler follow sample counts, not broken timestamps
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1).copy())
        for out in resampler.resample(None):
            pieces.append(out.to_ndarray().reshape(-1).copy())
    except av.error.FFmpegError as exc:
        # A stream cut short mid-packet ends decoding; what came before is kept.
        if not pieces:
            raise AudioError(f"{path}: the audio could not be decoded ({_reason(exc)}).") from exc
        bad_packets += 1
    return pieces, bad_packets


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() or type(exc).__name__
