"""The numpy filterbank against an independent Kaldi implementation (kaldi-native-fbank)."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.speakers import fbank

knf = pytest.importorskip("kaldi_native_fbank")


def _reference(segment: np.ndarray) -> np.ndarray:
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0
    opts.frame_opts.samp_freq = 16000
    opts.frame_opts.window_type = "povey"
    opts.frame_opts.snip_edges = True
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq = 20
    opts.mel_opts.high_freq = 0
    opts.use_energy = False
    opts.use_log_fbank = True
    opts.use_power = True
    if len(segment) < fbank.FRAME_LENGTH:
        segment = np.pad(segment, (0, fbank.FRAME_LENGTH - len(segment)))
    computer = knf.OnlineFbank(opts)
    computer.accept_waveform(16000, segment.tolist())
    computer.input_finished()
    feats = np.array([computer.get_frame(i) for i in range(computer.num_frames_ready)])
    return feats - feats.mean(axis=0)


@pytest.mark.parametrize("source", ["speech", "noise"])
def test_matches_kaldi(speech, source):
    audio = speech if source == "speech" else np.random.default_rng(1).normal(0, 0.1, 80000).astype(np.float32)
    subsegments = [(0.0, 1.5), (0.6, 2.1), (3.2, 3.25), (4.9, 5.6)]  # normal, tiny (padded), past the end
    flat, counts, offsets, dim = fbank.extract(audio, subsegments)
    assert dim == 80 and len(counts) == len(subsegments)
    for (start, length), count, offset in zip(fbank.subsegment_bounds(len(audio), subsegments), counts, offsets):
        ours = flat[offset : offset + count * dim].reshape(count, dim)
        theirs = _reference(audio[start : start + length])
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() < 2e-3


def test_layout_is_contiguous_in_order():
    audio = np.random.default_rng(2).normal(0, 0.1, 48000).astype(np.float32)
    flat, counts, offsets, dim = fbank.extract(audio, [(0.0, 1.5), (1.0, 2.5)])
    assert list(offsets) == [0, counts[0] * dim]
    assert flat.size == counts.sum() * dim
    assert list(counts) == [148, 148]


def test_a_window_starting_before_zero_reads_from_the_start():
    audio = np.random.default_rng(3).normal(0, 0.1, 64000).astype(np.float32)
    flat, counts, offsets, dim = fbank.extract(audio, [(-0.2, 1.3), (0.5, 2.0)])
    assert list(counts) == [148, 148]
    assert np.abs(flat[: counts[0] * dim].reshape(-1, dim) - _reference(audio[:24000])).max() < 2e-3
