"""Parts of a recording, by time, to a WAV or FLAC file: a speaker's turns, or a selection.

The samples come from the original file at its own sample rate and channels, a frame at a
time (a two-hour recording is never held in memory). Where two people talk at once, both
are heard in either one's audio: a recording holds one mix, and the overlap is copied as it
is. Times are the transcript's, seconds from the first decoded sample (as `decode` counts).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from app.core.common.errors import Cancelled, UserError
from app.core.document.transcript import Transcript
from app.core.document.turns import turns

MODES = ("joined", "whole")  # the spans one after another; or the recording's length, the rest silenced
GAP_SEC = 0.5  # of silence between two spans joined
SUFFIXES = (".wav", ".flac")
_BLOCK = 65536  # samples of silence made at a time


@dataclass(frozen=True)
class Written:
    path: Path
    seconds: float  # the file's length
    spans: int  # the stretches of the recording it holds
    rate: int
    channels: int


def spans_of(transcript: Transcript, speaker: str | None = None,
             segments: list[int] | tuple[int, ...] | None = None) -> list[tuple[float, float]]:
    """The stretches of the recording to keep, in seconds, in time order, those that overlap
    or touch merged: `speaker`'s turns (`turns.turns`: from a turn's first word to its last,
    pauses inside it included), or the segments numbered in `segments`. The transcript
    decides, corrections and all: a word moved to another speaker goes with its segment."""
    if (speaker is None) == (segments is None):
        raise ValueError("spans_of takes a speaker or segments")
    if speaker is not None:
        spans = [(t.start, t.end) for t in turns(transcript) if t.speaker == speaker]
        if not any(end > start for start, end in spans):
            name = transcript.speaker_names().get(speaker, speaker)
            raise UserError(f"{name if name == speaker else f'{name} ({speaker})'} says nothing in this transcript.")
    else:
        if not segments:
            raise UserError("Select some of the transcript first.")
        if not all(0 <= i < len(transcript.segments) for i in segments):
            raise UserError("Choose segments of this transcript.")
        spans = [(transcript.segments[i].start, transcript.segments[i].end) for i in segments]
        if not any(end > start for start, end in spans):
            raise UserError("The selection has no length: nothing is said in it.")
    return _merged(spans)


def check_target(source_path: Path, out_path: Path) -> str:
    """The kind of file to write ("wav" or "flac", by the suffix); UserError for any other
    suffix or for the recording itself."""
    kind = Path(out_path).suffix.lower()
    if kind not in SUFFIXES:
        raise UserError(f"{Path(out_path).name}: audio is saved as .wav or .flac; give the file one of those names.")
    if _same_file(source_path, out_path):
        raise UserError(f"Nothing was saved: {Path(out_path).name} is the recording itself. Choose another name.")
    return kind[1:]


def write(source_path: Path, spans: list[tuple[float, float]], out_path: Path, mode: str = "joined",
          gap: float = GAP_SEC, cancel: Callable[[], bool] | None = None,
          progress: Callable[[float], None] | None = None) -> Written:
    """The recording's samples inside `spans` (seconds; each edge at round(t * rate)) written
    to `out_path`, WAV or FLAC by its suffix, whole or not at all. `mode` "joined": the spans
    in order, `gap` seconds of silence between two; "whole": as long as the recording, zeros
    outside the spans, for mixing again. The samples keep their rate, channels and, in a WAV,
    their format (16-bit stays 16-bit, bit for bit; 32-bit and float stay so); a FLAC is
    16-bit, or 24-bit from a source of more than 16 bits. `cancel()` true: Cancelled, and
    nothing is left behind; `progress(fraction)` as the recording is read."""
    from app.core.audio_in import decode

    source_path, out_path = Path(source_path), Path(out_path)
    kind = check_target(source_path, out_path)
    if mode not in MODES:
        raise UserError(f"Audio is saved {' or '.join(MODES)}, not {mode!r}.")
    cancel = cancel or (lambda: False)
    with decode.opened(source_path) as (container, stream):
        stream.thread_type = "AUTO"
        expected = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        goal = max((e for _, e in spans), default=None) if mode == "joined" else expected  # joined: read no further
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=".ds-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w+b") as handle:
                copy = _Copy(handle, kind, spans, mode, gap)
                try:
                    for frame in decode.frames(container, stream, source_path):
                        if cancel():
                            raise Cancelled()
                        if not copy.add(frame):
                            break
                        if progress and goal:
                            progress(min(1.0, copy.read / copy.rate / goal))
                    written = copy.close()
                except BaseException:
                    copy.abandon()
                    raise
                handle.flush()
                os.fsync(handle.fileno())
            if written == 0:
                raise UserError(f"Nothing was saved: {source_path.name} has no audio at those times.")
            os.replace(tmp, out_path)
        except OSError as exc:
            raise UserError(f"Could not write {out_path}: {exc.strerror or exc}. Choose another folder.") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return Written(out_path, written / copy.rate, copy.spans_written, copy.rate, copy.channels)


def _merged(spans) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for start, end in sorted((s, e) for s, e in spans if e > s):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # a hard link to the recording
    except OSError:
        return False


# What each decoded sample format is written as: (format, WAV codec) and FLAC's format.
# 8-bit WAV is unsigned (its silence is 128, not 0): it is written as 16-bit.
_WAV = {"u8": ("s16", "pcm_s16le"), "s16": ("s16", "pcm_s16le"), "s32": ("s32", "pcm_s32le"),
        "s64": ("s32", "pcm_s32le"), "flt": ("flt", "pcm_f32le"), "dbl": ("dbl", "pcm_f64le")}
_FLAC = {"u8": "s16", "s16": "s16", "s32": "s32", "s64": "s32", "flt": "s16", "dbl": "s16"}
_DTYPES = {"s16": np.int16, "s32": np.int32, "flt": np.float32, "dbl": np.float64}


class _Copy:
    """Frames in, the kept samples out to the encoder; set up from the first frame."""

    def __init__(self, handle, kind: str, spans, mode: str, gap: float):
        self.handle, self.kind, self.seconds, self.mode, self.gap = handle, kind, spans, mode, gap
        self.container = self.stream = None
        self.read = self.written = self.spans_written = 0
        self.rate = self.channels = 0
        self.opened_span = -1  # the last span any sample was written from
        self.first = 0  # the first span not wholly behind the frames read

    def _open(self, frame) -> None:
        import av

        source = frame.format.name.rstrip("p")
        self.rate, self.channels = frame.sample_rate, frame.layout.nb_channels
        self.format, codec = _WAV[source] if self.kind == "wav" else (_FLAC[source], "flac")
        self.layout = frame.layout.name if frame.layout.name else f"{self.channels}c"
        # in samples, from the frame's own rate (the header's may differ)
        self.spans = _merged((round(s * self.rate), round(e * self.rate)) for s, e in self.seconds)
        self.gap_samples = round(self.gap * self.rate)
        options = {"rf64": "auto"} if self.kind == "wav" else {}  # a WAV past 4 GB stays readable
        try:
            self.container = av.open(self.handle, "w", format=self.kind, container_options=options)
            self.stream = self.container.add_stream(codec, rate=self.rate, layout=self.layout)
            self.stream.codec_context.format = self.format
            self.stream.time_base = Fraction(1, self.rate)
        except (av.error.FFmpegError, ValueError) as exc:
            raise UserError(f"A {self.kind.upper()} file cannot hold this recording's audio ({self.channels} channels "
                            f"at {self.rate} Hz): {exc}. Try {'.wav' if self.kind == 'flac' else '.flac'}.") from None

    def add(self, frame) -> bool:
        """Copies what `frame` holds of the spans; False once no later frame is needed."""
        if self.container is None:
            self._open(frame)
        elif frame.sample_rate != self.rate or frame.layout.nb_channels != self.channels:
            raise UserError("The recording changes its sample rate or channels part way; its audio cannot be "
                            "saved in one file.")
        start, samples = self.read, _as(frame, self.format)
        self.read += len(samples)
        end = self.read
        while self.first < len(self.spans) and self.spans[self.first][1] <= start:
            self.first += 1  # spans are in order and apart: those behind this frame are done
        kept = np.zeros_like(samples) if self.mode == "whole" else None
        for n in range(self.first, len(self.spans)):
            s, e = self.spans[n]
            if s >= end:
                break
            inside = slice(max(s, start) - start, min(e, end) - start)
            if kept is not None:
                kept[inside] = samples[inside]
                continue
            if n != self.opened_span:
                if self.opened_span >= 0:
                    self._silence(self.gap_samples)
                self.opened_span, self.spans_written = n, self.spans_written + 1
            self._encode(samples[inside])
        if kept is not None:
            self._encode(kept)
            return True
        return self.first < len(self.spans) and end < self.spans[-1][1]

    def _silence(self, count: int) -> None:
        while count > 0:
            self._encode(np.zeros((min(count, _BLOCK), self.channels), dtype=_DTYPES[self.format]))
            count -= _BLOCK

    def _encode(self, samples: np.ndarray) -> None:
        import av

        if not len(samples):
            return
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples).reshape(1, -1), format=self.format,
                                           layout=self.layout)
        frame.sample_rate, frame.pts, frame.time_base = self.rate, self.written, Fraction(1, self.rate)
        self.written += len(samples)
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def abandon(self) -> None:
        """Lets the encoder go after a failure (the file is deleted)."""
        if self.container is not None:
            try:
                self.container.close()
            except Exception:  # noqa: BLE001 - what failed first is what is reported
                pass
            self.container = None

    def close(self) -> int:
        """Finishes the file; the samples written (0: none)."""
        if self.container is None:
            return 0
        if self.mode == "whole":
            self.spans_written = sum(1 for s, e in self.spans if s < self.read)
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        return self.written


def _as(frame, target: str) -> np.ndarray:
    """The frame's samples as (samples, channels) in `target` ("s16", "s32", "flt", "dbl")."""
    data = frame.to_ndarray()
    data = data.T if frame.format.is_planar else data.reshape(-1, frame.layout.nb_channels)
    source = frame.format.name.rstrip("p")
    want = _DTYPES[target]
    if source == target:
        return data
    if source == "u8":
        data, source = (data.astype(np.int16) - 128) << 8, "s16"
        if target == "s16":
            return data
    if source in ("flt", "dbl"):
        if target in ("flt", "dbl"):
            return data.astype(want)
        full = np.iinfo(want).max + 1
        return np.clip(np.rint(data.astype(np.float64) * full), -full, full - 1).astype(want)
    bits = data.dtype.itemsize * 8
    if target in ("flt", "dbl"):
        return (data / float(1 << (bits - 1))).astype(want)
    shift = np.dtype(want).itemsize * 8 - bits
    return (data.astype(np.int64) << shift).astype(want) if shift >= 0 else (data >> -shift).astype(want)
