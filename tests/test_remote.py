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

from app.core.audio_in import decode as audio
from tests import media
from tests.redis_server import RedisServer

pytestmark = [
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed (see .ci/run)"),
]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def env_for(data: Path) -> dict:
    mine = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}  # no developer's queue or password
    return dict(mine, DIARIZATION_STUDIO_DATA_DIR=str(data), HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")


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


@pytest.mark.redis
@pytest.mark.models
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


@pytest.mark.redis
@pytest.mark.models
def test_a_stereo_call_sent_to_a_worker_is_heard_a_side_at_a_time_as_here(redis_server, tmp_path):
    from evaluation import recordings, stereo

    try:
        wav = stereo.call("stereo-call-2").write(tmp_path / "calls")
    except recordings.Missing as exc:
        pytest.skip(str(exc))
    worker = start_worker(redis_server.url, tmp_path / "worker-data", "box-1")
    try:
        remote = transcribe(tmp_path / "app", wav, "--format", "json", "--redis", redis_server.url)
        assert remote.returncode == 0, remote.stderr
    finally:
        stop(worker)
    local = transcribe(tmp_path / "local", wav, "--format", "json")
    ours, reference = json.loads(remote.stdout), json.loads(local.stdout)
    assert ours["channels"]["heard"] == "split"
    assert ours["segments"] == reference["segments"] and ours["speakers"] == reference["speakers"]


@pytest.mark.redis
@pytest.mark.models
def test_no_pickle_a_payload_that_is_not_a_job_fails_and_the_worker_goes_on(redis_server, tmp_path, sample):
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    from app.core.jobs.redis_queue import QUEUE

    client = redis.Redis.from_url(redis_server.url)
    marker = tmp_path / "pwned"
    # Whoever can write to the Redis may enqueue anything: a pickled job (RQ's default)...
    Queue(QUEUE, connection=client).enqueue(os.system, f"touch {marker}")
    # ... or our function with a payload that is not a job.
    Queue(QUEUE, connection=client, serializer=JSONSerializer).enqueue("app.core.jobs.redis_worker.run", {"job": "{}"})
    worker = start_worker(redis_server.url, tmp_path / "worker-data", "box-1")
    try:
        time.sleep(3)
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        done = transcribe(tmp_path / "app", sample.wav, "--format", "txt", "--redis", redis_server.url)
        assert done.returncode == 0, done.stderr
    finally:
        stop(worker)
    assert not marker.exists(), "a pickled payload was run"


@pytest.mark.redis
@pytest.mark.models
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


@pytest.mark.redis
@pytest.mark.models
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


@pytest.mark.models
def test_a_queue_that_is_down_says_so_and_the_job_runs_here(tmp_path, sample):
    from tests.redis_server import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    done = transcribe(tmp_path / "app", sample.wav, "--format", "txt", "--redis", url)
    assert done.returncode == 0, done.stderr
    assert "cannot be reached" in done.stderr and "runs on this computer" in done.stderr


@pytest.mark.redis
@pytest.mark.models
def test_two_apps_on_one_queue_each_get_their_own_result_progress_every_2_s_and_cancel_stops(
        redis_server, tmp_path, sample, speech, settings):
    from dataclasses import replace

    from app.core.engine import Engine, worker_factory
    from app.core.jobs.status import JobStatus
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


@pytest.mark.redis
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


# What a worker takes from the queue: fast, no model loads (a quiet recording is a real job
# that ends before any model is needed).

JOB = "diarization_studio.job.v1"  # what the app enqueues and all a worker runs, whatever the modules are called


def burst_worker(url: str, data: Path, *options: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A worker that takes what is queued, then stops; its output is its whole log."""
    address = ("--redis", url) if url else ()
    return subprocess.run([sys.executable, "-m", "app", "worker", "--burst", *options, *address], cwd=ROOT,
                          env=env or env_for(data), capture_output=True, text=True, timeout=300)


def rq_failure(client, job) -> str:
    """The note a failed RQ job was failed with (AssertionError if it did not fail)."""
    from rq.job import Job
    from rq.serializers import JSONSerializer

    job = Job.fetch(job.id, connection=client, serializer=JSONSerializer)
    assert job.get_status() == "failed", f"{job.id} is {job.get_status()}"
    return job.latest_result().exc_string


def touch_marker(job, connection, *rest) -> None:
    """A callback someone names in a job of ours: a worker must never call it."""
    Path(job.args[0]["marker"]).touch()


def a_job_of_ours(tmp_path: Path, seconds: float = 2.0):
    """A quiet recording in a private folder, with the app's settings as the history keeps them."""
    from app.core.jobs import spec as jobs
    from app.core.jobs.messages import RunJob
    from app.core.settings import Settings

    folder = tmp_path / "Private Folder of Alice"
    folder.mkdir(exist_ok=True)
    path = media.write_wav(folder / "session-with-bob.wav", np.zeros(int(seconds * 16000), np.float32))
    chosen = Settings(data_dir=tmp_path / "alice-data", roles_enabled=True, roles_context="the client has PTSD")
    return RunJob(1, str(path), jobs.settings_to_dict(chosen), "ab" * 32, "cd" * 32)


def answer(remote, timeout: float = 120.0):
    """The job's last message (a Result or a Failure), as the engine would read it."""
    from app.core.jobs.messages import Failure, Result

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = remote.receive()
        if isinstance(message, (Result, Failure)):
            return message
    raise AssertionError("no result came back")


@pytest.mark.redis
def test_a_worker_runs_our_job_and_nothing_else_and_never_logs_what_a_job_carries(redis_server, tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import redis
    from rq import Callback, Queue, Webhook
    from rq.job import Dependency, Job
    from rq.serializers import JSONSerializer

    from app.core.jobs.messages import Result
    from app.core.jobs.redis_queue import QUEUE, RemoteWorker

    hooks_heard = []

    class Hook(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hooks_heard.append(self.path)
            self.send_response(200)
            self.end_headers()

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    hook_server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook_server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{hook_server.server_port}/hook"
    client = redis.Redis.from_url(redis_server.url)
    queue = Queue(QUEUE, connection=client, serializer=JSONSerializer)
    marker = tmp_path / "pwned"
    secret = "what-this-job-carries-7f3a"
    hostile = {"marker": str(marker), "note": secret}
    # Whoever can write to the Redis names any function, as a name or a dotted path...
    foreign = [queue.enqueue(name, f"touch {marker}")
               for name in ("os.system", "app.cli.os.system", "app.core.jobs.redis_worker.os.system")]
    # ... or ours, with a callback, a webhook or a dependency that would run something else.
    misused = [
        queue.enqueue(JOB, hostile, on_success=Callback("tests.test_remote.touch_marker")),
        queue.enqueue(JOB, hostile, on_failure=Callback("tests.test_remote.touch_marker")),
        queue.enqueue(JOB, hostile, on_stopped=Callback("tests.test_remote.touch_marker")),
        queue.enqueue(JOB, hostile, webhooks=[Webhook(hook, "failed"), Webhook(hook, "finished")]),
        queue.enqueue(JOB, hostile, depends_on=Dependency(jobs=[foreign[0]], allow_failure=True)),
    ]
    # ... or one that a dead worker seemingly left running: RQ's clean-up calls its failure callback.
    abandoned = Job.create(JOB, args=[hostile], on_failure=Callback("tests.test_remote.touch_marker"), origin=QUEUE,
                           webhooks=[Webhook(hook, "failed")], connection=client, serializer=JSONSerializer)
    abandoned._status = "started"
    abandoned.save()
    client.zadd(f"rq:wip:{QUEUE}", {f"{abandoned.id}:gone": 1})
    remote = RemoteWorker(redis_server.url)
    job = a_job_of_ours(tmp_path)
    remote.send(job)  # last in the queue: the same worker serves it after all the others
    try:
        done = burst_worker(redis_server.url, tmp_path / "worker-data")
        log = done.stdout + done.stderr
        assert done.returncode == 0, log
        assert not marker.exists(), "a job named by someone else was run"
        assert not hooks_heard, "a webhook of a refused job was called"
        for queued in foreign + misused:
            assert "refused" in rq_failure(client, queued)
        rq_failure(client, abandoned)
        result = answer(remote)
        assert isinstance(result, Result), result
        assert result.transcript["source"]["path"] == job.path  # named here as a local run names it
        assert result.transcript["source"]["sha256"] == job.sha256
        assert any("no speech" in w for w in result.transcript["warnings"])
        for carried in (secret, str(marker), "touch", str(tmp_path)):
            assert carried not in log, f"the worker's log shows what a job carries ({carried})"
    finally:
        hook_server.shutdown()
        remote.kill()


@pytest.mark.redis
def test_the_queue_holds_neither_the_recordings_folder_nor_the_data_folder_nor_the_roles_context(
        redis_server, tmp_path):
    import zlib

    import redis

    from app.core.jobs.redis_queue import RemoteWorker

    remote = RemoteWorker(redis_server.url)
    remote.send(a_job_of_ours(tmp_path))
    stored = redis.Redis.from_url(redis_server.url).hgetall(f"rq:job:ds-{remote._token}")
    assert stored, "the RQ job is in the queue"

    def plain(value: bytes) -> bytes:
        try:
            return zlib.decompress(value)
        except zlib.error:
            return value

    text = b"\n".join(plain(value) for value in stored.values())
    for private in (b"Private Folder of Alice", str(tmp_path).encode(), b"alice-data", b"PTSD", b"ollama",
                    b"from_env", b"data_dir", b"cd" * 32):
        assert private not in text, f"the queue holds {private!r}"
    function, instance, args, kwargs = json.loads(plain(stored[b"data"]))
    assert function == JOB and instance is None and not kwargs
    assert args[0]["protocol"] == 1 and "session-with-bob.wav" in args[0]["job"]  # the file's name, no more
    remote.kill()


@pytest.mark.redis
def test_audio_that_expands_past_what_its_job_declares_fails_that_job_and_never_fills_the_memory(
        redis_server, tmp_path):
    import tracemalloc
    import zlib

    import redis

    from app.core.common.errors import UserError
    from app.core.jobs.messages import Failure
    from app.core.jobs.redis_queue import RemoteWorker, audio_key, download_audio

    client = redis.Redis.from_url(redis_server.url)
    twelve_hours = 12 * 3600 * 16000
    bomb = zlib.compress(bytes(64 << 20), 9)  # 64 MB of silence in about 64 KB
    client.set(f"{audio_key('ee' * 32)}:0", bomb)
    client.set(audio_key("ee" * 32), json.dumps({"pieces": 1, "samples": 1000}))
    tracemalloc.start()
    try:
        with pytest.raises(UserError, match="more than it declared"):
            download_audio(client, "ee" * 32, 1000, twelve_hours)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"{peak / 2**20:.0f} MB held for a job that declared 2 kB"
    with pytest.raises(UserError, match="longer than"):
        download_audio(client, "ee" * 32, twelve_hours + 1, twelve_hours)
    client.set(audio_key("ee" * 32), json.dumps({"pieces": 10**9, "samples": 1000}))
    with pytest.raises(UserError, match="not the audio"):
        download_audio(client, "ee" * 32, 1000, twelve_hours)

    remote = RemoteWorker(redis_server.url)
    job = a_job_of_ours(tmp_path, seconds=1.0)
    remote.send(job)
    piece = zlib.compress(bytes(1 << 20), 9)  # a 1 kB piece that says it is one second, and is 32 of them
    assert len(piece) < 1100
    client.set(f"{audio_key(job.cache_key)}:0", piece)
    done = burst_worker(redis_server.url, tmp_path / "worker-data")
    assert done.returncode == 0, done.stderr
    failure = answer(remote)
    assert isinstance(failure, Failure) and "more than it declared" in failure.message, failure


@pytest.mark.redis
def test_a_job_from_a_newer_app_tells_to_update_the_worker(redis_server, tmp_path):
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    from app.core.jobs.redis_queue import PROTOCOL_CHANNELS, QUEUE

    client = redis.Redis.from_url(redis_server.url)
    newer = Queue(QUEUE, connection=client, serializer=JSONSerializer).enqueue(
        JOB, {"protocol": PROTOCOL_CHANNELS + 1, "job": "{}", "samples": 0, "token": "ab12", "what": "a later app sends"})
    done = burst_worker(redis_server.url, tmp_path / "worker-data")
    assert done.returncode == 0, done.stderr
    note = rq_failure(client, newer).strip().splitlines()[-1]
    assert "worker is older than the app" in note and "update" in note, note
    assert "a later app sends" not in done.stdout + done.stderr


@pytest.mark.redis
def test_the_worker_reads_its_password_from_a_file_or_the_environment_never_the_command_line(redis_server, tmp_path):
    import redis

    from app.core import settings as settings_module

    password = "s3cret pass/word"
    redis.Redis.from_url(redis_server.url).config_set("requirepass", password)
    secret = tmp_path / "redis-password"
    secret.write_text(password + "\n")
    data = tmp_path / "worker-data"
    without = burst_worker(redis_server.url, data)
    assert without.returncode == 2 and "refused the password" in without.stderr, without.stderr
    runs = {
        "--password-file": burst_worker(redis_server.url, data, "--password-file", str(secret)),
        "REDIS_PASSWORD_FILE": burst_worker(redis_server.url, data,
                                            env=dict(env_for(data), REDIS_PASSWORD_FILE=str(secret))),
        "REDIS_PASSWORD": burst_worker(redis_server.url, data, env=dict(env_for(data), REDIS_PASSWORD=password)),
        "REDIS_HOST and REDIS_PASSWORD_FILE": burst_worker(
            "", data, env=dict(env_for(data), REDIS_HOST="127.0.0.1", REDIS_PORT=str(redis_server.port),
                               REDIS_PASSWORD_FILE=str(secret))),
    }
    for how, done in runs.items():
        assert done.returncode == 0, f"{how}: {done.stderr}"
        assert "s3cret" not in done.stdout + done.stderr
    loaded = settings_module.load({"REDIS_HOST": "nas.local", "REDIS_PASSWORD_FILE": str(secret)}, preferences=False)
    assert loaded.redis_url == "redis://:s3cret%20pass%2Fword@nas.local:6379"


@pytest.mark.redis
def test_a_job_naming_a_folder_as_its_model_is_refused_by_the_worker(redis_server, tmp_path):
    from dataclasses import replace

    from app.core.jobs.messages import Failure
    from app.core.jobs.redis_queue import RemoteWorker

    remote = RemoteWorker(redis_server.url)
    job = a_job_of_ours(tmp_path, seconds=1.0)
    remote.send(replace(job, settings={**job.settings, "model": str(tmp_path)}))
    done = burst_worker(redis_server.url, tmp_path / "worker-data")
    assert done.returncode == 0, done.stderr
    failure = answer(remote)
    assert isinstance(failure, Failure) and "not one of" in failure.message, failure
    assert str(tmp_path) not in done.stdout + done.stderr


@pytest.mark.redis
def test_a_full_redis_refuses_the_job_with_a_clear_message_and_keeps_no_piece(tmp_path, speech):
    """maxmemory with noeviction (as the compose file sets it): nothing is evicted, and the
    sender is told why its job could not be sent."""
    import redis

    server = RedisServer(tmp_path / "redis").start()
    try:
        client = redis.Redis.from_url(server.url)
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", str(client.info("memory")["used_memory"] + 200_000))
        long = media.write_wav(tmp_path / "long.wav", np.tile(speech, 12))  # 60 s: about 1 MB in pieces
        env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
        done = subprocess.run([sys.executable, "-m", "app", "transcribe", str(long), "--redis", server.url],
                              cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 1
        assert "The queue's Redis is full" in done.stderr and "Internal error" not in done.stderr
        assert [k for k in client.keys("*") if b":audio:" in k] == []  # what was sent of it is taken back
    finally:
        server.stop()
