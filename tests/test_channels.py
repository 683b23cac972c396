"""Stereo recordings: the channel decision, each channel with the other's leakage taken
out, a split job's checkpoints kept apart, and the choice carried by settings, the cache
key and a queue's payload. (The pipeline on real stereo calls: test_stereo.py.)"""

from __future__ import annotations

import wave
from dataclasses import replace

import numpy as np
import pytest

from app.core import sides
from app.core.audio_in import channels
from app.core.audio_in import decode as audio

SR = 16000


def _voice(seed: int, seconds: float, pitch: float) -> np.ndarray:
    """Something speech-like: a buzz at `pitch` through a moving formant, in syllables."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    buzz = np.sign(np.sin(2 * np.pi * pitch * t)) * 0.5 + rng.normal(0, 0.1, len(t))
    syllables = (np.sin(2 * np.pi * 4 * t) > 0).astype(np.float32)
    return (buzz * syllables * np.sin(2 * np.pi * 700 * t + 3 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)


def _call(leak_db: float = -20.0, quiet: float = 0.03, loud: float = 0.5):
    """A's turns on the left, B's on the right, alternating with a second of overlap; each
    channel picks up the other 3 ms late at `leak_db`. Returns (left, right, a, b)."""
    n = 16 * SR
    a, b = np.zeros(n, np.float32), np.zeros(n, np.float32)
    for k, start in enumerate(range(0, 16, 4)):
        a[start * SR : (start + 2) * SR] = _voice(k, 2, 130) * quiet
        b[(start + 1) * SR + SR // 2 : (start + 4) * SR - SR // 4] = _voice(10 + k, 2.25, 210)[: int(2.25 * SR)] * loud
    noise = np.random.default_rng(5).normal(0, 1e-4, (2, n)).astype(np.float32)
    a, b = a + noise[0], b + noise[1]
    late = lambda x: np.concatenate([np.zeros(48, np.float32), x[:-48]]) * 10 ** (leak_db / 20)  # noqa: E731
    return a + late(b), b + late(a), a, b


def test_a_call_with_a_party_a_channel_is_heard_a_channel_at_a_time():
    left, right, *_ = _call()
    layout = channels.decide([left, right])
    assert layout.heard == "split" and layout.channels == 2
    assert "its own" in layout.reason


@pytest.mark.parametrize("kind", ["dual mono", "spaced microphones", "one channel silent"])
def test_the_same_voices_in_both_channels_are_mixed(kind):
    left, right, a, b = _call()
    mono = a + b
    if kind == "dual mono":
        pair = [mono, mono.copy()]
    elif kind == "spaced microphones":  # every voice in both, another gain and 4 ms later on one
        pair = [mono, np.concatenate([np.zeros(64, np.float32), mono[:-64]]) * 0.5]
    else:
        pair = [mono, np.zeros_like(mono)]
    assert channels.decide(pair).heard == "mixed"


def test_the_users_choice_wins_and_more_than_two_channels_are_mixed_unless_split_is_asked():
    left, right, *_ = _call()
    assert channels.decide([left, right], "mix").heard == "mixed"
    mono = left + right
    assert channels.decide([mono, mono], "split").heard == "split"
    assert channels.decide([left, right, left]).heard == "mixed"
    assert channels.decide([left, right, left], "split").heard == "split"
    assert channels.decide([left]).heard == "mono"
    assert channels.decide([]).heard == "mono"


@pytest.mark.parametrize("leak_db", [-20.0, -30.0])
def test_leakage_is_taken_out_and_each_partys_own_voice_kept(leak_db):
    left, right, a, b = _call(leak_db)
    clean_left, clean_right = channels.apart([left, right])
    b_alone = (np.abs(b) > 0.01) & (np.abs(a) < 0.001)  # moments only B speaks
    leak_before = 10 * np.log10(np.mean(left[b_alone] ** 2))
    leak_after = 10 * np.log10(np.mean(clean_left[b_alone] ** 2) + 1e-12)
    assert leak_after < leak_before - 30
    # A's voice, the quiet one, is there as it was, also while B talks over it
    a_speaks = np.abs(a) > 0.003
    assert np.corrcoef(clean_left[a_speaks], a[a_speaks])[0, 1] > 0.99
    assert np.corrcoef(clean_right[np.abs(b) > 0.01], b[np.abs(b) > 0.01])[0, 1] > 0.99


def test_a_channel_without_leakage_is_left_as_it_is():
    left, right, a, b = _call()
    kept = channels.apart([a, b])
    assert np.array_equal(kept[0], a) and np.array_equal(kept[1], b)


def _stereo_wav(path, left, right):
    pcm = (np.clip(np.stack([left, right], axis=1), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(SR)
        handle.writeframes(pcm.tobytes())
    return path


def test_decoding_keeps_each_channel_when_asked_and_the_mix_is_unchanged(tmp_path):
    left, right, *_ = _call()
    path = _stereo_wav(tmp_path / "call.wav", left, right)
    plain = audio.decode(path)
    kept = audio.decode(path, keep_channels=True)
    assert plain.channels == ()
    assert np.array_equal(plain.samples, kept.samples)
    assert len(kept.channels) == 2 and all(len(c) == len(kept.samples) for c in kept.channels)
    assert np.abs(kept.channels[0] - left).max() < 1e-3 and np.abs(kept.channels[1] - right).max() < 1e-3


def test_a_split_jobs_channels_keep_their_checkpoints_apart():
    from app.core.audio_in.chunks import Chunk
    from app.core.pipeline import Hooks

    saved_chunks, saved_parts, saved_diarization = {}, {}, []
    hooks = Hooks(on_chunk=lambda chunk, result: saved_chunks.__setitem__(chunk.index, [chunk.to_dict(), result]),
                  on_part=saved_parts.__setitem__, on_diarization=saved_diarization.append)
    for channel, mine in enumerate(sides.hooks_apart(hooks, 2)):
        mine.on_chunk(Chunk(0, 1.0 + channel, 5.0), [{"text": f"channel {channel}"}])
        mine.on_part(-2, f"plan {channel}".encode())
        mine.on_part(3, f"batch {channel}".encode())
        mine.on_diarization({"turns": [[0, 1, f"S{channel}"]]})
    assert sorted(saved_chunks) == [sides.SPAN, 2 * sides.SPAN]  # never a mixed job's numbers
    assert sorted(saved_parts) == [sides.SPAN - 2, sides.SPAN + 3, 2 * sides.SPAN - 2, 2 * sides.SPAN + 3]
    resumed = replace(hooks, done_chunks=saved_chunks, parts=saved_parts, diarization=saved_diarization[-1])
    # after a kill each channel gets back its own work, numbered as it was
    for channel, mine in enumerate(sides.hooks_apart(resumed, 2)):
        assert mine.done_chunks == {0: [{"index": 0, "start": 1.0 + channel, "end": 5.0}, [{"text": f"channel {channel}"}]]}
        assert mine.parts == {-2: f"plan {channel}".encode(), 3: f"batch {channel}".encode()}
        assert mine.diarization == {"turns": [[0, 1, f"S{channel}"]]}
    assert sides.hooks_apart(hooks, 1) == [hooks]  # one channel: nothing changes


def test_the_speaker_count_given_is_the_whole_calls(settings):
    assert sides.settings_for(replace(settings, num_speakers=2), 2).max_speakers == 1
    assert sides.settings_for(replace(settings, num_speakers=3), 2).max_speakers == 2
    assert sides.settings_for(replace(settings, max_speakers=4), 2).num_speakers is None
    assert sides.settings_for(settings, 2) is settings


def test_the_choice_is_a_setting_checked_and_part_of_the_cache_key(settings):
    from app.core.common.errors import UserError
    from app.core.jobs import spec

    with pytest.raises(UserError, match="auto, mix, split"):
        replace(settings, channels="both").validated()
    keys = {mode: spec.cache_key("0" * 64, replace(settings, channels=mode)) for mode in ("auto", "mix", "split")}
    assert len(set(keys.values())) == 3
    # results stored before the choice existed were made as "auto" would: their key is kept
    before = {name: getattr(settings, name) for name in spec._RESULT_SETTINGS}
    before.update(sha256="0" * 64, pipeline=spec.PIPELINE_VERSION, resolved_device="")
    import hashlib
    import json

    assert keys["auto"] == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()


@pytest.mark.parametrize("count", [0, 9, 10**6, True, "2", 2.0])
def test_a_queue_payload_with_a_bad_channel_count_is_refused(count):
    from app.core.jobs import redis_worker
    from app.core.jobs.messages import RunJob, to_json
    from app.core.jobs import redis_queue as q

    job = RunJob(1, "call.wav", {}, "k" * 64, "", {}, None, {})
    payload = {"protocol": q.PROTOCOL, "job": to_json(job), "samples": 16000, "token": "abc", "channels": count}
    with pytest.raises(redis_worker.JobRefused, match="channels"):
        redis_worker._read(payload)
    payload.update(channels=2, file_channels=65 if count == 9 else count)  # 9 channels may be a file's
    with pytest.raises(redis_worker.JobRefused, match="channels"):
        redis_worker._read(payload)
    del payload["channels"], payload["file_channels"]  # a job from an app that sends the mix alone
    assert redis_worker._read(payload)[-2:] == (1, 1)
