"""Real speech for tests and benchmarks: the shared FLEURS clips and the pyannote sample,
and writing samples as a WAV file.

Neither recording is committed. FLEURS lives in ../shared/audio beside the project (absent
from a user's clone); the two-speaker sample is read out of the pyannote-audio wheel,
fetched once with pip into a cache folder.
"""

from __future__ import annotations

import subprocess
import sys
import wave
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
CACHE = ROOT / ".cache" / "test-audio"
PYANNOTE_WHEEL = "pyannote-audio==4.0.7"


class Missing(Exception):
    """Test material is not available here; the reason says why."""


@dataclass(frozen=True)
class Clip:
    audio: Path
    reference: str
    language: str


@dataclass(frozen=True)
class Sample:
    wav: Path
    rttm: Path
    stm: Path


def fleurs_clips(language: str | None = None, more: bool = False) -> list[Clip]:
    """The Spanish and English clips; `more`: with the German, French and Portuguese ones
    of fleurs-more/ (40 in all)."""
    folder = SHARED_AUDIO / "fleurs"
    if not folder.is_dir():
        raise Missing(f"{folder} is absent: the shared FLEURS clips exist only beside a developer checkout")
    clips = []
    found = sorted(folder.glob("fleurs-*.ogg"))
    if more:
        found += sorted((SHARED_AUDIO / "fleurs-more").glob("fleurs-*.ogg"))
    for ogg in found:
        lang = ogg.stem.split("-")[1]
        if language in (None, lang):
            clips.append(Clip(ogg, ogg.with_suffix(".txt").read_text(encoding="utf-8").strip(), lang))
    return clips


def pyannote_sample() -> Sample:
    out = CACHE / "pyannote-sample"
    names = ("sample.wav", "sample.rttm", "sample.stm")
    if not all((out / n).exists() for n in names):
        out.mkdir(parents=True, exist_ok=True)
        wheels = list(out.glob("pyannote_audio-*.whl"))
        if not wheels:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(out), PYANNOTE_WHEEL]
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            wheels = list(out.glob("pyannote_audio-*.whl"))
            if done.returncode or not wheels:
                raise Missing(f"could not fetch {PYANNOTE_WHEEL} for its sample: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name in names:
                (out / name).write_bytes(wheel.read(f"pyannote/audio/sample/{name}"))
    return Sample(out / names[0], out / names[1], out / names[2])


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000, channels: int = 1) -> Path:
    """16-bit PCM WAV; `samples` is (n,) or (n, channels) float in [-1, 1]."""
    data = np.clip(np.asarray(samples, dtype=np.float32), -1, 1)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes((data * 32767).astype("<i2").tobytes())
    return path
