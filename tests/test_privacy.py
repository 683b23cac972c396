"""What the user is told is private stays so: a removed transcript or a forgotten voice
leaves nothing in the history's files, a queue password never sits in preferences.json,
and every file the app writes in its data folder is its user's alone."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.speakers import signatures as voices
from app.core.store import Store
from app.core.document.transcript import Transcript
from tests.builders import finished_job, line, transcript, voice

ROOT = Path(__file__).resolve().parent.parent
FILES = ("history.db", "history.db-wal", "history.db-shm")


def conversation(path: str, lines: list[tuple[str, str]]) -> Transcript:
    return transcript(*(line(i * 2.0, i * 2.0 + 1.5, who, text) for i, (who, text) in enumerate(lines)), path=path)


def others(store: Store, prefix: str, count: int) -> None:
    """Transcripts that stay: the search index holds several segments, as after months of use."""
    for n in range(count):
        day = [("SPEAKER_00", f"consulta número {t} del día {n}") for t in range(40)]
        finished_job(store, conversation(f"/citas/{prefix}{n}.wav", day), key=f"{prefix}{n}")


def left_in_files(folder: Path, word: str) -> dict[str, int]:
    found = {}
    for name in FILES:
        path = folder / name
        if path.exists():
            found[name] = path.read_bytes().lower().count(word.lower().encode())
    return {name: n for name, n in found.items() if n}


def test_removing_a_transcript_leaves_none_of_its_words_in_the_history_files(tmp_path):
    store = Store(tmp_path / "history.db")
    others(store, "antes", 20)
    word = "Zanzibarquux"
    job = store.add_job(f"/citas/{word}.wav", "0" * 64, "k", {"context": word})
    store.save_checkpoint("k", {"index": 0, "start": 0.0, "end": 30.0}, [{"text": f"hola {word}"}])
    store.save_part("k", 1, f"[\"{word}\"]".encode())
    store.save_diarization("k", {"note": word})
    store.complete(job.id, "k", conversation(job.path, [("SPEAKER_00", f"vengo de {word} esta semana"),
                                                        ("SPEAKER_01", "muy bien, siéntese")]))
    store.rename_speaker("k", "SPEAKER_01", f"Dra. {word}")
    store.save_suggestions("k", {"SPEAKER_00": f"{word} visitor"})
    store.update(job.id, note=f"Roles suggested for {word}.", error=word)
    edited = store.result("k")
    corrected = edited.segments[:1] + (line(2.0, 3.5, "SPEAKER_01", f"¿{word}, dice?", timed=False),)
    store.save_edit("k", replace(edited, segments=corrected))
    others(store, "despues", 5)
    assert store.search(word) and left_in_files(tmp_path, word)

    store.remove(job.id)

    assert store.search(word) == [] and len(store.search("consulta")) == 200
    assert left_in_files(tmp_path, word) == {}, "while the history is open"
    store.close()
    assert left_in_files(tmp_path, word) == {}
    assert Store(tmp_path / "history.db").integrity_check() == "ok"


def test_forgetting_a_voice_leaves_its_name_nowhere_in_the_history_files(tmp_path):
    store = Store(tmp_path / "history.db")
    others(store, "antes", 10)
    name = "Quetzalina"
    for key, signature in (("first", voice(1, 0.2, 0.1)), ("second", voice(1, 0.21, 0.1))):
        finished_job(store, conversation(f"/citas/{key}.wav", [("SPEAKER_00", "buenos días")]), key=key,
                     voices={"SPEAKER_00": voices.to_bytes(signature)})
    store.remember_voice(name, "first", "SPEAKER_00", "first.wav")
    store.apply_voices("second")
    assert {h.name for h in store.search(name)} == {name} and len(store.search(name)) == 2
    others(store, "despues", 3)

    store.forget_voice(name)

    assert store.search(name) == [] and store.voice_list() == []
    assert left_in_files(tmp_path, name) == {}, "while the history is open"
    store.close()
    assert left_in_files(tmp_path, name) == {}


# The queue's password: in the keychain (or a 0600 file where there is none), never in
# preferences.json; joined back when settings are loaded.

PASSWORD = "S3cr3t-pa55w0rd"
URL = f"redis://:{PASSWORD}@nas.local:6379/0"


class MemoryKeychain:
    """Stands for the macOS Keychain or the Secret Service: what keyring's backends offer."""

    def __init__(self, delay: float = 0.0):
        self.items: dict[tuple[str, str], str] = {}
        self.delay = delay

    def _wait(self) -> None:
        if self.delay:
            __import__("time").sleep(self.delay)

    def get_password(self, service, account):
        self._wait()
        return self.items.get((service, account))

    def set_password(self, service, account, value):
        self._wait()
        self.items[(service, account)] = value

    def delete_password(self, service, account):
        from keyring.errors import PasswordDeleteError

        self._wait()
        if self.items.pop((service, account), None) is None:
            raise PasswordDeleteError("none")


@pytest.fixture
def no_keychain(monkeypatch):
    """As on a Linux machine without a desktop session: the data folder's secrets file."""
    from app.core.common import keychain

    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setattr(keychain, "_found", keychain._UNSET)  # looked for afresh: none found


@pytest.fixture
def a_keychain(monkeypatch):
    from app.core.common import keychain

    found = MemoryKeychain()
    monkeypatch.setattr(keychain, "_found", found)
    return found


def secret_anywhere_in(folder: Path, text: str) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes())


def test_a_typed_queue_password_goes_to_the_keychain_not_the_preferences(tmp_path, a_keychain):
    from app.core import settings as s

    s.save_preferences(s.load(environ={}, data_dir=tmp_path), {"redis_url": URL, "process_on": "workers"})
    assert secret_anywhere_in(tmp_path, PASSWORD) == []
    assert json.loads((tmp_path / "preferences.json").read_text())["redis_url"] == "redis://nas.local:6379/0"
    assert list(a_keychain.items.values()) == [URL]
    got = s.load(environ={}, data_dir=tmp_path)
    assert (got.redis_url, got.process_on) == (URL, "workers")


def test_without_a_keychain_the_password_is_kept_in_a_private_file(tmp_path, no_keychain):
    from app.core import settings as s

    s.save_preferences(s.load(environ={}, data_dir=tmp_path), {"redis_url": URL})
    assert PASSWORD.encode() not in (tmp_path / "preferences.json").read_bytes()
    assert secret_anywhere_in(tmp_path, PASSWORD) == ["secrets.json"]
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    assert s.load(environ={}, data_dir=tmp_path).redis_url == URL
    # joined back only to the address it was typed for: one edited by hand gets none
    prefs = json.loads((tmp_path / "preferences.json").read_text())
    (tmp_path / "preferences.json").write_text(json.dumps(dict(prefs, redis_url="redis://elsewhere:6379/0")))
    assert s.load(environ={}, data_dir=tmp_path).redis_url == "redis://elsewhere:6379/0"
    # typed again without a password: the kept one is forgotten
    s.save_preferences(s.load(environ={}, data_dir=tmp_path), {"redis_url": "redis://nas.local:6379/0"})
    assert secret_anywhere_in(tmp_path, PASSWORD) == [] and not (tmp_path / "secrets.json").exists()


def test_a_password_left_in_the_preferences_by_an_older_version_is_moved_out(tmp_path, a_keychain):
    from app.core import settings as s

    (tmp_path / "preferences.json").write_text(json.dumps({"redis_url": URL, "model": "small"}))
    got = s.load(environ={}, data_dir=tmp_path)
    assert (got.redis_url, got.model) == (URL, "small")
    assert secret_anywhere_in(tmp_path, PASSWORD) == [] and list(a_keychain.items.values()) == [URL]
    assert s.load(environ={}, data_dir=tmp_path).redis_url == URL


def test_a_keychain_that_does_not_answer_is_not_waited_for(tmp_path, monkeypatch):
    import time

    from app.core.common import keychain
    from app.core import settings as s

    monkeypatch.setattr(keychain, "_found", MemoryKeychain(delay=30))
    monkeypatch.setattr(keychain, "TIMEOUT_SEC", 0.3)
    started = time.monotonic()
    s.save_preferences(s.load(environ={}, data_dir=tmp_path), {"redis_url": URL})
    assert s.load(environ={}, data_dir=tmp_path).redis_url == URL
    assert time.monotonic() - started < 5
    assert secret_anywhere_in(tmp_path, PASSWORD) == ["secrets.json"]


def test_a_password_from_the_environment_still_works(tmp_path, a_keychain):
    from app.core import settings as s

    s.save_preferences(s.load(environ={}, data_dir=tmp_path), {"redis_url": URL})
    assert s.load(environ={"REDIS_URL": "redis://:env-pw@q:6379"}, data_dir=tmp_path).redis_url == "redis://:env-pw@q:6379"
    got = s.load(environ={"REDIS_HOST": "q", "REDIS_PASSWORD": "env pw"}, data_dir=tmp_path)
    assert got.redis_url == "redis://:env%20pw@q:6379"


def test_what_counts_as_the_password_of_a_queue_address():
    from app.core.settings import without_password

    assert without_password("rediss://alice:pw@h:6380/1?password=x&ssl_cert_reqs=none") == \
        "rediss://alice@h:6380/1?ssl_cert_reqs=none"
    assert without_password("redis://:p%40ss@h:6379") == "redis://h:6379"
    assert without_password("unix://:pw@/run/redis.sock?db=2") == "unix:///run/redis.sock?db=2"
    for plain in ("redis://h:6379/0", "redis://alice@h", "", "unix:///run/redis.sock?db=2"):
        assert without_password(plain) == plain


def test_the_preferences_dialog_saves_the_password_apart(qtbot, tmp_path, a_keychain):
    from app.core import settings as s
    from app.ui.preferences import PreferencesDialog

    dialog = PreferencesDialog(s.load(environ={}, data_dir=tmp_path))
    qtbot.addWidget(dialog)
    dialog.redis_url.setText(URL)
    dialog.process_on.setCurrentIndex(1)
    saved = dialog.save()
    assert (saved.redis_url, saved.process_on, saved.data_dir) == (URL, "workers", tmp_path)
    assert secret_anywhere_in(tmp_path, PASSWORD) == []


# Every file the app writes in its data folder is its user's alone.

def modes(folder: Path) -> dict[str, str]:
    """Everything under `folder` (itself included) whose mode is not 0600 (files) or 0700 (folders)."""
    wrong = {}
    for path in [folder, *folder.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != (0o700 if path.is_dir() else 0o600):
            wrong[str(path.relative_to(folder.parent))] = oct(mode)
    return wrong


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_the_command_line_writes_its_data_folder_private(tmp_path, umask_022):
    data = tmp_path / "data"
    data.mkdir()  # as an older version left it: readable by all, a password in its preferences
    (data / "preferences.json").write_text(json.dumps({"redis_url": URL}))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "REDIS_URL", "REDIS_HOST")}
    env["DIARIZATION_STUDIO_DATA_DIR"] = str(data)
    for command in (["transcribe", str(bad)], ["jobs"], ["voices", "list"], ["search", "hola"]):
        done = subprocess.run([sys.executable, "-m", "app", *command], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode in (0, 1), done.stderr
    names = {p.name for p in data.iterdir()}
    assert {"history.db", "history.db.owner", "preferences.json", "secrets.json"} <= names, names
    assert modes(data) == {}
    assert secret_anywhere_in(data, PASSWORD) == ["secrets.json"]


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_history_and_preferences_used_as_a_library_are_private(tmp_path, umask_022, no_keychain):
    from app.core import settings as s
    from app.core.jobs.queue_lock import QueueLock

    data = tmp_path / "data"
    store = Store(data / "history.db")
    finished_job(store, conversation("/a.wav", [("SPEAKER_00", "hola")]))
    lock = QueueLock(store.path)
    assert lock.try_acquire()
    s.save_preferences(s.load(environ={}, data_dir=data), {"redis_url": URL, "language": "es"})
    assert {"history.db", "history.db-wal", "history.db-shm", "history.db.owner", "preferences.json",
            "secrets.json"} <= {p.name for p in data.iterdir()}
    assert modes(data) == {}
    lock.release()
    store.close()
