"""`--self-test`: proves a build works end to end, with no display and no network.

It runs the two-voice recording made at build time through the same engine a user's job
takes (worker process, store, bundled model) in a throwaway data folder, so the user's
history is never touched, then checks the words, the speaker count and who said which
turn. Exit status 0 only when all of it holds.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

MIN_WORDS = 0.8  # share of the expected words that must come back (synthetic voices, base model)
MIN_TURNS = 5 / 6  # share of turns given to the right voice


def recording_dir() -> Path | None:
    """Where a build put the recording: inside the bundle, or in build/ for a source checkout."""
    root = getattr(sys, "_MEIPASS", None)
    here = Path(root) / "selftest" if root else Path(__file__).resolve().parent.parent / "build" / "selftest"
    return here if (here / "selftest.json").is_file() else None


def run(folder: Path | None = None, out=sys.stdout) -> int:
    started = time.monotonic()
    folder = folder or recording_dir()
    if folder is None or not (folder / "selftest.json").is_file():
        print("self-test: FAILED: no self-test recording (make one with "
              "`python packaging/selftest_audio.py build/selftest`).", file=out)
        return 1
    spec = json.loads((folder / "selftest.json").read_text(encoding="utf-8"))
    checks = [_check_model(), _check_playback()]
    transcript, elapsed = _transcribe(folder / "selftest.wav")
    if isinstance(transcript, str):
        checks.append((False, f"transcription failed: {transcript}"))
    else:
        checks += _check_result(transcript, spec, elapsed)
    for ok, line in checks:
        print(f"  [{'ok' if ok else 'FAIL'}] {line}", file=out)
    passed = all(ok for ok, _ in checks)
    print(f"self-test: {'passed' if passed else 'FAILED'} in {time.monotonic() - started:.1f} s", file=out)
    return 0 if passed else 1


def _check_model() -> tuple[bool, str]:
    from app.core.whisper import models

    folder = models.bundled_embedded()
    if folder is None:
        if getattr(sys, "frozen", False):
            return False, "the bundled speech model is missing"
        return True, "speech model: from the installed parts (not a bundle)"
    tick = time.monotonic()
    ok = models.intact(folder)
    return ok, f"bundled speech model sha256 {'matches' if ok else 'DIFFERS'} ({time.monotonic() - tick:.1f} s)"


def _check_playback() -> tuple[bool, str]:
    """Playback needs Qt Multimedia's FFmpeg backend; without it the player shows nothing."""
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")  # it lists every codec it lacks
    try:
        from PySide6.QtCore import QCoreApplication
        from PySide6.QtMultimedia import QMediaFormat
    except ImportError as exc:
        return False, f"Qt Multimedia cannot be imported: {exc}"
    app = QCoreApplication.instance() or QCoreApplication(["selftest"])
    formats = QMediaFormat().supportedFileFormats(QMediaFormat.ConversionMode.Decode)
    del app
    return bool(formats), f"playback backend decodes {len(formats)} container formats"


def _transcribe(path: Path):
    from app.core import settings as settings_mod
    from app.core.engine import Engine

    with tempfile.TemporaryDirectory(prefix="diarization-selftest-") as data:
        settings = settings_mod.load(environ={}, preferences=False, data_dir=Path(data), model="base")
        engine = Engine.for_selftest(Path(data))
        try:
            tick = time.monotonic()
            job = engine.wait(engine.add(path, settings, no_cache=True).id, timeout=600)
            elapsed = time.monotonic() - tick
            if job.status != "completed":
                return job.error or job.status, elapsed
            return engine.result(job.id), elapsed
        finally:
            engine.close()


def _check_result(transcript, spec: dict, elapsed: float) -> list[tuple[bool, str]]:
    duration = transcript.source.duration
    text = " ".join(s.text for s in transcript.segments).lower()
    said = {w.strip(".,?!;:'\"") for w in text.split()}
    expected = spec["expected_words"]
    found = [w for w in expected if w in said]
    missing = sorted(set(expected) - set(found))
    right, total = _turns_right(transcript, spec["turns"])
    return [
        (True, f"transcribed {duration:.1f} s of audio in {elapsed:.1f} s (real-time factor {elapsed / max(duration, 1e-6):.2f})"),
        (transcript.language == spec["language"], f"language: {transcript.language} (expected {spec['language']})"),
        (len(found) >= MIN_WORDS * len(expected),
         f"expected words heard: {len(found)}/{len(expected)}" + (f" (missing: {', '.join(missing)})" if missing else "")),
        (len(transcript.speakers) == spec["speakers"], f"speakers: {len(transcript.speakers)} (expected {spec['speakers']})"),
        (right >= MIN_TURNS * total, f"turns given to the right voice: {right}/{total}"),
    ]


def _turns_right(transcript, turns: list[dict]) -> tuple[int, int]:
    """Turns whose main speaker matches the voice's most common label (one label per voice)."""
    heard = []
    for turn in turns:
        overlap = Counter()
        for seg in transcript.segments:
            overlap[seg.speaker] += max(0.0, min(seg.end, turn["end"]) - max(seg.start, turn["start"]))
        heard.append(overlap.most_common(1)[0][0] if overlap and max(overlap.values()) > 0 else None)
    label = {voice: Counter(h for h, t in zip(heard, turns) if t["speaker"] == voice).most_common(1)[0][0]
             for voice in {t["speaker"] for t in turns}}
    if len(set(label.values())) != len(label):
        return 0, len(turns)
    return sum(h == label[t["speaker"]] for h, t in zip(heard, turns)), len(turns)
