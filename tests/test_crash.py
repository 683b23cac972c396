"""A real kill -9 of the command line mid-job, then a restart."""

from __future__ import annotations

import json
import os
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
from tests.test_cli import ROOT, cli

pytestmark = pytest.mark.models


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_kill_9_mid_job_then_restart_resumes_without_redoing_chunks(tmp_path, sample):
    data = tmp_path / "data"
    long = media.write_wav(tmp_path / "long meeting.wav", np.tile(audio.decode(sample.wav).samples[::-1].copy(), 6))
    env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(data), HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "app", "transcribe", str(long), "--format", "json"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db_path = data / "history.db"
    deadline = time.monotonic() + 180
    rows, worker_pid = [], None
    while time.monotonic() < deadline and proc.poll() is None:
        if db_path.exists():
            db = sqlite3.connect(db_path)
            try:
                rows = db.execute("SELECT chunk_index, created_at FROM checkpoints ORDER BY chunk_index").fetchall()
                worker_pid = db.execute("SELECT worker_pid FROM jobs WHERE status = 'in_progress'").fetchone()
                diarized = db.execute("SELECT count(*) FROM diarization_checkpoints").fetchone()[0]
            except sqlite3.OperationalError:
                rows, diarized = [], 0
            finally:
                db.close()
        if len(rows) >= 2 and diarized:
            break
        time.sleep(0.1)
    assert len(rows) >= 2 and diarized and proc.poll() is None, "killed mid-way, with chunks and voices checkpointed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    worker_pid = worker_pid[0]
    gone = time.monotonic() + 5
    while _alive(worker_pid) and time.monotonic() < gone:
        time.sleep(0.1)
    assert not _alive(worker_pid), "the worker process does not outlive the app"

    db = sqlite3.connect(db_path)
    before = db.execute("SELECT chunk_index, created_at FROM checkpoints ORDER BY chunk_index").fetchall()
    assert db.execute("SELECT status FROM jobs").fetchall() == [("in_progress",)]
    db.close()

    resumed = cli("transcribe", long, "--format", "json", data_dir=data)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming 1 interrupted job(s)" in resumed.stderr
    db = sqlite3.connect(db_path)
    (total, reused, computed), = db.execute("SELECT chunks_total, chunks_resumed, chunks_computed FROM jobs WHERE id = 1")
    db.close()
    assert reused == len(before) and computed == total - len(before), "finished chunks were not redone"
    assert "diarize_embeddings" not in json.loads(resumed.stdout)["timings"], "the voices were not found again"

    clean = cli("transcribe", long, "--format", "json", "--no-cache", data_dir=tmp_path / "clean")
    assert clean.returncode == 0, clean.stderr
    ours, reference = json.loads(resumed.stdout), json.loads(clean.stdout)
    assert ours["segments"] == reference["segments"] and ours["speakers"] == reference["speakers"]
    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_corrupt_history_gives_a_clear_message(tmp_path, speech):
    # Reading it (jobs, show) stops with the reason; transcribing goes on, as the window
    # does, with a history for this run only. The damaged file is never touched.
    data = tmp_path / "data"
    data.mkdir()
    (data / "history.db").write_bytes(b"\x00garbage" * 512)
    done = cli("jobs", data_dir=data)
    assert done.returncode == 2
    assert "history" in done.stderr and "damaged" in done.stderr and "Traceback" not in done.stderr
    clip = media.write_wav(tmp_path / "clip.wav", speech[: 16000 * 4])
    done = cli("transcribe", clip, "--format", "txt", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "damaged" in done.stderr and "not kept after you quit" in done.stderr and "Traceback" not in done.stderr
    assert (data / "history.db").read_bytes() == b"\x00garbage" * 512
