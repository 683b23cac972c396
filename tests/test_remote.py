"""Jobs through a real redis-server to real worker processes (`python -m app worker`)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.core import audio
from tests import media
from tests.redis_server import RedisServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed (see .ci/run)"),
]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def env_for(data: Path) -> dict:
    return dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(data), HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")


def start_worker(url: str, data: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app", "worker", "--redis", url, "--name", name], cwd=ROOT,
                            env=env_for(data), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def transcribe(data: Path, *args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "transcribe", *map(str, args)], cwd=ROOT, env=env_for(data),
                          capture_output=True, text=True, timeout=kwargs.get("timeout", 600))


def test_a_job_sent_to_a_worker_gives_what_a_local_run_gives(redis_server, tmp_path, sample, settings):
    worker = start_worker(redis_server.url, tmp_path / "worker-data", "box-1")
    try:
        remote = transcribe(tmp_path / "app", sample.wav, "--format", "json", "--redis", redis_server.url)
        assert remote.returncode == 0, remote.stderr
    finally:
        stop(worker)
    local = transcribe(tmp_path / "local", sample.wav, "--format", "json")
    assert local.returncode == 0, local.stderr
    ours, reference = json.loads(remote.stdout), json.loads(local.stdout)
    assert ours["segments"] == reference["segments"] and ours["speakers"] == reference["speakers"]
    from app.core.store import Store

    history = Store(tmp_path / "app" / "history.db")  # the voices came back: matching runs here
    assert sorted(history.signatures(history.jobs()[0].cache_key)) == ["SPEAKER_00", "SPEAKER_01"]
    history.close()
    again = transcribe(tmp_path / "app", sample.wav, "--format", "json", "--redis", redis_server.url)
    assert "already transcribed" in again.stderr  # the same recording is never sent twice


def test_no_pickle_a_payload_that_is_not_a_job_fails_and_the_worker_goes_on(redis_server, tmp_path, sample):
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    from app.core.queue import QUEUE

    client = redis.Redis.from_url(redis_server.url)
    marker = tmp_path / "pwned"
    # Whoever can write to the Redis may enqueue anything: a pickled job (RQ's default)...
    Queue(QUEUE, connection=client).enqueue(os.system, f"touch {marker}")
    # ... or our function with a payload that is not a job.
    Queue(QUEUE, connection=client, serializer=JSONSerializer).enqueue("app.core.remote_worker.run", {"job": "{}"})
    worker = start_worker(redis_server.url, tmp_path / "worker-data", "box-1")
    try:
        time.sleep(3)
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        done = transcribe(tmp_path / "app", sample.wav, "--format", "txt", "--redis", redis_server.url)
        assert done.returncode == 0, done.stderr
    finally:
        stop(worker)
    assert not marker.exists(), "a pickled payload was run"


def test_a_worker_killed_mid_job_hands_it_to_another_that_keeps_the_chunks_done(redis_server, tmp_path, sample):
    long = media.write_wav(tmp_path / "meeting.wav", np.tile(audio.decode(sample.wav).samples[::-1].copy(), 6))
    first = start_worker(redis_server.url, tmp_path / "w1", "box-1")
    app = subprocess.Popen([sys.executable, "-m", "app", "transcribe", str(long), "--format", "json", "--redis",
                            redis_server.url], cwd=ROOT, env=env_for(tmp_path / "app"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    second = None
    try:
        db = tmp_path / "app" / "history.db"
        deadline = time.monotonic() + 300
        chunks = 0
        while time.monotonic() < deadline and chunks < 2:
            time.sleep(0.2)
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=1) as con:
                        chunks = con.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
                except sqlite3.OperationalError:
                    pass
        assert chunks >= 2, "chunks were checkpointed before the kill"
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        second = start_worker(redis_server.url, tmp_path / "w2", "box-2")
        out, err = app.communicate(timeout=600)
        assert app.returncode == 0, err
        assert json.loads(out)["speakers"]
        with sqlite3.connect(db) as con:
            resumed, = con.execute("SELECT chunks_resumed FROM jobs").fetchone()
        assert resumed >= 2, "the second worker redid chunks the first had finished"
    finally:
        stop(first)
        if second:
            stop(second)
        if app.poll() is None:
            app.kill()


def test_redis_restarted_mid_run_loses_nothing(redis_server, tmp_path, sample):
    worker = start_worker(redis_server.url, tmp_path / "worker-data", "box-1")
    app = subprocess.Popen([sys.executable, "-m", "app", "transcribe", str(sample.wav), "--format", "json", "--redis",
                            redis_server.url], cwd=ROOT, env=env_for(tmp_path / "app"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(6)
        redis_server.stop()
        time.sleep(2)
        redis_server.start()
        out, err = app.communicate(timeout=600)
        assert app.returncode == 0, err
        assert json.loads(out)["speakers"]
    finally:
        stop(worker)
        if app.poll() is None:
            app.kill()


def test_a_queue_that_is_down_says_so_and_the_job_runs_here(tmp_path, sample):
    from tests.redis_server import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    done = transcribe(tmp_path / "app", sample.wav, "--format", "txt", "--redis", url)
    assert done.returncode == 0, done.stderr
    assert "cannot be reached" in done.stderr and "runs on this computer" in done.stderr


def test_two_apps_on_one_queue_each_get_their_own_result_progress_every_2_s_and_cancel_stops(
        redis_server, tmp_path, sample, speech, settings):
    from dataclasses import replace

    from app.core.engine import Engine, worker_factory
    from app.core.status import JobStatus
    from app.core.store import Store

    remote = replace(settings, process_on="workers", redis_url=redis_server.url)
    other = media.write_wav(tmp_path / "other.wav", np.tile(speech, 3))
    long = media.write_wav(tmp_path / "long.wav", np.tile(audio.decode(sample.wav).samples[::-1].copy(), 6))
    apps = [Engine(Store(tmp_path / f"app{i}" / "history.db"), worker_factory=worker_factory(lambda: remote))
            for i in range(2)]
    seen: list[float] = []
    apps[0].subscribe(lambda e: seen.append(time.monotonic()) if e.kind == "progress" else None)
    worker = start_worker(redis_server.url, tmp_path / "worker-data", "box-1")
    try:
        a = apps[0].add(sample.wav, remote)
        b = apps[1].add(other, remote)
        assert apps[0].wait(a.id, timeout=300).status == JobStatus.COMPLETED
        assert apps[1].wait(b.id, timeout=300).status == JobStatus.COMPLETED
        assert apps[0].result(a.id).source.path.endswith("sample.wav")
        assert apps[1].result(b.id).source.path.endswith("other.wav")
        assert apps[0].result(a.id).source.sha256 == a.sha256 and apps[1].result(b.id).source.sha256 == b.sha256
        assert apps[0].result(a.id).segments != apps[1].result(b.id).segments
        gaps = np.diff(seen)
        assert len(seen) > 3 and gaps.max() <= 2.5, f"progress gaps up to {gaps.max():.1f} s"

        job = apps[0].add(long, remote)
        assert apps[0].wait(job.id, statuses=("in_progress",), timeout=30).status == JobStatus.IN_PROGRESS
        deadline = time.monotonic() + 120
        while apps[0].job(job.id).progress < 0.2 and time.monotonic() < deadline:
            time.sleep(0.2)
        apps[0].cancel(job.id)
        assert apps[0].wait(job.id, timeout=30).status == JobStatus.CANCELLED
        import redis

        client = redis.Redis.from_url(redis_server.url)
        deadline = time.monotonic() + 20
        while client.keys("ds:alive:*") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not client.keys("ds:alive:*"), "the remote job went on after the cancel"
    finally:
        for app in apps:
            app.close()
        stop(worker)


def test_preferences_test_the_queue_connection_off_the_window_thread(redis_server, qtbot, settings):
    from dataclasses import replace

    from app.ui.preferences import PreferencesDialog

    dialog = PreferencesDialog(replace(settings, redis_url=redis_server.url))
    qtbot.addWidget(dialog)
    dialog.process_on.setCurrentIndex(1)
    dialog.test_connection()
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("Connected to redis://127.0.0.1"), timeout=10_000)
    assert dialog.changes()["process_on"] == "workers" and dialog.changes()["redis_url"] == redis_server.url
    redis_server.stop()
    dialog.test_connection()
    qtbot.waitUntil(lambda: "cannot be reached" in dialog.test_result.text(), timeout=15_000)
