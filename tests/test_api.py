"""The HTTP API against a real uvicorn on a free loopback port, with httpx, on the real engine:
upload, poll, result (then from the cache), ten at once, awkward uploads, the token, cancel."""

from __future__ import annotations

import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.store import Store

API = "/api/diarization"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tmp_path: Path, settings, token=None, max_upload_mb=2048):
        import uvicorn

        from app import api
        from app.core.engine import Engine, worker_factory

        self.settings = settings
        self.engine = Engine(Store(tmp_path / "history.db"), worker_factory=worker_factory(lambda: settings))
        self.engine.start()
        self.app = api.create_app(self.engine, lambda: settings, token=token, max_upload_mb=max_upload_mb)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.engine.close()


@pytest.fixture
def server(tmp_path, settings):
    started = Server(tmp_path, settings)
    yield started
    started.close()


def upload(client, path: Path, *, name="recording.wav", params=None, headers=None, kind="audio/wav"):
    with open(path, "rb") as handle:
        return client.post(API + "/upload", params=params or {}, headers=headers or {},
                           files={"audio": (name, handle, kind)})


def wait_done(client, job_id: str, timeout=300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"{API}/jobs/{job_id}").json()
        if state["status"] in ("completed", "failed", "cancelled"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {state}")


@pytest.mark.slow
def test_upload_poll_result_then_the_same_recording_from_the_cache(server, sample, settings):
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = upload(client, sample.wav, name="../../etc/passwd", params={"language": "en"},
                        headers={"X-Session-ID": "notes-app"})
        assert answer.status_code == 200, answer.text
        job = answer.json()
        assert job["status"] in ("pending", "in progress")
        done = wait_done(client, job["job_id"])
        assert done["status"] == "completed" and done["progress_percent"] == 100
        result = client.get(f"{API}/result/{job['job_id']}")
        data = result.json()
        assert data["schema_version"] == 1 and len(data["speakers"]) == 2 and data["segments"]
        assert "name" in data["speakers"][0]
        srt = client.get(f"{API}/result/{job['job_id']}", params={"format": "srt"})
        assert srt.status_code == 200 and "-->" in srt.text
        again = upload(client, sample.wav, params={"language": "en"}, headers={"X-Session-ID": "notes-app"})
        assert again.json()["status"] == "completed"  # from the history, at once
        mine = client.get(f"{API}/jobs", headers={"X-Session-ID": "notes-app"}).json()
        assert [j["job_id"] for j in mine] == [job["job_id"], again.json()["job_id"]]
        assert client.get(f"{API}/jobs", headers={"X-Session-ID": "someone-else"}).json() == []
    uploads = settings.data_dir / "uploads"
    assert not list(uploads.glob("*")), "a temporary upload outlived its job"
    assert not (Path("/etc/passwd.upload")).exists()


def wav_bytes(seconds=1.0, rate=16000, channels=1, declared_rate=None, declared_channels=None) -> bytes:
    samples = (np.sin(np.arange(int(seconds * rate)) / 10) * 3000).astype("<i2").tobytes()
    rate_h, channels_h = declared_rate or rate, declared_channels or channels
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt " + struct.pack(
        "<IHHIIHH", 16, 1, channels_h, rate_h, rate_h * 2 * channels_h, 2 * channels_h, 16) + b"data" + struct.pack(
        "<I", len(samples))
    return header + samples


def test_awkward_uploads_get_a_clear_4xx_and_the_server_goes_on(tmp_path, settings):
    import httpx

    server = Server(tmp_path, settings, max_upload_mb=1)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            def send(data: bytes, **kw):
                return client.post(API + "/upload", files={"audio": ("x.wav", data, kw.pop("kind", "audio/wav"))}, **kw)

            empty = send(b"")
            assert empty.status_code == 400 and "empty" in empty.json()["detail"]
            text = send(b"this is not a recording at all\n" * 50)
            assert text.status_code == 415 and "not a media file" in text.json()["detail"]
            assert str(tmp_path) not in text.json()["detail"] and ".upload" not in text.json()["detail"]
            bomb = send(wav_bytes(declared_rate=2_000_000_000))
            assert bomb.status_code == 415, bomb.text
            big = send(b"\0" * (2 * 1024 * 1024))
            assert big.status_code == 413 and "1 MB" in big.json()["detail"]
            wrong_type = client.post(API + "/upload", content=b'{"audio": "x"}', headers={"Content-Type": "application/json"})
            assert wrong_type.status_code == 415
            no_field = client.post(API + "/upload", files={"file": ("x.wav", wav_bytes(), "audio/wav")})
            assert no_field.status_code == 400 and "audio" in no_field.json()["detail"]
            bad_setting = send(wav_bytes(), params={"language": "klingon"})
            assert bad_setting.status_code == 422
            # a connection dropped half-way through the body
            with socket.create_connection(("127.0.0.1", server.port)) as raw:
                body = b"--b\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"x.wav\"\r\n\r\n" + b"\0" * 5000
                raw.sendall(b"POST " + API.encode() + b"/upload HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 900000\r\n\r\n" + body)
            time.sleep(0.5)
            assert client.get(f"{API}/jobs").status_code == 200  # still serving
            assert client.get(f"{API}/jobs/12345").status_code == 404
        assert not list((settings.data_dir / "uploads").glob("*")), "a refused upload left its file"
    finally:
        server.close()


def test_a_token_is_required_when_set(tmp_path, settings):
    import httpx

    server = Server(tmp_path, settings, token="s3cret-token")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get(f"{API}/jobs").status_code == 401
            assert client.get(f"{API}/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert client.post(API + "/upload", files={"audio": ("x.wav", wav_bytes(), "audio/wav")}).status_code == 401
            assert client.get("/docs").status_code == 401
            assert client.get(f"{API}/jobs", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    finally:
        server.close()
    from app import api

    assert api.is_loopback("127.0.0.1") and api.is_loopback("::1") and not api.is_loopback("0.0.0.0")


@pytest.mark.slow
def test_ten_uploads_at_once_run_one_at_a_time_in_order_and_cancel_stops_one(server, sample, tmp_path):
    import httpx

    from app.core import audio
    from tests import media

    samples = audio.decode(sample.wav).samples
    clips = [media.write_wav(tmp_path / f"clip{i}.wav", samples[i * 8000 : i * 8000 + 4 * 16000]) for i in range(10)]
    answers: dict[int, dict] = {}

    def send(i):
        with httpx.Client(base_url=server.url, timeout=60) as client:
            answers[i] = upload(client, clips[i]).json()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        ids = sorted(int(a["job_id"]) for a in answers.values())
        most_running = 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            # one read of every job: polled one by one, a job read as running before it
            # ended and the next read as running after it began counted as two at once
            states = sorted((s for s in client.get(f"{API}/jobs").json() if int(s["job_id"]) in ids),
                            key=lambda s: int(s["job_id"]))
            most_running = max(most_running, sum(s["status"] == "in progress" for s in states))
            if all(s["status"] == "completed" for s in states):
                break
            time.sleep(0.2)
        assert all(s["status"] == "completed" for s in states) and most_running == 1
        starts = [s["started_at"] for s in states]
        assert starts == sorted(starts)  # in the order they came
        long = media.write_wav(tmp_path / "long.wav", np.tile(samples, 4))
        job = upload(client, long).json()
        while client.get(f"{API}/jobs/{job['job_id']}").json()["status"] == "pending":
            time.sleep(0.1)
        cancelled = client.delete(f"{API}/jobs/{job['job_id']}")
        assert cancelled.status_code == 200
        assert wait_done(client, job["job_id"], timeout=60)["status"] == "cancelled"
        assert client.get(f"{API}/result/{job['job_id']}").status_code == 409


def test_the_window_serves_the_api_when_allowed_and_uploads_join_its_queue(qtbot, tmp_path, settings):
    import os
    from dataclasses import replace

    import httpx

    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow

    port = free_port()
    allowed = replace(settings, api_enabled=True, api_port=port)
    bridge = EngineBridge(Store(tmp_path / "history.db"))
    win = MainWindow(bridge, allowed, "cpu (int8)")
    qtbot.addWidget(win)
    win.show()
    bridge.engine.start()  # as app.py does: the window owns the queue
    try:
        qtbot.waitUntil(lambda: win.api.running and str(port) in win.api_label.text(), timeout=30_000)
        assert win.api._process.pid != os.getpid(), "served from a process of its own"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert client.get("/docs").status_code == 200  # the OpenAPI page
            answer = client.post(API + "/upload", files={"audio": ("x.wav", wav_bytes(2.0), "audio/wav")},
                                 headers={"X-Session-ID": "s"})
            assert answer.status_code == 200, answer.text
        qtbot.waitUntil(lambda: any(str(j.id) == answer.json()["job_id"] for j in win.model.jobs), timeout=10_000)
        win.settings = replace(allowed, api_enabled=False)
        win._serve_api()
        assert not win.api.running and win.api_label.text() == ""
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}{API}/jobs", timeout=5)
    finally:
        win.close()


def test_python_m_app_serve_answers_on_loopback(tmp_path, settings):
    import os
    import subprocess
    import sys

    import httpx

    port = free_port()
    env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}{API}/jobs", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json() == []
        assert "openapi" in httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).text
    finally:
        proc.terminate()
        proc.wait(20)


def test_temporary_uploads_left_by_an_earlier_run_are_removed_unless_a_job_waits_for_them(tmp_path, settings):
    from dataclasses import replace

    from app import api
    from app.core.engine import Engine

    data = replace(settings, data_dir=tmp_path / "data")
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "old.upload").write_bytes(b"x")
    waiting = uploads / "waiting.upload"
    waiting.write_bytes(wav_bytes())
    store = Store(tmp_path / "history.db")
    store.add_job(str(waiting), "", "k", {})  # pending: its file is still needed
    engine = Engine(store)
    api.create_app(engine, lambda: data)
    assert not (uploads / "old.upload").exists() and waiting.exists()
    engine.close()


@pytest.mark.slow
def test_the_windows_api_process_hands_jobs_to_the_window_and_sees_its_renames_and_cancels(
        qtbot, tmp_path, settings, sample):
    """The API the window serves runs in a process of its own: what it is sent runs in the
    window's engine, a rename made in the window is in the next result it serves, and a
    cancel sent to it stops the window's job."""
    from dataclasses import replace

    import httpx

    from app.core import audio
    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow
    from tests import media

    port = free_port()
    allowed = replace(settings, api_enabled=True, api_port=port)
    bridge = EngineBridge(Store(tmp_path / "history.db"))
    bridge.settings = allowed
    win = MainWindow(bridge, allowed, "cpu (int8)")
    qtbot.addWidget(win)
    win.show()
    bridge.engine.start()
    long = media.write_wav(tmp_path / "long.wav", np.tile(audio.decode(sample.wav).samples, 6))
    try:
        qtbot.waitUntil(lambda: win.api.running, timeout=30_000)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            job = upload(client, sample.wav, params={"language": "en"}).json()
            assert wait_done(client, job["job_id"])["status"] == "completed"
            first = client.get(f"{API}/result/{job['job_id']}").json()
            assert [s["name"] for s in first["speakers"]] == ["Speaker 1", "Speaker 2"]
            assert client.get(f"{API}/result/{job['job_id']}").json() == first  # from its cache
            bridge.engine.rename_speaker(int(job["job_id"]), "SPEAKER_00", "Ana")  # in the window
            renamed = client.get(f"{API}/result/{job['job_id']}").json()
            assert [s["name"] for s in renamed["speakers"]] == ["Ana", "Speaker 2"]
            running = upload(client, long, params={"language": "en"}).json()
            deadline = time.monotonic() + 120
            while client.get(f"{API}/jobs/{running['job_id']}").json()["status"] != "in progress":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert bridge.engine.job(int(running["job_id"])).worker_pid  # run by the window's worker
            asked = time.monotonic()
            client.delete(f"{API}/jobs/{running['job_id']}")
            assert wait_done(client, running["job_id"], timeout=30)["status"] == "cancelled"
            assert time.monotonic() - asked < 10
        uploads = allowed.data_dir / "uploads"  # removed by the API's process once their jobs ended
        qtbot.waitUntil(lambda: not list(uploads.glob("*")), timeout=10_000)
    finally:
        win.close()
