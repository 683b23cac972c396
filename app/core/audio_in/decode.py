"""Any audio or video file to 16 kHz mono float32 samples, through PyAV (no ffmpeg binary).

Only FFmpeg's audio and video demuxers (media.DEMUXERS) may open a file: never a script,
playlist or image sequence, which would read the files it names (see `_open`)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.audio_in import media
from app.core.common.errors import AudioError

SAMPLE_RATE = 16000
# A damaged stream is still worth transcribing, up to a point.
_MAX_BAD_PACKETS = 200
# What a real recording can be. Outside these a header lies (a "1 Hz" WAV of 4 KB would
# decode to 2,000 s of 16 kHz samples; 1 MB of it, to 32 GB).
MIN_RATE, MAX_RATE = 2000, 768_000
MAX_CHANNELS = 64
DEFAULT_MAX_SECONDS = 12 * 3600.0  # the default; a preference (max_hours)


MAX_SPLIT = 8  # channels that may each be heard on their own (channels.py)


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    warnings: tuple[str, ...] = ()
    # each channel on its own (float32, SAMPLE_RATE), when asked for and there are 2 to MAX_SPLIT
    channels: tuple[np.ndarray, ...] = ()
    channel_count: int = 1  # the file's

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
    from app.core.common.errors import Cancelled

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            if cancel():
                raise Cancelled()
            digest.update(chunk)
    return digest.hexdigest()


def probe(path: Path, max_seconds: float = DEFAULT_MAX_SECONDS) -> None:
    """What `decode` checks before decoding (an audio or video container, an audio track, a
    sane header, not too long), without decoding: an upload that is not audio is refused at once."""
    path = Path(path)
    with _open(path) as container:
        _check_header(container, container.streams.audio[0], path, max_seconds)


def decode(path: Path, max_seconds: float = DEFAULT_MAX_SECONDS, keep_channels: bool | str = False) -> Audio:
    """Decode the first audio stream, mixing every channel down to mono (and, with
    `keep_channels`, each channel on its own as well: True or "split" keeps 2 to MAX_SPLIT,
    "auto" only two, since more are mixed unless split is asked for).

    Bounded: absurd sample rates and channel counts are refused from the header, a
    recording longer than `max_seconds` before decoding (when the header says) and while
    decoding (when it does not), and the samples go into one array sized from the start."""
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.audio[0]
        expected = _check_header(container, stream, path, max_seconds)
        stream.thread_type = "AUTO"
        out = _Samples(path, expected, max_seconds)
        count = _channel_count(stream)
        wanted = count == 2 if keep_channels == "auto" else bool(keep_channels) and 2 <= count <= MAX_SPLIT
        each = [_Samples(path, expected, max_seconds) for _ in range(count)] if wanted else []
        bad_packets = _decode_stream(container, stream, path, out, each)
    samples = out.array()
    if samples.size == 0:
        if bad_packets:
            raise AudioError(f"{path}: the audio is damaged; no part of it could be decoded.")
        raise AudioError(f"{path}: the audio track is empty (zero length).")
    np.clip(samples, -1.0, 1.0, out=samples)
    warnings = []
    if bad_packets:
        warnings.append(f"{path.name}: {bad_packets} damaged part(s) of the audio were skipped.")
    if out.not_finite:
        warnings.append(f"{path.name}: {out.not_finite} sample(s) were not numbers (NaN or infinite) and were "
                        "silenced; the file may be damaged.")
    kept = tuple(_fitted(c.array(), samples.size) for c in each) if each and all(c.size for c in each) else ()
    return Audio(samples=samples, warnings=tuple(warnings), channels=kept, channel_count=count)


@contextlib.contextmanager
def opened(path: Path, max_seconds: float = DEFAULT_MAX_SECONDS):
    """(container, first audio stream) of the recording, opened and checked as `decode` opens
    it (`_open`: only audio and video demuxers), to read its samples as they are."""
    with _open(Path(path)) as container:
        _check_header(container, container.streams.audio[0], Path(path), max_seconds)
        yield container, container.streams.audio[0]


def frames(container, stream, path: Path, skipped: list[int] | None = None):
    """The stream's decoded frames: a damaged packet is left out (too many: AudioError), and a
    stream cut short mid-packet ends them (nothing decoded at all: AudioError). Counting
    their samples from the first gives a transcript's times. `skipped` ([0]) counts what
    was passed over, the cut counting one."""
    import av

    bad = skipped if skipped is not None else [0]
    any_frame = False
    try:
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.error.FFmpegError:
                bad[0] += 1
                if bad[0] > _MAX_BAD_PACKETS:
                    raise AudioError(f"{path}: the audio is too damaged to decode.") from None
                continue
            for frame in decoded:
                any_frame = True
                yield frame
    except av.error.FFmpegError as exc:
        if not any_frame:
            raise AudioError(f"{path}: the audio could not be decoded ({_reason(exc)}).") from exc
        bad[0] += 1


def _fitted(channel: np.ndarray, size: int) -> np.ndarray:
    """A channel as long as the mono mix (the two resamplers may end a few samples apart)."""
    out = np.zeros(size, dtype=np.float32)
    out[: min(size, channel.size)] = channel[:size]
    return np.clip(out, -1.0, 1.0, out=out)


def _channel_count(stream) -> int:
    context = stream.codec_context
    return getattr(context, "channels", 0) or getattr(getattr(context, "layout", None), "nb_channels", 0) or 1


@contextlib.contextmanager
def _open(path: Path):
    """The recording, opened by one of the audio and video demuxers (`media.DEMUXERS`) and
    holding an audio track; anything else is an AudioError naming the file.

    FFmpeg reads the file through Python (`_Input`), so its name is never taken for an FFmpeg
    URL ("concat:a|b", "subfile,,...:x", "file:x", "frame%d.jpg" open as the files so named),
    and its options refuse, before any demuxer reads its header, a container that is not on
    the list: a concat script or a playlist never opens the files it names. The name FFmpeg
    finds is checked again after opening, before any packet is read."""
    import av  # PyAV ships FFmpeg's libraries; imported here to keep start-up cheap

    check_readable(path)
    try:
        source = _Input(path)
    except OSError as exc:
        raise AudioError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    try:
        try:
            container = av.open(source, container_options=_container_options(), metadata_errors="ignore")
        except av.error.FFmpegError as exc:
            kind = _kind(_head(path))
            if kind:
                raise AudioError(_not_media(path, kind)) from exc
            # EINVAL is FFmpeg's answer for a container not on the list (and for little else)
            reason = "not an audio or video format this app opens" if exc.errno == errno.EINVAL else _reason(exc)
            raise AudioError(f"{path}: cannot be read as audio or video; it is damaged, incomplete or not a media "
                             f"file ({reason}).") from exc
        with container:
            demuxer = container.format.name
            if demuxer not in media.DEMUXERS:
                raise AudioError(_not_media(path, _kind(_head(path), demuxer)))
            if not container.streams.audio:
                kind = "a video without an audio track" if container.streams.video else "no audio track"
                raise AudioError(f"{path}: contains {kind}; there is nothing to transcribe.")
            yield container
    except OSError as exc:  # the disk or share failed mid-read (FFmpeg's own errors are not these)
        if isinstance(exc, av.error.FFmpegError):
            raise
        raise AudioError(f"{path}: could not be read ({exc.strerror or exc}).") from exc
    finally:
        source.close()


class _Input:
    """A recording as FFmpeg reads it: a file object (FFmpeg never parses its path) named
    for FFmpeg only by its suffix when that is a recording's (".mp3"), which FFmpeg's probe
    weighs for files without a clear signature; never by a name a demuxer could act on."""

    def __init__(self, path: Path):
        self._file = open(path, "rb")
        suffix = path.suffix.lower()
        self.name = "recording" + (suffix if suffix in media.EXTENSIONS else "")
        self.read, self.tell = self._file.read, self._file.tell

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        # A seek FFmpeg's own file reader would answer with an error code (before the start,
        # say) gets one here too: PyAV would hold a Python exception for a later call.
        try:
            return self._file.seek(offset, whence)
        except (OSError, ValueError) as exc:
            return -(getattr(exc, "errno", None) or errno.EINVAL)

    def close(self) -> None:
        self._file.close()


def _container_options() -> dict[str, str]:
    # format_whitelist: checked by FFmpeg after probing and before the demuxer reads its
    # header, and passed on to any file a demuxer opens. protocol_whitelist: no protocol at
    # all (no FFmpeg protocol is named "none") for a file a container names; the recording
    # itself comes through Python and needs none.
    return {"format_whitelist": ",".join(sorted(media.DEMUXERS)), "protocol_whitelist": "none"}


def _not_media(path: Path, kind: str) -> str:
    return f"{path}: is not an audio or video file (it is {kind}); only recordings can be transcribed."


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*", b"BM",
           b"\xff\x0a", b"\x00\x00\x00\x0cJXL ", b"\x00\x00\x01\x00", b"8BPS", b"DDS ", b"qoif")
_DEMUXER_KINDS = {"concat": "an FFmpeg concat script", "hls": "a playlist", "dash": "a playlist",
                  "webm_dash_manifest": "a playlist", "ffmetadata": "an FFmpeg metadata file",
                  "sdp": "a network stream description (SDP)", "image2": "an image"}


def _kind(head: bytes, demuxer: str | None = None) -> str | None:
    """What a file FFmpeg may not open as a recording is, from its first bytes (or from the
    demuxer FFmpeg chose), for the message; None when it is not one of these."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = text[:1024].lower()
    if text.startswith(b"ffconcat version"):
        return "an FFmpeg concat script"
    if (text.startswith((b"#EXTM3U", b"[playlist]")) or b"<mpd" in lowered
            or (lowered.startswith(b"<?xml") and b"<playlist" in lowered)):
        return "a playlist"
    if text.startswith(_IMAGES) or (text[:4] == b"RIFF" and text[8:12] == b"WEBP") or b"<svg" in lowered:
        return "an image"
    if text.startswith(b";FFMETADATA"):
        return "an FFmpeg metadata file"
    if text.startswith(b"v=0") and b"\nm=" in text:
        return "a network stream description (SDP)"
    if text.startswith(b"%PDF-"):
        return "a PDF document"
    if demuxer:
        if demuxer in _DEMUXER_KINDS:
            return _DEMUXER_KINDS[demuxer]
        if demuxer.endswith("_pipe"):
            return "an image"
        return f"a kind of file FFmpeg calls “{demuxer}”"
    return None


def _check_header(container, stream, path: Path, max_seconds: float) -> float | None:
    """Refuses what no real recording is; returns the length the header claims (s), if any."""
    context = stream.codec_context
    if context is None:  # PyAV has no decoder for the codec the header names
        raise AudioError(f"{path}: its audio is in a form no decoder here reads; the file is damaged or not what "
                         "it says.")
    rate = context.sample_rate or stream.sample_rate or 0
    channels = getattr(context, "channels", 0) or getattr(getattr(context, "layout", None), "nb_channels", 0)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{path}: its audio claims a sample rate of {rate} Hz, which no recording has "
                         f"({MIN_RATE:,} to {MAX_RATE:,} Hz); the file is damaged or not what it says.")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{path}: its audio claims {channels} channels (1 to {MAX_CHANNELS} can be used); "
                         "the file is damaged or not what it says.")
    seconds = None
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        seconds = container.duration / 1_000_000
    if seconds is not None and seconds > max_seconds:
        raise AudioError(_too_long(path, max_seconds))
    return seconds


def _too_long(path: Path, max_seconds: float) -> str:
    return (f"{path}: the recording is longer than {max_seconds / 3600:g} hours, the limit set in Preferences; "
            "split it, or raise the limit.")


class _Samples:
    """Decoded samples in one float32 array, allocated from the header's length (grown by
    halves when a header under-states it) and never past the length limit."""

    def __init__(self, path: Path, expected_seconds: float | None, max_seconds: float):
        self.path, self.limit = path, int(max_seconds * SAMPLE_RATE)
        guess = int(((expected_seconds or 60.0) + 1.0) * SAMPLE_RATE)
        self.buffer = np.empty(min(max(guess, SAMPLE_RATE), self.limit), dtype=np.float32)
        self.size = 0
        self.not_finite = 0

    def add(self, piece: np.ndarray) -> None:
        end = self.size + len(piece)
        if end > self.limit:
            raise AudioError(_too_long(self.path, self.limit / SAMPLE_RATE))
        if end > len(self.buffer):
            grown = np.empty(min(max(end, len(self.buffer) * 3 // 2), self.limit), dtype=np.float32)
            grown[: self.size] = self.buffer[: self.size]
            self.buffer = grown
        target = self.buffer[self.size : end]
        target[:] = piece
        finite = np.isfinite(target)
        if not finite.all():
            self.not_finite += int(target.size - np.count_nonzero(finite))
            target[~finite] = 0.0
        self.size = end

    def array(self) -> np.ndarray:
        if self.size == len(self.buffer):
            return self.buffer
        return self.buffer[: self.size].copy() if self.size < len(self.buffer) * 0.9 else self.buffer[: self.size]


def _decode_stream(container, stream, path: Path, out: "_Samples", each: list | None = None) -> int:
    """Decodes into `out` (and each channel into `each`, when given); returns how many
    damaged packets were skipped."""
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    apart = _Apart(each) if each else None
    skipped = [0]
    for frame in frames(container, stream, path, skipped):
        frame.pts = None  # let the resampler follow sample counts, not broken timestamps
        if apart:
            apart.add(frame)  # first: the mono resampler below takes the frame's samples
        for resampled in resampler.resample(frame):
            out.add(resampled.to_ndarray().reshape(-1))
    for resampled in resampler.resample(None):
        out.add(resampled.to_ndarray().reshape(-1))
    if apart:
        apart.add(None)
    return skipped[0]


class _Apart:
    """Each channel resampled on its own (planar), in the frame's own layout, so nothing is remixed."""

    def __init__(self, each: list):
        self.each, self.resampler = each, None

    def add(self, frame) -> None:
        import av

        if self.resampler is None:
            if frame is None:
                return
            layout = frame.layout.name if frame.layout.nb_channels == len(self.each) else f"{len(self.each)}c"
            self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
        for resampled in self.resampler.resample(frame):
            planes = resampled.to_ndarray()
            for target, plane in zip(self.each, planes):
                target.add(plane)


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() or type(exc).__name__
