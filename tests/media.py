"""Test media made at test time from real speech, in every container the app accepts."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from evaluation.recordings import write_wav  # noqa: F401 (tests write theirs as media.write_wav)

# container suffix -> (audio codec, sample format)
AUDIO_FORMATS = {
    ".wav": ("pcm_s16le", "s16"),
    ".mp3": ("libmp3lame", "s16p"),
    ".m4a": ("aac", "fltp"),
    ".flac": ("flac", "s16"),
    ".ogg": ("libopus", "flt"),
    ".opus": ("libopus", "flt"),
    ".mp4": ("aac", "fltp"),
    ".mov": ("aac", "fltp"),
}


def encode(path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1, with_video: bool = False) -> Path:
    """Encode float samples ((n,) or (n, channels)) with PyAV into the container of `path`."""
    import av

    codec, fmt = AUDIO_FORMATS[path.suffix]
    out_rate = 48000 if codec == "libopus" else rate
    layout = "stereo" if channels == 2 else "mono"
    data = np.asarray(samples, dtype=np.float32).reshape(-1, channels)
    with av.open(str(path), "w") as container:
        video = _video_stream(container) if with_video else None
        stream = container.add_stream(codec, rate=out_rate, layout=layout)
        if video is not None:
            _write_video(container, video, len(data) / rate)
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=out_rate)
        step = 4096
        for i in range(0, len(data), step):
            block = np.ascontiguousarray(data[i : i + step].T.reshape(1, -1))  # packed float
            frame = av.AudioFrame.from_ndarray(block, format="flt", layout=layout)
            frame.sample_rate = rate
            frame.pts = i
            frame.time_base = Fraction(1, rate)
            for piece in resampler.resample(frame):
                container.mux(stream.encode(piece))
        for piece in resampler.resample(None):
            container.mux(stream.encode(piece))
        container.mux(stream.encode(None))
    return path


def _video_stream(container):
    stream = container.add_stream("mpeg4", rate=5)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    return stream


def _write_video(container, stream, seconds: float) -> None:
    import av

    for i in range(max(1, int(seconds * 5))):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 7) % 255, np.uint8), format="rgb24")
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def video_only(path: Path, seconds: float = 2.0) -> Path:
    import av

    with av.open(str(path), "w") as container:
        _write_video(container, _video_stream(container), seconds)
    return path
