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


def test_a_soft_voice_dipping_under_the_threshold_for_a_frame_or_two_is_still_sound():
    import numpy as np

    from app.core.audio_in import level

    # AMI dev00: "Okay" from 1.78 s (whisper) and 1.44 s (the reference), 12-28 dB above the
    # room, a frame or two under 15 dB here and there; the detector heard it from 2.15 s
    rng = np.random.default_rng(1)
    audio = (rng.normal(size=16000 * 4) * 1e-4).astype(np.float32)
    audio[int(1.5 * 16000) : int(3.5 * 16000)] += (rng.normal(size=2 * 16000) * 0.02).astype(np.float32)
    for dip in (1.76, 1.84, 1.96):  # 20 ms each back at the room's level
        audio[int(dip * 16000) : int((dip + 0.02) * 16000)] = (rng.normal(size=320) * 1e-4).astype(np.float32)
    loudness = level.Loudness(audio)
    assert abs(loudness.sound_from(2.15, 0.5) - 1.65) < 0.03, "short dips do not end the sound"
    audio[int(1.8 * 16000) : int(2.0 * 16000)] = (rng.normal(size=3200) * 1e-4).astype(np.float32)
    assert abs(level.Loudness(audio).sound_from(2.15, 0.5) - 2.0) < 0.03, "a 0.2-s pause does"
