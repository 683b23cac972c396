"""Level evening: a quiet party lifted, silence left quiet."""

from __future__ import annotations

import numpy as np

from app.core.audio_in import level


def test_level_evening_lifts_a_quiet_party_and_leaves_silence_quiet():
    rng = np.random.default_rng(0)
    loud = 0.3 * rng.standard_normal(16000 * 3).astype(np.float32)
    quiet = 0.003 * rng.standard_normal(16000 * 3).astype(np.float32)
    silence = np.zeros(16000 * 3, np.float32)
    evened = level.even(np.concatenate([loud, silence, quiet]))
    rms = [float(np.sqrt(np.mean(evened[i * 48000 : (i + 1) * 48000][16000:32000] ** 2))) for i in range(3)]
    assert rms[2] > 0.02 and rms[1] == 0.0
    assert 0.3 < rms[0] / rms[2] < 3
