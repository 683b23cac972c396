"""Decoding every container the app accepts, and every bad input we could think of."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.audio_in import decode as audio
from app.core.common.errors import AudioError
from tests import media


@pytest.mark.parametrize("suffix", sorted(media.AUDIO_FORMATS))
def test_decodes_each_container_to_16k_mono(tmp_path, speech, suffix):
    path = media.encode(tmp_path / f"speech{suffix}", speech)
    decoded = audio.decode(path)
    assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
    assert decoded.duration == pytest.approx(5.0, abs=0.1)
    assert 0.01 < np.abs(decoded.samples).max() <= 1.0
    assert decoded.warnings == ()


def test_video_with_audio_track(tmp_path, speech):
    decoded = audio.decode(media.encode(tmp_path / "clip.mp4", speech, with_video=True))
    assert decoded.duration == pytest.approx(5.0, abs=0.1)


def test_stereo_is_mixed_down(tmp_path, speech):
    left_only = np.stack([speech, np.zeros_like(speech)], axis=1)
    decoded = audio.decode(media.write_wav(tmp_path / "stereo.wav", left_only, channels=2))
    assert np.corrcoef(decoded.samples, speech)[0, 1] > 0.99
    # FFmpeg mixes a channel down at -3 dB or -6 dB; either way not the left channel alone
    assert 0.45 < np.abs(decoded.samples).max() / np.abs(speech).max() < 0.75


def test_other_sample_rates_are_resampled(tmp_path):
    tone = np.sin(2 * np.pi * 440 * np.arange(44100 * 2) / 44100) * 0.5
    decoded = audio.decode(media.write_wav(tmp_path / "tone.wav", tone, rate=44100))
    assert decoded.duration == pytest.approx(2.0, abs=0.01)
    spectrum = np.abs(np.fft.rfft(decoded.samples))
    assert np.argmax(spectrum) * 16000 / len(decoded.samples) == pytest.approx(440, abs=2)


def test_path_with_spaces_and_non_ascii_letters(tmp_path, speech):
    folder = tmp_path / "entrevista ñandú"
    folder.mkdir()
    path = media.encode(folder / "conversación única é.mp3", speech)
    assert audio.decode(path).duration == pytest.approx(5.0, abs=0.1)


def test_truncated_mp3_keeps_what_is_there(tmp_path, speech):
    whole = media.encode(tmp_path / "whole.mp3", np.tile(speech, 2)).read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole[: len(whole) // 2])
    assert 3.0 < audio.decode(cut).duration < 7.0


def _error(path) -> str:
    with pytest.raises(AudioError) as caught:
        audio.decode(path)
    message = str(caught.value)
    assert str(path) in message, "every message names the file"
    return message


def test_missing_path(tmp_path):
    assert "not found" in _error(tmp_path / "nowhere.wav")


def test_folder(tmp_path):
    assert "folder" in _error(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert "empty (0 bytes)" in _error(path)


def test_zero_length_audio(tmp_path):
    assert "zero length" in _error(media.write_wav(tmp_path / "zero.wav", np.zeros(0)))


def test_text_file_named_mp3(tmp_path):
    path = tmp_path / "notes.mp3"
    path.write_text("These are my meeting notes, not a recording.\n" * 20)
    assert "not a media file" in _error(path)


def test_mp3_cut_to_its_first_bytes(tmp_path, speech):
    whole = media.encode(tmp_path / "whole.mp3", speech).read_bytes()
    cut = tmp_path / "stub.mp3"
    cut.write_bytes(whole[:300])
    assert "damaged, incomplete" in _error(cut)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.m4a"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    _error(path)


def test_video_without_audio_track(tmp_path):
    assert "without an audio track" in _error(media.video_only(tmp_path / "silent-film.mp4"))


def test_file_sha256_ignores_name(tmp_path, speech):
    first = media.write_wav(tmp_path / "a.wav", speech)
    second = tmp_path / "renamed copy.wav"
    second.write_bytes(first.read_bytes())
    assert audio.file_sha256(first) == audio.file_sha256(second)
