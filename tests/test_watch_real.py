"""The `watch` command as a headless box runs it, with the real models, beside a second
watcher on the same history (as the window's would be): a recording copied in slowly is
transcribed once, its export written, and a restart takes nothing again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.engine import Engine
from app.core.settings import Settings, WatchedFolder

ROOT = Path(__file__).resolve().parent.parent


def start_watch(data_dir: Path, *args) -> subprocess.Popen:
    env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", PYTHONIOENCODING="utf-8")
    return subprocess.Popen([sys.executable, "-m", "app", "watch", *map(str, args)], cwd=ROOT, env=env,
                            stderr=subprocess.PIPE, text=True)


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return err


@pytest.mark.models
def test_the_command_line_and_a_window_watching_one_folder_take_a_slow_copy_once(tmp_path, sample):
    data, inbox, out = tmp_path / "data", tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    out.mkdir()
    command_line = start_watch(data, inbox, "--export", "txt,srt", "--to", out, "--settle", "2")
    time.sleep(3)  # the command line holds the queue first
    window, _ = Engine.for_window(Settings(data_dir=data), spawn=lambda fn: threading.Thread(target=fn).start(),
                                  settings_now=lambda: Settings(data_dir=data))
    lines: list[str] = []
    halt = window.watching.start([WatchedFolder(inbox, exports=("txt", "srt"), export_to=out)],
                                 lambda: Settings(data_dir=data), lines.append, settle=2.0)
    try:
        content = sample.wav.read_bytes()
        with open(inbox / "consulta.wav", "wb") as handle:  # a slow copy: pieces over 4 s
            for n in range(8):
                handle.write(content[n * len(content) // 8:(n + 1) * len(content) // 8])
                handle.flush()
                time.sleep(0.5)
        deadline = time.monotonic() + 400
        while not ((out / "consulta.txt").exists() and (out / "consulta.srt").exists()):
            assert time.monotonic() < deadline, "no export"
            time.sleep(1)
        time.sleep(4)
        jobs = window.jobs()
        assert len(jobs) == 1 and jobs[0].status == "completed"
        assert len(window.result(jobs[0].id).speakers) == 2
        assert "SPEAKER" in (out / "consulta.txt").read_text() or "Speaker" in (out / "consulta.txt").read_text()
    finally:
        halt.set()
        window.close()
    err = stop(command_line)
    assert "Watching" in err and "Stopped watching" in err

    again = start_watch(data, inbox, "--export", "txt", "--to", out, "--settle", "1")
    time.sleep(8)
    err = stop(again)
    assert "queued" not in err
    assert len(Engine.for_reading(Settings(data_dir=data)).jobs()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["consulta.srt", "consulta.txt"]

    # the real transcript's second speaker, from the command line: their turns, sample for sample
    from app.core.audio_in.excerpts import GAP_SEC
    from app.core.document.turns import turns
    from tests.test_speaker_audio import read

    job = Engine.for_reading(Settings(data_dir=data)).jobs()[0]
    transcript = Engine.for_reading(Settings(data_dir=data)).result(job.id)
    env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(data), PYTHONIOENCODING="utf-8")
    done = subprocess.run([sys.executable, "-m", "app", "show", str(job.id), "--speaker-audio", "SPEAKER_01",
                           "-o", str(tmp_path / "second.wav")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    original, rate, _ = read(inbox / "consulta.wav")
    mine, mine_rate, _ = read(tmp_path / "second.wav")
    spans = [(round(t.start * rate), round(t.end * rate)) for t in turns(transcript) if t.speaker == "SPEAKER_01"]
    assert all(b[0] > a[1] for a, b in zip(spans, spans[1:]))  # apart: each is its own stretch
    assert mine_rate == rate and len(spans) >= 2
    assert len(mine) == sum(b - a for a, b in spans) + round(GAP_SEC * rate) * (len(spans) - 1)
    at = 0
    for a, b in spans:
        assert np.array_equal(mine[at:at + b - a], original[a:b])
        at += b - a + round(GAP_SEC * rate)
