"""Loudness evened out over time, so that a quiet party is heard as well as a loud one.

On a phone call one side is often 20-30 dB quieter than the other, and a voice detector
scores quiet speech as silence. The diarizer's detector (whose regions also decide which
stretches get a second transcription, `coverage.py`) hears the audio with its level evened
out second by second: the gain follows the loudest of three neighbouring seconds, capped
at +30 dB, so silence stays silence and speech is not pumped. Whisper's own detector and
the voice embeddings keep the audio as it is (whisper's chunks lost words on evened audio;
the clustering's thresholds were set on the embeddings of the audio as it is; evidence:
docs/accuracy.md#evidence-behind-the-code).

`Loudness` says where a sound begins: a word whisper starts before the detector's speech
keeps that start where the audio between is sound, not the recording's quiet.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
TARGET_RMS = 0.05  # about -26 dBFS
MAX_GAIN = 30.0  # +30 dB
MIN_GAIN = 0.3


def even(samples: np.ndarray, window_sec: float = 1.0) -> np.ndarray:
    """A float32 copy with the level evened out; built a window at a time (an hour of audio
    takes one more copy of the samples, nothing more)."""
    n = len(samples)
    win = int(window_sec * SAMPLE_RATE)
    if n < 2 * win:
        return samples
    blocks = n // win
    rms = np.array([np.sqrt(np.mean(np.square(samples[i * win : (i + 1) * win], dtype=np.float64))) for i in range(blocks)])
    rms += 1e-6
    loudest = np.maximum(rms, np.maximum(np.roll(rms, 1), np.roll(rms, -1)))
    loudest[0], loudest[-1] = max(rms[0], rms[1]), max(rms[-1], rms[-2])
    gain = np.clip(TARGET_RMS / loudest, MIN_GAIN, MAX_GAIN).astype(np.float32)
    out = np.empty(n, dtype=np.float32)
    half = win // 2
    out[:half] = samples[:half] * gain[0]
    for i in range(blocks - 1):  # from the middle of one window to the middle of the next
        a = i * win + half
        ramp = np.linspace(gain[i], gain[i + 1], win, endpoint=False, dtype=np.float32)
        np.multiply(samples[a : a + win], ramp, out=out[a : a + win])
    tail = (blocks - 1) * win + half
    out[tail:] = samples[tail:] * gain[-1]
    return np.clip(out, -1.0, 1.0, out=out)


FRAME_SEC = 0.02
SOUND_DB = 15.0  # a frame this far above the recording's quiet (its 10th percentile) is sound
DIP_SEC = 0.1  # a soft voice dips under SOUND_DB for a frame or two; a pause is longer


class Loudness:
    """The level of each 20-ms frame of a recording, and its quiet: where a sound begins."""

    def __init__(self, samples: np.ndarray, block: int = 1 << 20):
        frame = int(FRAME_SEC * SAMPLE_RATE)
        n = len(samples) // frame
        self.db = np.empty(n)
        step = block // frame
        for i in range(0, n, step):  # a block at a time: an hour costs no copy of the audio
            part = samples[i * frame : min(n, i + step) * frame].astype(np.float64).reshape(-1, frame)
            self.db[i : i + len(part)] = 10 * np.log10(np.mean(part * part, axis=1) + 1e-12)
        self.floor = float(np.percentile(self.db, 10)) if n else 0.0

    def sound_from(self, t: float, most: float) -> float:
        """The earliest time, `most` seconds before `t` at most, from which the frames up to
        `t` are sound but for dips shorter than DIP_SEC (`t` itself when the frame before it
        is quiet)."""
        end = min(len(self.db), int(round(t / FRAME_SEC)))
        start = max(0, end - int(round(most / FRAME_SEC)))
        quiet = self.db[start:end] < self.floor + SOUND_DB
        if len(quiet) and quiet[-1]:
            return round(t, 3)
        first, run = start, 0
        for i in range(len(quiet) - 1, -1, -1):  # back from t to the first quiet run long enough
            run = run + 1 if quiet[i] else 0
            if run * FRAME_SEC >= DIP_SEC:
                first = start + i + run
                break
        return round(min(t, first * FRAME_SEC), 3)

    def quiet(self, start: float, end: float) -> bool:
        """Whether every frame from `start` to `end` is the recording's quiet."""
        a, b = int(start / FRAME_SEC), max(int(start / FRAME_SEC) + 1, int(round(end / FRAME_SEC)))
        frames = self.db[a:b]
        return bool(len(frames)) and bool(np.all(frames < self.floor + SOUND_DB))
