"""Getting a catalogue model, against a real local server speaking the hub's protocol
(tests/hub_server.py): progress, resume after a dropped connection, checksums, one fetch
for two callers, and nothing loadable left by a failure or a cancel."""

from __future__ import annotations

import os
import threading

import pytest

from app.core.common.errors import Cancelled, ModelError
from app.core.whisper import catalogue, fetch
from tests.hub_server import FakeHub

REVISION = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub(tmp_path):
    files = {"config.json": b'{"alignment_heads": []}', "tokenizer.json": b"{}" * 50,
             "model.bin": os.urandom(3 << 20)}
    server = FakeHub("test-org/faster-whisper-test", REVISION, files)
    yield server
    server.close()


def entry(hub, tmp_path):
    return catalogue.load(hub.catalogue(tmp_path / "catalogue.json"))["test-base"]


def test_a_download_shows_its_progress_and_ends_in_the_model_folder(hub, tmp_path):
    seen = []
    model = entry(hub, tmp_path)
    folder = fetch.fetch(model, tmp_path / "models", hub.endpoint, progress=seen.append)
    assert folder == tmp_path / "models" / "test-base"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == hub.files
    assert seen[-1].done == seen[-1].total == model.size and seen[-1].speed > 0
    assert ("storage", "") in hub.requests  # model.bin came from the storage address, as the hub redirects
    assert not (tmp_path / "models" / ".partial" / "test-base").exists()
    assert fetch.fetch(model, tmp_path / "models", hub.endpoint) == folder and hub.sent == model.size  # not again


def test_a_connection_dropped_half_way_is_resumed_with_a_range_request(hub, tmp_path):
    hub.mode = "drop"
    model = entry(hub, tmp_path)
    folder = fetch.fetch(model, tmp_path / "models", hub.endpoint)
    assert (folder / "model.bin").read_bytes() == hub.files["model.bin"]
    assert any(address == "storage" and header.startswith("bytes=") for address, header in hub.requests)
    assert hub.sent <= model.size + fetch.PIECE  # the file once, plus at most one piece


def test_a_file_whose_checksum_is_wrong_is_refused_and_removed(hub, tmp_path):
    hub.mode = "corrupt"
    model = entry(hub, tmp_path)
    with pytest.raises(ModelError, match="did not match the catalogue's checksum; it was removed"):
        fetch.fetch(model, tmp_path / "models", hub.endpoint)
    assert not fetch.installed(tmp_path / "models", model)
    assert not (tmp_path / "models" / "test-base").exists()
    assert not list((tmp_path / "models" / ".partial").rglob("model.bin*"))


def test_a_missing_repository_a_silent_server_and_a_full_disk_each_give_one_line(hub, tmp_path, monkeypatch):
    model = entry(hub, tmp_path)
    from dataclasses import replace

    with pytest.raises(ModelError, match="not on the server .*HTTP 404") as missing:
        fetch.fetch(replace(model, repo="nobody/nothing"), tmp_path / "models", hub.endpoint)
    assert "\n" not in str(missing.value)
    monkeypatch.setattr(fetch, "READ_TIMEOUT_SEC", 0.5)
    monkeypatch.setattr(fetch, "RETRIES", 1)
    hub.mode = "stall"
    with pytest.raises(ModelError, match="stopped answering") as silent:
        fetch.fetch(model, tmp_path / "models", hub.endpoint)
    assert "\n" not in str(silent.value)
    hub.mode = "ok"
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(fetch.shutil, "disk_usage", lambda path: usage(10 << 30, 10 << 30, 1 << 20))
    with pytest.raises(ModelError, match="Not enough free disk space .* has 1 MB free"):
        fetch.fetch(model, tmp_path / "models", hub.endpoint)
    assert not fetch.installed(tmp_path / "models", model)


def test_offline_or_not_pinned_says_so_and_changes_nothing(hub, tmp_path):
    model = entry(hub, tmp_path)
    with pytest.raises(ModelError, match="downloads are off"):
        fetch.fetch(model, tmp_path / "models", hub.endpoint, offline=True)
    assert hub.requests == [] and not (tmp_path / "models").exists()
    shipped = catalogue.load()["large-v3-turbo"]
    with pytest.raises(ModelError, match="not pinned"):
        fetch.fetch(shipped, tmp_path / "models", hub.endpoint)


def test_two_callers_needing_the_same_model_fetch_it_once(hub, tmp_path):
    model = entry(hub, tmp_path)
    found, errors = [], []

    def get():
        try:
            found.append(fetch.fetch(model, tmp_path / "models", hub.endpoint))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=get) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(found) == 2 and found[0] == found[1]
    assert hub.sent == model.size


def test_cancelling_leaves_nothing_a_job_could_load_and_a_resume_finishes(hub, tmp_path):
    model = entry(hub, tmp_path)
    with pytest.raises(Cancelled):
        fetch.fetch(model, tmp_path / "models", hub.endpoint, progress=lambda p: None,
                    cancel=lambda: (tmp_path / "models" / ".partial" / "test-base" / "model.bin.part").exists()
                    and (tmp_path / "models" / ".partial" / "test-base" / "model.bin.part").stat().st_size > 0)
    assert not (tmp_path / "models" / "test-base").exists()
    paused = (tmp_path / "models" / ".partial" / "test-base" / "model.bin.part").stat().st_size
    before = hub.sent
    fetch.fetch(model, tmp_path / "models", hub.endpoint)  # resumed, as after a restart
    assert hub.sent - before <= model.size - paused + 2 * (1 << 16)
    assert fetch.installed(tmp_path / "models", model)


def test_the_catalogue_refuses_entries_that_would_escape_the_models_folder(tmp_path):
    from app.core.common.errors import UserError

    bad = tmp_path / "bad.json"
    for name, file in (("../up", "model.bin"), ("ok", "../model.bin"), ("ok", "/etc/passwd")):
        bad.write_text('{"models": [{"name": "%s", "repo": "a/b", "revision": "%s", "files": '
                       '[{"name": "%s", "size": 1, "sha256": "%s"}]}]}' % (name, REVISION, file, "0" * 64))
        with pytest.raises(UserError):
            catalogue.load(bad)
    shipped = catalogue.load()
    assert {"tiny", "base", "small", "medium", "large-v3", "large-v3-turbo", "distil-large-v3"} <= shipped.keys()
    assert shipped["distil-large-v3"].english_only and shipped["base"].built_in


def test_the_command_line_lists_gets_and_removes_a_model(hub, tmp_path, monkeypatch, capsys):
    from app import cli
    from app.core import settings as settings_mod

    monkeypatch.setenv(settings_mod.DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("DIARIZATION_STUDIO_MODEL_CATALOGUE", str(hub.catalogue(tmp_path / "catalogue.json")))
    assert cli.main(["models", "get", "test-base"]) == 0
    out, err = capsys.readouterr()
    assert "test-base: ready in" in out and "model.bin: 3 MB of 3 MB (100%)" in err
    assert cli.main(["models", "list"]) == 0
    listed = capsys.readouterr().out
    assert any(line.split()[:3] == ["test-base", "yes", "3"] for line in listed.splitlines())
    assert "distil-large-v3" in listed and "English only" in listed
    from app.core.engine import Engine
    engine = Engine.for_reading(settings_mod.load())
    pending = engine._store.add_job("/x.wav", "s", "k2", {"model": "test-base"})
    assert cli.main(["models", "remove", "test-base"]) == 1
    assert f"in use by job {pending.id}" in capsys.readouterr().err
    engine._store.remove(pending.id)
    assert cli.main(["models", "remove", "test-base"]) == 0
    assert "removed (3 MB freed)" in capsys.readouterr().out
    assert not (tmp_path / "data" / "models" / "test-base").exists()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert cli.main(["models", "get", "test-base"]) == 1
    err = capsys.readouterr().err
    assert "downloads are off" in err and err.count("\n") == 1
    assert cli.main(["models", "remove", "base"]) == 1 and "built in" in capsys.readouterr().err


@pytest.mark.models
def test_the_built_in_models_files_under_another_name_download_into_a_model_a_job_uses(tmp_path, sample):
    """The real base model's files served as a hub repository: fetched, checked, and then
    transcribing the two-speaker sample with it from the command line."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from app.core.whisper import models

    base = models.assemble_embedded(tmp_path / "joined")
    server = FakeHub("test-org/whisper-base-copy", REVISION, {p.name: p.read_bytes() for p in base.iterdir()
                                                              if p.is_file() and not p.name.startswith(".")})
    try:
        env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(tmp_path / "data"), HF_ENDPOINT=server.endpoint,
                   DIARIZATION_STUDIO_MODEL_CATALOGUE=str(server.catalogue(tmp_path / "c.json", "base-copy")))
        root = Path(__file__).resolve().parent.parent
        done = subprocess.run([sys.executable, "-m", "app", "transcribe", str(sample.wav), "--model", "base-copy",
                               "--format", "json"], cwd=root, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert len(result["speakers"]) == 2 and "base-copy" in result["model"]
        assert server.sent == sum(len(d) for d in server.files.values())
        assert (tmp_path / "data" / "models" / "base-copy" / "model.bin").stat().st_size == \
            (base / "model.bin").stat().st_size
    finally:
        server.close()


def engine_over(hub, tmp_path, mode: str):
    """An engine (scripted worker, no worker made yet) whose settings fetch models from `hub` in `mode`."""
    from app.core.engine import Engine
    from app.core.settings import Settings
    from app.core.store import Store
    from tests.scripted_worker import ScriptedWorker, finishes

    hub.mode = mode
    ScriptedWorker.made = []
    now = Settings(data_dir=tmp_path / "data", hf_endpoint=hub.endpoint,
                   model_catalogue=str(hub.catalogue(tmp_path / "catalogue.json")))
    return Engine(Store(tmp_path / "h.db"), worker_factory=lambda: ScriptedWorker(finishes), watch_interval=0.1,
                  settings_now=lambda: now), now


def test_jobs_wait_for_their_model_while_the_others_run_and_it_is_fetched_once(hub, tmp_path):
    from dataclasses import replace

    from tests import media
    from tests.scripted_worker import ScriptedWorker

    engine, now = engine_over(hub, tmp_path, "slow")
    rng = __import__("numpy").random.default_rng(0)
    wavs = [media.write_wav(tmp_path / f"{n}.wav", (rng.standard_normal(16000) * 0.1).astype("float32"))
            for n in ("big1", "small", "big2")]
    stages = []
    engine.subscribe(lambda e: stages.append((e.job.name, e.job.stage)))
    try:
        big1 = engine.add(wavs[0], replace(now, model="test-base"))
        small = engine.add(wavs[1], now)
        big2 = engine.add(wavs[2], replace(now, model="test-base"))
        assert engine.wait(small.id, timeout=30).status == "completed"
        assert engine.job(big1.id).status == "pending"  # still waiting for its model: the other went first
        assert engine.wait(big1.id, timeout=60).status == "completed"
        assert engine.wait(big2.id, timeout=60).status == "completed"
        assert ("big1.wav", "download") in stages
        assert hub.sent == entry(hub, tmp_path).size  # fetched once for both
        assert [j.settings["model"] for j in ScriptedWorker.made[0].jobs] == ["base", "test-base", "test-base"]
    finally:
        engine.close()


def test_a_job_whose_model_cannot_be_fetched_fails_with_the_reason(hub, tmp_path):
    from dataclasses import replace

    from tests import media
    from tests.scripted_worker import ScriptedWorker

    engine, now = engine_over(hub, tmp_path, "corrupt")
    wav = media.write_wav(tmp_path / "a.wav", __import__("numpy").zeros(16000, dtype="float32") + 0.01)
    try:
        job = engine.add(wav, replace(now, model="test-base"))
        done = engine.wait(job.id, timeout=30)
        assert done.status == "failed" and "did not match the catalogue's checksum" in done.error
        assert ScriptedWorker.made == [] or ScriptedWorker.made[0].jobs == []
    finally:
        engine.close()
