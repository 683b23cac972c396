"""`--self-test` from a source checkout: it passes on a good build and can fail."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import selftest

ROOT = Path(__file__).resolve().parent.parent


def test_without_a_recording_it_fails_and_says_how_to_make_one(tmp_path):
    run = subprocess.run([sys.executable, "-m", "app", "--self-test", str(tmp_path)],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 1
    assert "no self-test recording" in run.stdout and "selftest_audio.py" in run.stdout


@pytest.mark.models
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the recording needs espeak-ng (apt-get install espeak-ng)")
def test_two_voices_pass_and_a_wrong_expectation_fails(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "packaging"))
    from selftest_audio import make

    make(tmp_path)
    runs = []
    real = selftest._transcribe
    monkeypatch.setattr(selftest, "_transcribe", lambda path: runs.append(real(path)) or runs[-1])
    out = io.StringIO()
    assert selftest.run(tmp_path, out=out) == 0, out.getvalue()
    assert "speakers: 2 (expected 2)" in out.getvalue() and "self-test: passed in" in out.getvalue()

    spec = json.loads((tmp_path / "selftest.json").read_text())
    transcript, elapsed = runs[0]
    assert all(ok for ok, _ in selftest._check_result(transcript, spec, elapsed))
    wrong = [
        spec | {"speakers": 3},
        spec | {"language": "es"},
        spec | {"expected_words": ["zebra", "volcano", "saxophone", "morning"]},
        spec | {"turns": [t | {"speaker": "A"} if i in (1, 3) else t for i, t in enumerate(spec["turns"])]},
        spec | {"turns": [t | {"speaker": "A"} for t in spec["turns"]]},
    ]
    for bad in wrong:
        failed = [line for ok, line in selftest._check_result(transcript, bad, elapsed) if not ok]
        assert failed, bad
