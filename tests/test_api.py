"""The HTTP API against a real uvicorn on a free loopback port, with httpx, on the real engine:
upload, poll, result (then from the cache), ten at once, awkward uploads, cancel; and what
keeps it to this computer's own programs: the Host, the Origin, the token, ids nobody can
guess, sessions, limits, models already here, results without their folder."""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import replace
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
    """`runs_jobs=False`: uploads stay pending (no model is ever loaded); `settings` may be
    replaced while it serves (as the window's Preferences do)."""

    def __init__(self, tmp_path: Path, settings, max_upload_mb=2048, runs_jobs=True, cors_origins=()):
        import uvicorn

        from app import api
        from app.core.engine import Engine, worker_factory

        self.settings = settings
        self.engine = Engine(Store(tmp_path / "history.db"), worker_factory=worker_factory(lambda: self.settings),
                             runs_jobs=runs_jobs)
        self.engine.start()
        self.port = free_port()
        self.token = api.load_or_create_token(settings.data_dir)
        self.auth = {"Authorization": f"Bearer {self.token}"}
        self.app = api.create_app(self.engine, lambda: self.settings, port=self.port, max_upload_mb=max_upload_mb,
                                  cors_origins=cors_origins)
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started

    def client(self, **kw):
        """A client holding the token, as the computer's own programs do."""
        import httpx

        return httpx.Client(base_url=self.url, timeout=kw.pop("timeout", 30), headers=self.auth, **kw)

    def close(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.engine.close()


@pytest.fixture
def server(tmp_path, settings):
    started = Server(tmp_path, settings)
    yield started
    started.close()


@pytest.fixture
def idle(tmp_path, settings):
    """A server whose jobs never run, on a data folder of its own."""
    started = Server(tmp_path, replace(settings, data_dir=tmp_path / "data"), runs_jobs=False)
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


@pytest.mark.models
def test_upload_poll_result_then_the_same_recording_from_the_cache(server, sample, settings):
    with server.client() as client:
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
        word = client.get(f"{API}/result/{job['job_id']}", params={"format": "docx", "stamps": "none"})
        assert word.status_code == 200 and word.content.startswith(b"PK")  # a zip: the .docx
        assert "wordprocessingml" in word.headers["content-type"]
        pdf = client.get(f"{API}/result/{job['job_id']}", params={"format": "pdf"})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        md = client.get(f"{API}/result/{job['job_id']}", params={"format": "md", "stamps": "paragraph"})
        assert md.status_code == 200 and md.text.startswith("# Transcript")
        assert client.get(f"{API}/result/{job['job_id']}", params={"format": "md", "stamps": "x"}).status_code == 422
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
    server = Server(tmp_path, settings, max_upload_mb=1)
    try:
        with server.client() as client:
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
                head = (f"POST {API}/upload HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                        f"Authorization: Bearer {server.token}\r\n"
                        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 900000\r\n\r\n")
                raw.sendall(head.encode() + body)
            time.sleep(0.5)
            assert client.get(f"{API}/jobs").status_code == 200  # still serving
            assert client.get(f"{API}/jobs/12345").status_code == 404
        assert not list((settings.data_dir / "uploads").glob("*")), "a refused upload left its file"
    finally:
        server.close()


def test_a_host_other_than_this_computer_is_refused(idle):
    """A page on a name that rebinds to 127.0.0.1 sends its own name as Host."""
    with idle.client() as client:
        port = idle.port
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1", "127.0.0.1:1", f"localhost.:{port}"):
            refused = client.get(f"{API}/jobs", headers={"Host": host})
            assert refused.status_code in (400, 421), (host, refused.status_code)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
            assert client.get(f"{API}/jobs", headers={"Host": host}).status_code == 200, host


def test_every_request_needs_the_token_from_the_data_folder(idle):
    import httpx

    with httpx.Client(base_url=idle.url, timeout=30) as client:
        assert client.get(f"{API}/jobs").status_code == 401
        assert client.get(f"{API}/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(f"{API}/jobs", headers={"Authorization": idle.token}).status_code == 401
        refused = client.post(API + "/upload", files={"audio": ("x.wav", wav_bytes(), "audio/wav")})
        assert refused.status_code == 401 and "Bearer" in refused.json()["detail"]
        assert client.delete(f"{API}/jobs/{'0' * 32}").status_code == 401
        assert client.get(f"{API}/jobs", headers=idle.auth).status_code == 200
    assert idle.engine.jobs() == []


def test_the_token_file_is_made_once_and_only_its_user_may_read_it(tmp_path):
    import os
    import stat

    from app import api

    token = api.load_or_create_token(tmp_path / "data")
    assert len(token) >= 32 and api.load_or_create_token(tmp_path / "data") == token
    assert api.token_file(tmp_path / "data").read_text().strip() == token
    if os.name == "posix":
        assert stat.S_IMODE(api.token_file(tmp_path / "data").stat().st_mode) == 0o600


def test_a_web_page_from_another_origin_can_neither_upload_nor_read(idle):
    evil = {"Origin": "https://evil.example"}
    with idle.client() as client:
        for headers in (evil, {**evil, "Authorization": "Bearer wrong"}, {**evil, **idle.auth}):
            sent = client.post(API + "/upload", params={"persist": "true"}, headers=headers,
                               files={"audio": ("x.wav", wav_bytes(), "audio/wav")})
            assert sent.status_code == 403, sent.text
            assert client.get(f"{API}/jobs", headers=headers).status_code == 403
        assert client.get(f"{API}/jobs", headers={"Origin": "null"}).status_code == 403
    assert idle.engine.jobs() == []
    assert not list((idle.settings.data_dir / "recordings").glob("*")), "a refused upload was kept"


def test_an_allowed_origin_gets_its_preflight_answered_and_still_needs_the_token(tmp_path, settings):
    import httpx

    notes = "https://notes.example"
    server = Server(tmp_path, replace(settings, data_dir=tmp_path / "data"), runs_jobs=False, cors_origins=(notes,))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            preflight = client.options(f"{API}/upload", headers={
                "Origin": notes, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,x-session-id"})
            assert preflight.status_code == 200, preflight.text
            assert preflight.headers["access-control-allow-origin"] == notes
            assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
            listed = client.get(f"{API}/jobs", headers={"Origin": notes, **server.auth})
            assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == notes
            assert client.get(f"{API}/jobs", headers={"Origin": notes}).status_code == 401
            evil = client.options(f"{API}/upload", headers={"Origin": "https://evil.example",
                                                            "Access-Control-Request-Method": "POST"})
            assert evil.status_code == 403
    finally:
        server.close()


def test_ids_cannot_be_guessed_and_each_session_lists_only_its_own(idle, tmp_path):
    import re

    from app.core.jobs.status import JobStatus

    with idle.client() as client:
        mine = client.post(API + "/upload", headers={"X-Session-ID": "notes"},
                           files={"audio": ("x.wav", wav_bytes(1.0), "audio/wav")}).json()
        anonymous = client.post(API + "/upload", files={"audio": ("y.wav", wav_bytes(1.5), "audio/wav")}).json()
        assert re.fullmatch(r"[0-9a-f]{32}", mine["job_id"]) and mine["job_id"] != anonymous["job_id"]
        (tmp_path / "w.wav").write_bytes(wav_bytes(2.0))
        window = idle.engine.add(tmp_path / "w.wav", idle.settings)  # dropped in the window
        assert [j["job_id"] for j in client.get(f"{API}/jobs", headers={"X-Session-ID": "notes"}).json()] == [
            mine["job_id"]]
        assert client.get(f"{API}/jobs", headers={"X-Session-ID": "someone-else"}).json() == []
        assert [j["job_id"] for j in client.get(f"{API}/jobs").json()] == [anonymous["job_id"]]  # not the window's
        assert "w.wav" not in client.get(f"{API}/jobs").text
        internal = idle.engine.job_for_api(mine["job_id"]).id
        for guess in (str(internal), str(window.id), "99999999999999999999999", "0" * 32, "x" * 5000, "-1", "1e3"):
            assert client.get(f"{API}/jobs/{guess}").status_code == 404, guess
            assert client.get(f"{API}/result/{guess}").status_code == 404, guess
            assert client.delete(f"{API}/jobs/{guess}").status_code == 404, guess
        # the id alone reads and cancels its job, whatever session asks
        assert client.get(f"{API}/jobs/{mine['job_id']}").json()["status"] == "pending"
        assert client.delete(f"{API}/jobs/{mine['job_id']}").json()["status"] == "cancelled"
        assert idle.engine.job(window.id).status == JobStatus.PENDING  # nothing of the window's touched
        idle.settings = replace(idle.settings, api_lists_window_jobs=True)  # the user allows it
        listed = client.get(f"{API}/jobs").json()
        assert [j["file"] for j in listed] == [anonymous["file"], "w.wav"]
        assert client.get(f"{API}/jobs/{listed[1]['job_id']}").json()["file"] == "w.wav"
        assert client.get(f"{API}/jobs", headers={"X-Session-ID": "someone-else"}).json() == []


def test_a_session_has_at_most_so_many_jobs_waiting_and_kept_uploads_have_a_cap(tmp_path, settings):
    limited = replace(settings, data_dir=tmp_path / "data", api_max_pending=2, api_max_kept_gb=20_000 / 1e9)
    server = Server(tmp_path, limited, runs_jobs=False)
    try:
        with server.client() as client:
            def send(seconds, session="s", **params):
                return client.post(API + "/upload", params=params, headers={"X-Session-ID": session},
                                   files={"audio": ("x.wav", wav_bytes(seconds), "audio/wav")})

            assert send(0.5).status_code == 200 and send(0.6).status_code == 200
            third = send(0.7)
            assert third.status_code == 429 and "2" in third.json()["detail"], third.text
            assert send(0.7, session="other").status_code == 200  # another session's own count
            kept = send(0.4, session="k", persist="true")  # 12.8 kB of the 20 kB allowed
            assert kept.status_code == 200, kept.text
            over = send(0.4, session="k2", persist="true")
            assert over.status_code == 429 and "kept" in over.json()["detail"], over.text
            assert send(0.4, session="k2").status_code == 200  # not kept: no cap but the upload's own
        assert len(list((tmp_path / "data" / "recordings").glob("*"))) == 1, "a refused upload was kept"
        assert len(server.engine.jobs()) == 5
    finally:
        server.close()


def test_only_a_model_already_on_this_computer_may_be_asked_for(idle):
    with idle.client() as client:
        def send(model):
            return client.post(API + "/upload", params={"model": model},
                               files={"audio": ("x.wav", wav_bytes(), "audio/wav")})

        missing = send("large-v3")
        assert missing.status_code == 409 and "large-v3" in missing.json()["detail"], missing.text
        for bad in ("/tmp", "../models", "tiny/../../x", "C:\\models", "huge", str(idle.settings.data_dir)):
            refused = send(bad)
            assert refused.status_code == 422, (bad, refused.text)
            assert "exist" not in refused.json()["detail"] and "/tmp" not in refused.json()["detail"]
        as_field = client.post(API + "/upload", data={"model": "/tmp"},
                               files={"audio": ("x.wav", wav_bytes(), "audio/wav")})
        assert as_field.status_code == 422
    assert idle.engine.jobs() == []
    assert not list(idle.settings.models_dir.rglob("*.bin")), "nothing was downloaded"


def test_a_result_leaves_the_folder_out_when_the_user_chose_so(idle):
    import json

    from tests.builders import said, transcript

    with idle.client() as client:
        job = client.post(API + "/upload", files={"audio": ("x.wav", wav_bytes(), "audio/wav")}).json()
        stored = idle.engine.job_for_api(job["job_id"])
        idle.engine._store.complete(stored.id, stored.cache_key, transcript(said("SPEAKER_00", (0.0, 1.0, "hola"))))
        assert idle.settings.exports_without_folder
        path = client.get(f"{API}/result/{job['job_id']}").json()["source"]["path"]
        assert "/" not in path and "\\" not in path and path.endswith(".upload")
        idle.settings = replace(idle.settings, exports_without_folder=False)
        full = json.loads(client.get(f"{API}/result/{job['job_id']}").text)["source"]["path"]
        assert full == stored.shown_path  # the choice applies at once, past the rendered copy


@pytest.mark.models
def test_ten_uploads_at_once_run_one_at_a_time_in_order_and_cancel_stops_one(server, sample, tmp_path):
    from app.core.audio_in import decode as audio
    from tests import media

    samples = audio.decode(sample.wav).samples
    clips = [media.write_wav(tmp_path / f"clip{i}.wav", samples[i * 8000 : i * 8000 + 4 * 16000]) for i in range(10)]
    answers: dict[int, dict] = {}

    def send(i):
        with server.client(timeout=60) as client:
            answers[i] = upload(client, clips[i]).json()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with server.client() as client:
        ids = {a["job_id"] for a in answers.values()}
        assert len(ids) == 10
        most_running = 0
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            # one read of every job: polled one by one, a job read as running before it
            # ended and the next read as running after it began counted as two at once;
            # the list is in the order the jobs came
            states = [s for s in client.get(f"{API}/jobs").json() if s["job_id"] in ids]
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

    import httpx

    from app import api

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
        assert win.api.token == api.load_or_create_token(settings.data_dir)  # the user can be shown it
        assert httpx.get(f"http://127.0.0.1:{port}{API}/jobs", timeout=5).status_code == 401
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"Authorization": f"Bearer {win.api.token}"}) as client:
            assert client.get("/docs").status_code == 200  # the OpenAPI page
            answer = client.post(API + "/upload", files={"audio": ("x.wav", wav_bytes(2.0), "audio/wav")},
                                 headers={"X-Session-ID": "s"})
            assert answer.status_code == 200, answer.text
        qtbot.waitUntil(lambda: any(j.api_id == answer.json()["job_id"] for j in win.model.jobs), timeout=10_000)
        win.settings = replace(allowed, api_enabled=False)
        win._serve_api()
        assert not win.api.running and win.api_label.text() == ""
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}{API}/jobs", timeout=5)
    finally:
        win.close()


def test_python_m_app_serve_answers_on_loopback_and_prints_its_token(tmp_path, settings):
    import os
    import subprocess
    import sys

    import httpx

    from app import api

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
        assert answer.status_code == 401  # every request needs the token, on loopback too
        token = api.load_or_create_token(tmp_path / "data")
        auth = {"Authorization": f"Bearer {token}"}
        answer = httpx.get(f"http://127.0.0.1:{port}{API}/jobs", headers=auth, timeout=5)
        assert answer.status_code == 200 and answer.json() == []
        assert "openapi" in httpx.get(f"http://127.0.0.1:{port}/openapi.json", headers=auth, timeout=5).text
    finally:
        proc.terminate()
        printed = proc.communicate(timeout=20)[0]
    assert token in printed and str(api.token_file(tmp_path / "data")) in printed


def test_temporary_uploads_left_by_an_earlier_run_are_removed_unless_a_job_waits_for_them(tmp_path, settings):
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
    api.create_app(engine, lambda: data, port=free_port())
    assert not (uploads / "old.upload").exists() and waiting.exists()
    engine.close()


@pytest.mark.models
def test_the_windows_api_process_hands_jobs_to_the_window_and_sees_its_renames_and_cancels(
        qtbot, tmp_path, settings, sample):
    """The API the window serves runs in a process of its own: what it is sent runs in the
    window's engine, a rename made in the window is in the next result it serves, and a
    cancel sent to it stops the window's job."""
    import httpx

    from app.core.audio_in import decode as audio
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
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                          headers={"Authorization": f"Bearer {win.api.token}"}) as client:
            job = upload(client, sample.wav, params={"language": "en"}).json()
            assert wait_done(client, job["job_id"])["status"] == "completed"
            first = client.get(f"{API}/result/{job['job_id']}").json()
            assert [s["name"] for s in first["speakers"]] == ["Speaker 1", "Speaker 2"]
            assert client.get(f"{API}/result/{job['job_id']}").json() == first  # from its cache
            bridge.engine.rename_speaker(bridge.engine.job_for_api(job["job_id"]).id, "SPEAKER_00", "Ana")
            renamed = client.get(f"{API}/result/{job['job_id']}").json()
            assert [s["name"] for s in renamed["speakers"]] == ["Ana", "Speaker 2"]
            running = upload(client, long, params={"language": "en"}).json()
            deadline = time.monotonic() + 120
            while client.get(f"{API}/jobs/{running['job_id']}").json()["status"] != "in progress":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert bridge.engine.job_for_api(running["job_id"]).worker_pid  # run by the window's worker
            asked = time.monotonic()
            client.delete(f"{API}/jobs/{running['job_id']}")
            assert wait_done(client, running["job_id"], timeout=30)["status"] == "cancelled"
            assert time.monotonic() - asked < 10
        uploads = allowed.data_dir / "uploads"  # removed by the API's process once their jobs ended
        qtbot.waitUntil(lambda: not list(uploads.glob("*")), timeout=10_000)
    finally:
        win.close()


def test_preferences_let_programs_see_the_windows_jobs_only_when_ticked_and_say_where_the_token_is(qtbot, tmp_path):
    from app import api
    from app.core import settings as s
    from app.ui.preferences import PreferencesDialog

    dialog = PreferencesDialog(s.load(environ={}, data_dir=tmp_path))
    qtbot.addWidget(dialog)
    assert not dialog.api_lists.isChecked()  # off by default
    assert str(api.token_file(tmp_path)) in dialog.api_token.text()
    dialog.api_lists.setChecked(True)
    assert dialog.save().api_lists_window_jobs
    assert s.load(environ={}, data_dir=tmp_path).api_lists_window_jobs
