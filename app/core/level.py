"""Loudness evened out over time, so that a quiet party is heard as well as a loud one.

On a phone call one side is often 20-30 dB quieter than the other; the voice detectors
score quiet speech as silence and the quieter side's sentences were lost. The detectors
and the voice embeddings get the audio with its level evened out second by second (the
gain follows the loudest of three neighbouring seconds, capped at +30 dB, so silence stays
silence and speech is not pumped); whisper normalises its own input.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
TARGET_RMS = 0.05  # about -26 dBFS
MAX_GAIN = 30.0  # +30 dB
MIN_GAIN = 0.3


def even(samples: np.ndarray, window_sec: float = 1.0) -> np.ndarray:
    n = len(samples)
    win = int(window_sec * SAMPLE_RATE)
    if n < win:
        return samples
    blocks = len(samples) // win
    rms = np.sqrt(np.mean(np.square(samples[: blocks * win].reshape(blocks, win), dtype=np.float64), axis=1)) + 1e-6
    loudest = np.maximum(np.maximum(rms, np.roll(rms, 1)), np.roll(rms, -1))
    loudest[0], loudest[-1] = max(rms[0], rms[min(1, blocks - 1)]), max(rms[-1], rms[max(0, blocks - 2)])
    gain = np.clip(TARGET_RMS / loudest, MIN_GAIN, MAX_GAIN)
    curve = np.interp(np.arange(n), np.arange(blocks) * win + win / 2, gain).astype(np.float32)
    return np.clip(samples * curve, -1.0, 1.0)
