"""Watched folders: files that stop changing are queued once (across restarts, renames and
two watchers on one history), partial and hidden files never, a folder that goes away is
survived, and exports are written whole and never over a file the user made. Fast, with a
scripted worker and a real SQLite history; test_watch_real.py runs the real command line."""

from __future__ import annotations

import io
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from app.core.engine import Engine
from app.core.jobs import watch
from app.core.settings import WatchedFolder
from app.core.store import Store
from app.core.jobs.messages import Failure
from tests.scripted_worker import ScriptedWorker, finishes

SETTLE = 0.4
POLL = 0.05


def wav_bytes(seed: int, seconds: float = 1.0) -> bytes:
    """A WAV file's bytes (different content for each seed)."""
    samples = (np.random.default_rng(seed).standard_normal(int(16000 * seconds)) * 0.1).astype(np.float32)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes((samples * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


class Watcher:
    """An engine on `history` watching `folders` on a thread, as the window does."""

    def __init__(self, history: Path, settings, *folders: WatchedFolder, settle: float = SETTLE):
        self.engine = Engine(Store(history), worker_factory=lambda: ScriptedWorker(finishes), watch_interval=0.1)
        self.lines: list[str] = []
        self.stop = self.engine.watching.start(folders, lambda: settings, self.lines.append, poll=POLL, settle=settle)

    def close(self) -> None:
        self.stop.set()
        self.engine.close()


@pytest.fixture
def watchers():
    made = []
    yield lambda *args, **kwargs: made.append(Watcher(*args, **kwargs)) or made[-1]
    for watcher in made:
        watcher.close()


def wait_for(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def finished(engine: Engine, count: int, timeout: float = 30.0):
    return wait_for(lambda: (lambda done: done if len(done) >= count else None)(
        [j for j in engine.jobs() if j.status.finished]), timeout)


def test_a_file_copied_slowly_is_taken_once_after_it_stops_growing(tmp_path, settings, watchers):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox))
    data = wav_bytes(1, seconds=4)
    with open(inbox / "visit.wav", "wb") as handle:
        for n in range(10):  # in pieces, each pause shorter than the settle time
            handle.write(data[n * len(data) // 10:(n + 1) * len(data) // 10])
            handle.flush()
            time.sleep(SETTLE / 3)
            assert watcher.engine.jobs() == []
    [job] = finished(watcher.engine, 1)
    time.sleep(SETTLE * 2)
    assert len(watcher.engine.jobs()) == 1
    from app.core.audio_in.decode import file_sha256
    assert job.sha256 == file_sha256(inbox / "visit.wav")  # the whole file, not a piece of it
    assert any("visit.wav: queued" in line for line in watcher.lines)


def test_a_restart_does_not_take_a_file_again_and_a_renamed_copy_gives_the_stored_result(tmp_path, settings, watchers):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    folder = WatchedFolder(inbox, exports=("txt",))
    (inbox / "a.wav").write_bytes(wav_bytes(2))
    first = watchers(tmp_path / "h.db", settings, folder)
    [job] = finished(first.engine, 1)
    wait_for(lambda: (inbox / "a.txt").exists())
    first.close()
    made = len(ScriptedWorker.made)

    again = watchers(tmp_path / "h.db", settings, folder)
    time.sleep(SETTLE * 4)
    assert [j.id for j in again.engine.jobs()] == [job.id]
    (inbox / "a.wav").rename(inbox / "renamed.wav")
    wait_for(lambda: (inbox / "renamed.txt").exists())
    assert [j.id for j in again.engine.jobs()] == [job.id]  # no new job
    assert len(ScriptedWorker.made) == made  # and nothing was transcribed
    assert (inbox / "renamed.txt").read_text() == (inbox / "a.txt").read_text()
    assert any(f"same recording as job {job.id}" in line for line in again.lines)


@pytest.mark.parametrize("name", ["talk.wav.part", "talk.mp3.crdownload", "talk.m4a.download", ".talk.wav",
                                  "~talk.wav", "talk.wav.tmp", "notes.txt"])
def test_partial_hidden_and_temporary_files_are_never_taken(tmp_path, settings, watchers, name):
    inbox = tmp_path / "inbox"
    (inbox / ".hidden").mkdir(parents=True)
    (inbox / name).write_bytes(wav_bytes(3))
    (inbox / ".hidden" / "inside.wav").write_bytes(wav_bytes(4))
    watcher = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox, subfolders=True))
    time.sleep(SETTLE * 4)
    assert watcher.engine.jobs() == []
    (inbox / name).rename(inbox / "talk.wav")  # the download finished: renamed to its own name
    [job] = finished(watcher.engine, 1)
    assert Path(job.path).name == "talk.wav"


def test_subfolders_are_watched_only_when_asked(tmp_path, settings, watchers):
    inbox = tmp_path / "inbox"
    (inbox / "day1").mkdir(parents=True)
    (inbox / "day1" / "a.wav").write_bytes(wav_bytes(5))
    (inbox / "b.wav").write_bytes(wav_bytes(6))
    flat = watchers(tmp_path / "flat.db", settings, WatchedFolder(inbox))
    deep = watchers(tmp_path / "deep.db", settings, WatchedFolder(inbox, subfolders=True))
    assert sorted(Path(j.path).name for j in finished(deep.engine, 2)) == ["a.wav", "b.wav"]
    assert [Path(j.path).name for j in finished(flat.engine, 1)] == ["b.wav"]


def test_a_folder_that_goes_away_is_reported_once_and_watched_again_when_back(tmp_path, settings, watchers):
    inbox = tmp_path / "disk" / "inbox"
    inbox.mkdir(parents=True)
    watcher = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox))
    (inbox / "a.wav").write_bytes(wav_bytes(7))
    finished(watcher.engine, 1)
    import shutil

    shutil.rmtree(tmp_path / "disk")  # unplugged
    time.sleep(SETTLE * 4)
    gone = [line for line in watcher.lines if "is not there" in line]
    assert len(gone) == 1
    inbox.mkdir(parents=True)
    (inbox / "b.wav").write_bytes(wav_bytes(8))
    assert len(finished(watcher.engine, 2)) == 2
    assert len([line for line in watcher.lines if "is back:" in line]) == 1
    assert len([line for line in watcher.lines if "is not there" in line]) == 1


def test_a_folder_missing_at_start_is_reported_and_taken_when_it_appears(tmp_path, settings, watchers):
    inbox = tmp_path / "share"
    watcher = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox))
    wait_for(lambda: any("is not there" in line for line in watcher.lines))
    inbox.mkdir()
    (inbox / "a.wav").write_bytes(wav_bytes(9))
    finished(watcher.engine, 1)


def test_two_watchers_on_one_history_never_take_a_file_twice(tmp_path, settings, watchers):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    window = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox, exports=("srt",)), settle=0.1)
    command_line = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox, exports=("srt",)), settle=0.1)
    for n in range(12):
        (inbox / f"r{n:02d}.wav").write_bytes(wav_bytes(100 + n))
    done = finished(window.engine, 12, timeout=90)  # twelve jobs, one at a time, on a busy machine too
    time.sleep(SETTLE * 3)
    assert sorted(Path(j.path).name for j in window.engine.jobs()) == [f"r{n:02d}.wav" for n in range(12)]
    assert len(done) == 12
    wait_for(lambda: len(list(inbox.glob("*.srt"))) == 12)
    assert sorted(p.name for p in inbox.iterdir() if p.suffix == ".srt") == [f"r{n:02d}.srt" for n in range(12)]
    assert not list(inbox.glob(".ds-*"))  # no temporary file left
    queued = [line for w in (window, command_line) for line in w.lines if ": queued" in line]
    assert sorted(line.split(":")[0] for line in queued) == [f"r{n:02d}.wav" for n in range(12)]


def test_exports_never_go_over_a_file_the_user_made(tmp_path, settings, watchers):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    out.mkdir()
    (out / "visit.srt").write_text("the user's own subtitles")
    watcher = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox, exports=("srt", "docx"), export_to=out))
    (inbox / "visit.wav").write_bytes(wav_bytes(10))
    wait_for(lambda: (out / "visit (2).srt").exists() and (out / "visit.docx").exists())
    assert (out / "visit.srt").read_text() == "the user's own subtitles"
    assert "visit" in (out / "visit (2).srt").read_text()
    assert (out / "visit.docx").read_bytes()[:2] == b"PK"
    # the recording changes (re-recorded): its new export replaces ours, not the user's
    ours_before = (out / "visit (2).srt").read_text()
    (inbox / "visit.wav").write_bytes(wav_bytes(11))
    finished(watcher.engine, 2)
    wait_for(lambda: sum(1 for line in watcher.lines if line.startswith("visit.wav: done")) == 2)
    assert sorted(p.name for p in out.iterdir()) == ["visit (2).srt", "visit.docx", "visit.srt"]
    assert (out / "visit.srt").read_text() == "the user's own subtitles"
    assert (out / "visit (2).srt").read_text() == ours_before  # the scripted worker says the file's name


def test_a_name_taken_while_writing_is_left_alone(tmp_path):
    target = tmp_path / "a.srt"
    target.write_text("mine")
    with pytest.raises(FileExistsError):
        watch.write_new(target, "ours", replace=False)
    assert target.read_text() == "mine"
    assert [p.name for p in tmp_path.iterdir()] == ["a.srt"]


def test_the_folder_gives_its_jobs_its_language_and_speakers(tmp_path, settings, watchers):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    watcher = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox, language="es", num_speakers=2))
    (inbox / "consulta.wav").write_bytes(wav_bytes(12))
    [job] = finished(watcher.engine, 1)
    assert (job.settings["language"], job.settings["num_speakers"]) == ("es", 2)


def test_a_file_that_fails_fails_alone_and_the_next_is_taken(tmp_path, settings):
    def script(job):
        if "broken" in job.path:
            yield Failure(job.job_id, f"{job.path}: no audio stream could be read.")
        else:
            yield from finishes(job)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "broken.wav").write_bytes(b"this is not a recording" * 100)
    (inbox / "good.wav").write_bytes(wav_bytes(13))
    engine = Engine(Store(tmp_path / "h.db"), worker_factory=lambda: ScriptedWorker(script), watch_interval=0.1)
    lines: list[str] = []
    stop = engine.watching.start([WatchedFolder(inbox, exports=("txt",))], lambda: settings, lines.append,
                                 poll=POLL, settle=SETTLE)
    try:
        jobs = finished(engine, 2)
        assert {j.name: j.status for j in jobs} == {"broken.wav": "failed", "good.wav": "completed"}
        wait_for(lambda: any(line.startswith("broken.wav: not transcribed: ") and "no audio stream" in line
                             for line in lines))
        wait_for(lambda: (inbox / "good.txt").exists())
        assert not (inbox / "broken.txt").exists()
    finally:
        stop.set()
        engine.close()


def test_ignored_names():
    assert watch.ignored(".DS_Store") and watch.ignored("._talk.wav") and watch.ignored("talk.wav.part")
    assert watch.ignored("Unconfirmed 12345.crdownload") and watch.ignored("talk.wav~")
    assert not watch.ignored("meeting.part2.wav") and not watch.ignored("consulta 3.m4a")


def test_watched_folders_are_checked_when_read(tmp_path):
    from app.core.common.errors import UserError

    with pytest.raises(UserError, match="unknown language"):
        WatchedFolder.from_json({"path": "/x", "language": "xx"})
    with pytest.raises(UserError, match="exports"):
        WatchedFolder.from_json({"path": "/x", "exports": ["exe"]})
    with pytest.raises(UserError, match="either"):
        WatchedFolder.from_json({"path": "/x", "num_speakers": 2, "max_speakers": 3})
    folder = WatchedFolder.from_json({"path": "~/in", "exports": ["srt", "srt", "pdf"]})
    assert folder.exports == ("srt", "pdf") and folder.path == Path("~/in").expanduser()


def test_an_export_folder_that_is_gone_is_said_once_and_written_when_back(tmp_path, settings, watchers, monkeypatch):
    from app.core import engine_watch

    monkeypatch.setattr(engine_watch, "EXPORT_RETRY_SEC", 0.3)
    inbox, disk = tmp_path / "inbox", tmp_path / "disk"
    inbox.mkdir()
    watcher = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox, exports=("txt",), export_to=disk / "out"))
    (inbox / "a.wav").write_bytes(wav_bytes(14))
    wait_for(lambda: any("could not be written" in line for line in watcher.lines))
    time.sleep(1.5)
    assert len([line for line in watcher.lines if "could not be written" in line]) == 1
    disk.mkdir()
    wait_for(lambda: (disk / "out" / "a.txt").exists())
    assert any(line == "a.wav: done, written to a.txt." for line in watcher.lines)


def test_a_file_another_program_holds_locked_waits_until_it_lets_go(tmp_path, settings, watchers):
    import fcntl

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "held.wav").write_bytes(wav_bytes(15))
    with open(inbox / "held.wav", "rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # as a copying program that locks its file
        watcher = watchers(tmp_path / "h.db", settings, WatchedFolder(inbox))
        time.sleep(SETTLE * 5)
        assert watcher.engine.jobs() == []
    [job] = finished(watcher.engine, 1)  # the lock gone with the handle
    assert job.name == "held.wav"
