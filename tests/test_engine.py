"""The job engine: its queue's state machine, fast, with a scripted worker; then the same
paths with the real worker process, real models and a real SQLite file (and in
test_crash.py, a kill -9 of the command line)."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from app.core.audio_in import decode as audio
from app.core.engine import Engine
from app.core.jobs.messages import ChunkDone, DiarizationDone, Result, RunJob
from app.core.jobs.status import JobStatus
from app.core.store import Store
from tests import media
from tests.scripted_worker import ScriptedWorker, finishes, never_finishes, transcript_saying


@pytest.fixture(autouse=True)
def _fresh_workers():
    ScriptedWorker.made = []


@pytest.fixture
def wavs(tmp_path):
    rng = np.random.default_rng(0)
    return [media.write_wav(tmp_path / f"{name}.wav", (rng.standard_normal(16000) * 0.1).astype(np.float32))
            for name in ("alpha", "bravo", "charlie")]


def make_engine(path: Path, script=finishes, **kwargs) -> Engine:
    ScriptedWorker.made = []
    return Engine(Store(path), worker_factory=lambda: ScriptedWorker(script), watch_interval=0.1, **kwargs)


def said(engine: Engine, job_id: int) -> str:
    return engine.result(job_id).segments[0].text


def test_a_supervision_error_kills_the_worker_and_the_next_job_gets_its_own_words(tmp_path, settings, wavs, monkeypatch):
    # A checkpoint write fails (disk full) while alpha runs; the worker still has alpha's
    # result in its pipe. Reusing it gave bravo alpha's words, stored under bravo's key.
    def script(job: RunJob):
        yield ChunkDone(job.job_id, {"index": 0, "start": 0.0, "end": 1.0}, [])
        yield from finishes(job)

    engine = make_engine(tmp_path / "h.db", script)
    real_save = engine._store.save_checkpoint
    calls = []

    def failing_once(*args):
        calls.append(args)
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        return real_save(*args)

    monkeypatch.setattr(engine._store, "save_checkpoint", failing_once)
    try:
        a = engine.add(wavs[0], settings)
        assert engine.wait(a.id, timeout=10).status == JobStatus.FAILED
        assert "No space left" in engine.job(a.id).error
        b = engine.add(wavs[1], settings)
        assert engine.wait(b.id, timeout=10).status == JobStatus.COMPLETED
        assert said(engine, b.id) == "bravo"
        assert ScriptedWorker.made[0].dead and len(ScriptedWorker.made) == 2
    finally:
        engine.close()


def test_messages_naming_another_job_are_never_stored(tmp_path, settings, wavs):
    def script(job: RunJob):
        yield Result(job.job_id + 100, transcript_saying("someone else", "/x.wav"), 0, 1)
        yield ChunkDone(job.job_id + 100, {"index": 0, "start": 0.0, "end": 1.0}, [{"text": "x"}])
        yield from finishes(job)

    engine = make_engine(tmp_path / "h.db", script)
    try:
        job = engine.add(wavs[0], settings)
        assert engine.wait(job.id, timeout=10).status == JobStatus.COMPLETED
        assert said(engine, job.id) == "alpha"
        assert engine.ignored_messages == 2
    finally:
        engine.close()


def test_a_second_engine_on_the_history_hands_its_jobs_to_the_owner(tmp_path, settings, wavs):
    owner = make_engine(tmp_path / "h.db")
    guest = Engine(Store(tmp_path / "h.db"), worker_factory=lambda: pytest.fail("the guest started a worker"),
                   watch_interval=0.1)
    try:
        owner.start()
        guest.start()
        assert owner.owner and not guest.owner
        seen = []
        owner.subscribe(lambda event: seen.append((event.kind, event.job.id)))
        job = guest.add(wavs[0], settings)
        assert guest.wait(job.id, timeout=10).status == JobStatus.COMPLETED
        assert said(guest, job.id) == "alpha"
        assert ("added", job.id) in seen  # the owner's window hears of the guest's job
    finally:
        guest.close()
        owner.close()


def test_a_guest_closing_never_stops_the_owners_job(tmp_path, settings, wavs):
    owner = make_engine(tmp_path / "h.db", never_finishes)
    guest = Engine(Store(tmp_path / "h.db"), worker_factory=lambda: pytest.fail("the guest started a worker"))
    try:
        job = owner.add(wavs[0], settings)
        assert owner.wait(job.id, statuses=("in_progress",), timeout=5).status == JobStatus.IN_PROGRESS
        guest.start()
        guest.close()
        time.sleep(0.3)
        assert owner.job(job.id).status == JobStatus.IN_PROGRESS and not ScriptedWorker.made[0].dead
    finally:
        owner.close()


def api_side(path: Path) -> Engine:
    """An engine that never runs jobs, as the HTTP API's process beside the window."""
    return Engine(Store(path), worker_factory=lambda: pytest.fail("the guest started a worker"),
                  watch_interval=0.1, runs_jobs=False)


def running(owner: Engine, wav: Path, settings):
    job = owner.add(wav, settings)
    assert owner.wait(job.id, statuses=("in_progress",), timeout=5).status == JobStatus.IN_PROGRESS
    return job


def test_a_cancel_from_another_process_stops_the_owners_job_and_a_retry_runs_it(tmp_path, settings, wavs):
    runs = []

    def first_never_then_finishes(job):
        runs.append(job.job_id)
        return never_finishes(job) if len(runs) == 1 else finishes(job)

    owner = make_engine(tmp_path / "h.db", first_never_then_finishes)
    guest = api_side(tmp_path / "h.db")
    try:
        job = running(owner, wavs[0], settings)
        guest.start()
        guest.cancel(job.id)  # the HTTP API's process asks; the window's runs it and stops it
        assert guest.wait(job.id, timeout=5).status == JobStatus.CANCELLED
        assert ScriptedWorker.made[0].dead
        owner.retry(job.id)
        assert owner.wait(job.id, timeout=5).status == JobStatus.COMPLETED, "an old cancel is not held against it"
    finally:
        guest.close()
        owner.close()


def test_an_engine_that_runs_no_jobs_never_takes_the_queue_even_when_its_owner_quits(tmp_path, settings, wavs):
    owner = make_engine(tmp_path / "h.db", never_finishes)
    guest = api_side(tmp_path / "h.db")
    try:
        job = running(owner, wavs[0], settings)
        guest.start()
        owner.close()  # the window quits: its job is left in progress, to resume with it
        waiting = guest.add(wavs[1], settings)
        time.sleep(0.5)
        assert not guest.owner
        assert guest.job(job.id).status == JobStatus.IN_PROGRESS and guest.job(waiting.id).status == JobStatus.PENDING
    finally:
        guest.close()


def test_the_command_line_as_owner_runs_only_its_own_jobs(tmp_path, settings, wavs):
    window_side = Engine(Store(tmp_path / "h.db"), worker_factory=lambda: pytest.fail("not the owner"))
    theirs = window_side._store.add_job(str(wavs[0]), "", "k-theirs", {}, status="pending")
    cli = make_engine(tmp_path / "h.db", only_own=True)
    try:
        mine = cli.add(wavs[1], settings)
        assert cli.wait(mine.id, timeout=10).status == JobStatus.COMPLETED
        assert cli.job(theirs.id).status == JobStatus.PENDING
        assert [j.path for w in ScriptedWorker.made for j in w.jobs] == [str(wavs[1])]
    finally:
        cli.close()
        window_side.close()


def test_when_the_owner_dies_a_guest_takes_the_queue_and_resumes_its_job(tmp_path, settings, wavs):
    owner = make_engine(tmp_path / "h.db", never_finishes)
    job = owner.add(wavs[0], settings)
    assert owner.wait(job.id, statuses=("in_progress",), timeout=5).status == JobStatus.IN_PROGRESS
    guest = Engine(Store(tmp_path / "h.db"), worker_factory=lambda: ScriptedWorker(finishes), watch_interval=0.1)
    guest.start()
    assert not guest.owner
    owner._jobs.closed = True  # the owner's process dies: nothing of it runs on,
    owner._jobs._queue_lock.release()  # and the operating system drops its lock
    try:
        assert guest.wait(job.id, timeout=10).status == JobStatus.COMPLETED
        assert guest.owner
    finally:
        guest.close()


def test_a_job_left_in_progress_with_a_live_pid_is_resumed_when_nobody_holds_the_queue(tmp_path, settings, wavs):
    # After a reboot the stored worker pid may belong to any live process (macOS has no
    # /proc to tell): the free lock says its owner is gone.
    store = Store(tmp_path / "h.db")
    job = store.add_job(str(wavs[0]), "", "k", {}, status="pending")
    store.update(job.id, status="in_progress", worker_pid=1)
    engine = Engine(store, worker_factory=lambda: ScriptedWorker(finishes))
    try:
        resumed = engine.start()
        assert [j.id for j in resumed] == [job.id]
        assert engine.wait(job.id, timeout=10).status == JobStatus.COMPLETED
    finally:
        engine.close()


def test_a_cancel_before_the_worker_has_the_job_is_kept(tmp_path, settings, wavs):
    started = []
    engine = Engine(Store(tmp_path / "h.db"), spawn=started.append, worker_factory=lambda: ScriptedWorker(finishes))
    try:
        job = engine.add(wavs[0], settings)
        assert engine.job(job.id).status == JobStatus.IN_PROGRESS and len(started) == 1
        engine.cancel(job.id)
        started.pop()()  # the supervisor runs only now
        assert engine.job(job.id).status == JobStatus.CANCELLED
        assert not [j for w in ScriptedWorker.made for j in w.jobs]
    finally:
        engine.close()


def test_a_no_cache_job_resumes_its_own_checkpoints_after_a_restart(tmp_path, settings, wavs):
    def script(job: RunJob):
        yield ChunkDone(job.job_id, {"index": 0, "start": 0.0, "end": 1.0}, [{"text": "uno"}])
        yield DiarizationDone(job.job_id, {"turns": [[0.0, 1.0, "SPEAKER_00"]], "speech": [[0.0, 1.0]]})

    first = make_engine(tmp_path / "h.db", script)
    job = first.add(wavs[0], settings, no_cache=True)
    deadline = time.monotonic() + 5
    while not first._store.diarization(job.cache_key) and time.monotonic() < deadline:
        time.sleep(0.02)
    first.close()  # the job stays in progress, to resume
    second = make_engine(tmp_path / "h.db")
    try:
        second.start()
        assert second.wait(job.id, timeout=10).status == JobStatus.COMPLETED
        given = ScriptedWorker.made[0].jobs[0]
        assert given.done_chunks == {0: [{"index": 0, "start": 0.0, "end": 1.0}, [{"text": "uno"}]]}
        assert given.diarization == {"turns": [[0.0, 1.0, "SPEAKER_00"]], "speech": [[0.0, 1.0]]}
    finally:
        second.close()


def test_statuses_know_what_they_allow():
    assert JobStatus.IN_PROGRESS.can_cancel and not JobStatus.IN_PROGRESS.can_retry
    assert JobStatus.FAILED.can_retry and not JobStatus.FAILED.can_cancel
    assert JobStatus.INTERRUPTED.can_cancel and JobStatus.INTERRUPTED.can_retry
    assert JobStatus("completed") == "completed" and JobStatus.COMPLETED.finished


def test_folders_with_a_symlink_loop_or_10000_files_add_what_they_hold(tmp_path, settings, wavs):
    import os

    loop = tmp_path / "loop"
    (loop / "sub").mkdir(parents=True)
    os.symlink("..", loop / "sub" / "up")
    many = tmp_path / "many"
    many.mkdir()
    for i in range(10_000):
        (many / f"note {i:05d}.txt").touch()
    (loop / "sub" / "a.wav").write_bytes(wavs[0].read_bytes())
    (many / "b.wav").write_bytes(wavs[1].read_bytes())
    engine = make_engine(tmp_path / "h.db")
    try:
        added, refused = engine.add_paths([loop, many, tmp_path / "nothing.txt"], settings)
        assert [Path(j.path).name for j in added] == ["a.wav", "b.wav"]
        assert refused == [tmp_path / "nothing.txt"]
    finally:
        engine.close()


def test_a_job_waits_when_the_queue_is_down_and_the_user_chose_to_wait(tmp_path, settings, wavs):
    from dataclasses import replace

    from app.core.engine import worker_factory
    from tests.redis_server import free_port

    waiting = replace(settings, process_on="workers", redis_url=f"redis://127.0.0.1:{free_port()}/0",
                      queue_fallback="wait")
    engine = Engine(Store(tmp_path / "h.db"), worker_factory=worker_factory(lambda: waiting), watch_interval=0.1)
    try:
        job = engine.add(wavs[0], waiting)
        deadline = time.monotonic() + 15
        while "waits for the queue" not in engine.job(job.id).note and time.monotonic() < deadline:
            time.sleep(0.1)
        job = engine.job(job.id)
        assert job.status == JobStatus.PENDING and "cannot be reached" in job.note and "waits for the queue" in job.note
    finally:
        engine.close()


# The real worker process, with the models.


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


@pytest.mark.models
def test_ten_files_added_at_once_run_one_at_a_time_in_order(engine, settings, sample, tmp_path):
    running_at_once = []
    finished = []
    lock = threading.Lock()

    def listen(event):
        with lock:
            running_at_once.append(len(engine._store.jobs(("in_progress",))))
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
    assert engine._store.integrity_check() == "ok"


@pytest.mark.models
def test_same_content_under_another_name_comes_from_the_store_without_a_model(engine, settings, sample, tmp_path):
    first = engine.add(sample.wav, settings)
    assert engine.wait(first.id, timeout=300).status == "completed"
    copy = tmp_path / "moved and renamed.wav"
    copy.write_bytes(sample.wav.read_bytes())
    fresh = Engine(engine._store)  # a new session: no worker, no model loaded
    started = time.perf_counter()
    second = fresh.add(copy, settings)
    assert second.status == "completed" and time.perf_counter() - started < 2
    assert fresh._jobs._worker is None
    assert fresh.result(second.id).segments == engine.result(first.id).segments
    other_settings = fresh.add(copy, replace(settings, num_speakers=3))
    # a new job (the first engine, which owns the queue, may have started it already)
    assert other_settings.status in ("pending", "in_progress"), "a setting that changes the result is a new job"
    fresh.cancel(other_settings.id)


@pytest.mark.models
def test_cancel_mid_job_then_retry_resumes_from_checkpoints(engine, settings, sample, tmp_path):
    job = engine.add(long_file(sample, tmp_path), settings)
    deadline = time.monotonic() + 120
    while not engine._store.checkpoint_rows(job.cache_key) and time.monotonic() < deadline:
        time.sleep(0.2)
    kept = engine._store.checkpoint_rows(job.cache_key)
    assert kept, "a chunk was checkpointed before the cancel"
    asked = time.monotonic()
    engine.cancel(job.id)
    assert engine.wait(job.id, timeout=10).status == "cancelled"
    assert time.monotonic() - asked < 5
    assert engine._store.integrity_check() == "ok"
    assert engine._store.checkpoint_rows(job.cache_key)[: len(kept)] == kept
    engine.retry(job.id)
    done = engine.wait(job.id, timeout=300)
    assert done.status == "completed"
    assert done.chunks_resumed >= len(kept) and done.chunks_resumed + done.chunks_computed == done.chunks_total


@pytest.mark.models
def test_a_crashing_worker_fails_its_job_and_the_next_one_runs(engine, settings, sample, tmp_path):
    doomed = engine.add(long_file(sample, tmp_path), settings)
    after = engine.add(clips(sample, tmp_path, 1)[0], settings)
    deadline = time.monotonic() + 120
    while not (engine._store.job(doomed.id).worker_pid and engine._store.job(doomed.id).stage) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(engine._store.job(doomed.id).worker_pid, signal.SIGSEGV)  # as a native crash would
    failed = engine.wait(doomed.id, timeout=30)
    assert failed.status == "failed" and "stopped unexpectedly (signal 11)" in failed.error
    assert engine.wait(after.id, timeout=300).status == "completed"


@pytest.mark.models
def test_bad_files_fail_with_their_message_and_the_queue_goes_on(engine, settings, sample, tmp_path):
    text = tmp_path / "notes.mp3"
    text.write_text("not audio\n" * 30)
    missing = engine.add(tmp_path / "missing.wav", settings)
    assert missing.status == "failed" and "not found" in missing.error
    bad = engine.add(text, settings)
    good = engine.add(clips(sample, tmp_path, 1)[0], settings)
    assert "not a media file" in engine.wait(bad.id, timeout=120).error
    assert engine.wait(good.id, timeout=300).status == "completed"


@pytest.mark.models
def test_remove_and_rename(engine, settings, sample):
    job = engine.wait(engine.add(sample.wav, settings).id, timeout=300)
    engine.rename_speaker(job.id, "SPEAKER_01", "Sheila")
    assert engine.result(job.id).speaker_names()["SPEAKER_01"] == "Sheila"
    # the worker sent each speaker's voice signature with the result; remembered, it names
    assert sorted(engine._store.signatures(job.cache_key)) == ["SPEAKER_00", "SPEAKER_01"]
    # and its voice windows: the speakers can be found again with another count, in seconds
    again = engine.edits.speakers_again(job.id, engine.result(job.id), 3)
    assert len(again.speakers) == 3
    engine.voices.remember(job.id, "SPEAKER_00", "Dana")
    assert engine.result(job.id).speakers[0].voice == {"name": "Dana", "similarity": 1.0}
    engine.remove(job.id)
    assert engine._store.job(job.id) is None and engine.result(job.id) is None
