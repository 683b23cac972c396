"""The job engine with a real worker process, real models and a real SQLite file."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from app.core import audio
from app.core.engine import Engine
from app.core.store import Store
from tests import media

pytestmark = pytest.mark.models


@pytest.fixture
def engine(tmp_path, settings):
    engine = Engine(Store(tmp_path / "history.db"))
    yield engine
    engine.close()


def clips(sample, folder, count, seconds=4.0):
    samples = audio.decode(sample.wav).samples
    paths = []
    for i in range(count):
        start = int((6 + 2 * i) * 16000)
        paths.append(media.write_wav(folder / f"clip {i:02d}.wav", samples[start : start + int(seconds * 16000)]))
    return paths


def long_file(sample, folder, repeats=4):
    return media.write_wav(folder / "long.wav", np.tile(audio.decode(sample.wav).samples[::-1].copy(), repeats))


def test_ten_files_added_at_once_run_one_at_a_time_in_order(engine, settings, sample, tmp_path):
    running_at_once = []
    finished = []
    lock = threading.Lock()

    def listen(event):
        with lock:
            running_at_once.append(len(engine.store.jobs(("in_progress",))))
            if event.kind == "status" and event.job.status in ("completed", "failed"):
                finished.append(event.job.id)

    engine.subscribe(listen)
    jobs = [engine.add(path, settings) for path in clips(sample, tmp_path, 10)]
    assert [j.status for j in jobs][1:] == ["pending"] * 9
    for job in jobs:
        done = engine.wait(job.id, timeout=300)
        assert done.status == "completed", done.error
    deadline = time.monotonic() + 10  # a change is written before it is announced: let the last event arrive
    while len(finished) < len(jobs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert max(running_at_once) == 1
    assert finished == [j.id for j in jobs]
    assert engine.store.integrity_check() == "ok"


def test_same_content_under_another_name_comes_from_the_store_without_a_model(engine, settings, sample, tmp_path):
    first = engine.add(sample.wav, settings)
    assert engine.wait(first.id, timeout=300).status == "completed"
    copy = tmp_path / "moved and renamed.wav"
    copy.write_bytes(sample.wav.read_bytes())
    fresh = Engine(engine.store)  # a new session: no worker, no model loaded
    started = time.perf_counter()
    second = fresh.add(copy, settings)
    assert second.status == "completed" and time.perf_counter() - started < 2
    assert fresh._worker is None
    assert fresh.result(second.id).segments == engine.result(first.id).segments
    other_settings = fresh.add(copy, replace(settings, num_speakers=3))
    # a new job (the first engine, which owns the queue, may have started it already)
    assert other_settings.status in ("pending", "in_progress"), "a setting that changes the result is a new job"
    fresh.cancel(other_settings.id)


def test_cancel_mid_job_then_retry_resumes_from_checkpoints(engine, settings, sample, tmp_path):
    job = engine.add(long_file(sample, tmp_path), settings)
    deadline = time.monotonic() + 120
    while not engine.store.checkpoint_rows(job.cache_key) and time.monotonic() < deadline:
        time.sleep(0.2)
    kept = engine.store.checkpoint_rows(job.cache_key)
    assert kept, "a chunk was checkpointed before the cancel"
    asked = time.monotonic()
    engine.cancel(job.id)
    assert engine.wait(job.id, timeout=10).status == "cancelled"
    assert time.monotonic() - asked < 5
    assert engine.store.integrity_check() == "ok"
    assert engine.store.checkpoint_rows(job.cache_key)[: len(kept)] == kept
    engine.retry(job.id)
    done = engine.wait(job.id, timeout=300)
    assert done.status == "completed"
    assert done.chunks_resumed >= len(kept) and done.chunks_resumed + done.chunks_computed == done.chunks_total


def test_a_crashing_worker_fails_its_job_and_the_next_one_runs(engine, settings, sample, tmp_path):
    doomed = engine.add(long_file(sample, tmp_path), settings)
    after = engine.add(clips(sample, tmp_path, 1)[0], settings)
    deadline = time.monotonic() + 120
    while not (engine.store.job(doomed.id).worker_pid and engine.store.job(doomed.id).stage) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(engine.store.job(doomed.id).worker_pid, signal.SIGSEGV)  # as a native crash would
    failed = engine.wait(doomed.id, timeout=30)
    assert failed.status == "failed" and "stopped unexpectedly (signal 11)" in failed.error
    assert engine.wait(after.id, timeout=300).status == "completed"


def test_bad_files_fail_with_their_message_and_the_queue_goes_on(engine, settings, sample, tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("not audio\n" * 30)
    missing = engine.add(tmp_path / "missing.wav", settings)
    assert missing.status == "failed" and "not found" in missing.error
    bad = engine.add(text, settings)
    good = engine.add(clips(sample, tmp_path, 1)[0], settings)
    assert "not a media file" in engine.wait(bad.id, timeout=120).error
    assert engine.wait(good.id, timeout=300).status == "completed"


def test_remove_and_rename(engine, settings, sample):
    job = engine.wait(engine.add(sample.wav, settings).id, timeout=300)
    engine.rename_speaker(job.id, "SPEAKER_01", "Sheila")
    assert engine.result(job.id).speaker_names()["SPEAKER_01"] == "Sheila"
    # the worker sent each speaker's voice signature with the result; remembered, it names
    assert sorted(engine.store.signatures(job.cache_key)) == ["SPEAKER_00", "SPEAKER_01"]
    # and its voice windows: the speakers can be found again with another count, in seconds
    again = engine.speakers_again(job.id, engine.result(job.id), 3)
    assert len(again.speakers) == 3
    engine.remember_voice(job.id, "SPEAKER_00", "Dana")
    assert engine.result(job.id).speakers[0].voice == {"name": "Dana", "similarity": 1.0}
    engine.remove(job.id)
    assert engine.store.job(job.id) is None and engine.result(job.id) is None
