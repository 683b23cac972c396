"""The window, offscreen, with a real engine, worker process, models and store."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")


@pytest.fixture
def window(qtbot, tmp_path, settings, monkeypatch):
    from PySide6.QtCore import QSettings

    from app.core.store import Store
    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    QSettings.setDefaultFormat(QSettings.IniFormat)
    bridge = EngineBridge(Store(tmp_path / "history.db"))
    win = MainWindow(bridge, settings, "cpu (int8)")
    qtbot.addWidget(win)
    win.show()
    bridge.engine.start()
    yield win
    win.close()


def drop(widget, paths):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(widget, QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))


def test_dropping_files_and_a_folder_adds_the_right_jobs(window, qtbot, tmp_path, speech):
    from tests import media

    folder = tmp_path / "interviews"
    (folder / "day 2").mkdir(parents=True)
    a = media.write_wav(folder / "a.wav", speech)
    b = media.encode(folder / "day 2" / "b.mp3", speech[::-1].copy())
    (folder / "notes.txt").write_text("agenda")
    single = media.encode(tmp_path / "single.m4a", speech[: 16000 * 3])
    drop(window.drop, [single, folder])  # scanned and hashed off the window's thread
    qtbot.waitUntil(lambda: len(window.model.jobs) == 3, timeout=10_000)
    names = [job.name for job in window.model.jobs]
    assert names == ["single.m4a", "a.wav", "b.mp3"]
    text = tmp_path / "minutes.txt"
    text.write_text("not audio")
    drop(window.drop, [text])
    qtbot.waitUntil(lambda: "Not added: minutes.txt" in window.statusBar().currentMessage(), timeout=10_000)
    assert len(window.model.jobs) == 3


@pytest.mark.models
def test_a_real_job_completes_shows_speakers_renames_and_exports(window, qtbot, sample, tmp_path):
    window.add_files([sample.wav])
    qtbot.waitUntil(lambda: bool(window.model.jobs) and window.model.jobs[0].status == "completed", timeout=300_000)
    window.table.selectRow(0)
    panel = window.panel
    # the panel fills from the completion event, which may come after the model's status
    qtbot.waitUntil(lambda: panel.speakers.rowCount() == 2, timeout=10_000)
    assert panel.segments.rowCount() == len(panel.transcript.segments) > 3
    assert window.export_actions[0].isEnabled()
    window.rename_speaker("SPEAKER_01", "Sheila")
    qtbot.waitUntil(lambda: panel.speakers.item(1, 0).text() == "Sheila", timeout=10_000)
    for _label, fmt in (("JSON", "json"), ("SRT", "srt"), ("VTT", "vtt"), ("TXT", "txt"), ("RTTM", "rttm")):
        window.export_to(fmt, tmp_path / f"out.{fmt}")  # written on the pool
        qtbot.waitUntil((tmp_path / f"out.{fmt}").exists, timeout=10_000)
        assert (tmp_path / f"out.{fmt}").stat().st_size > 100
    assert "Sheila: " in (tmp_path / "out.srt").read_text()

    panel.search.setText("chicago")
    assert panel.match_label.text().startswith("1 of ")
    row = 3
    panel.segments.cellClicked.emit(row, 2)
    qtbot.waitUntil(lambda: abs(panel.player.position() - panel.transcript.segments[row].start * 1000) < 300, timeout=10_000)


def test_preferences_are_saved_and_the_environment_still_wins(window, qtbot, monkeypatch, tmp_path):
    import json

    from app.core import settings as settings_mod
    from app.ui.preferences import PreferencesDialog

    monkeypatch.setenv(settings_mod.DATA_DIR_ENV, str(tmp_path / "own data"))  # keep the shared one clean
    monkeypatch.setenv("WHISPER_COMPUTE_TYPE", "float32")
    current = settings_mod.load()
    dialog = PreferencesDialog(current, window)
    qtbot.addWidget(dialog)
    assert not dialog.compute_type.isEnabled() and "WHISPER_COMPUTE_TYPE" in dialog.notes["compute_type"].text()
    dialog.model.setCurrentText("tiny")
    dialog.language.setCurrentIndex(dialog.language.findData("es"))
    dialog.speaker_mode.setCurrentIndex(2)
    dialog.speaker_count.setValue(3)
    dialog.channels.setCurrentIndex(dialog.channels.findData("split"))
    saved = dialog.save()
    assert (saved.model, saved.language, saved.max_speakers, saved.compute_type) == ("tiny", "es", 3, "float32")
    assert saved.channels == "split"
    stored = json.loads(current.preferences_file.read_text())
    assert stored["model"] == "tiny" and "compute_type" not in stored and stored["channels"] == "split"


def test_the_transcript_says_how_a_stereo_call_was_heard(window):
    from dataclasses import replace

    from tests.builders import said, transcript

    call = transcript(said("SPEAKER_00", (0.5, 1.0, "Hola")), said("SPEAKER_01", (0.8, 1.5, "Buenas")),
                      channels={"heard": "split", "channels": 2, "reason": "each channel carries its own speakers"})
    call = replace(call, speakers=tuple(replace(s, channel=i) for i, s in enumerate(call.speakers)))
    window.panel.show_transcript(call)
    assert window.panel.title.text().endswith("each channel heard on its own")
    assert window.panel.title.toolTip() == "each channel carries its own speakers"
    assert window.panel.speakers.item(1, 0).toolTip() == "Heard on the right channel"
    window.panel.show_transcript(replace(call, channels={"heard": "mixed", "channels": 2, "reason": "the same voices"}))
    assert window.panel.title.text().endswith("2 channels mixed")
    window.panel.show_transcript(replace(call, channels={}))  # stored before channels were told
    assert "channel" not in window.panel.title.text()


def test_jobs_from_the_store_are_there_after_a_restart(qtbot, tmp_path, settings):
    from app.core.store import Store
    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow

    store = Store(tmp_path / "history.db")
    store.add_job("/recordings/old interview.mp3", "", "", {}, status="failed")
    bridge = EngineBridge(store)
    win = MainWindow(bridge, settings, "cpu (int8)")
    qtbot.addWidget(win)
    try:  # listed on the pool, in its place among the engine's events
        qtbot.waitUntil(lambda: [j.name for j in win.model.jobs] == ["old interview.mp3"], timeout=5_000)
    finally:
        win.close()


def test_export_menu_is_disabled_without_a_result(window):
    assert not window.export_menu.isEnabled()
    assert not any(action.isEnabled() for action in window.export_actions)


def test_an_unreadable_history_gives_a_banner_and_a_working_window(tmp_path, monkeypatch):
    from app.core import settings as settings_mod
    from app.core.engine_parts import open_history

    data = tmp_path / "data"
    data.mkdir()
    (data / "history.db").write_bytes(b"not a database" * 100)
    monkeypatch.setenv(settings_mod.DATA_DIR_ENV, str(data))
    store, problem = open_history(settings_mod.load())
    assert "damaged" in problem and "not kept after you quit" in problem
    assert store.add_job("/a.wav", "", "k", {}).id == 1
    assert (data / "history.db").read_bytes() == b"not a database" * 100


@pytest.mark.models
def test_export_through_the_save_dialog(window, qtbot, sample, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    window.add_files([sample.wav])
    qtbot.waitUntil(lambda: bool(window.model.jobs) and window.model.jobs[0].status == "completed", timeout=300_000)
    from PySide6.QtWidgets import QInputDialog

    asked = []
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (asked.append(a[3]) or "At each paragraph", True))
    for fmt in ("json", "srt", "vtt", "txt", "rttm", "md", "docx", "pdf"):
        window.table.selectRow(0)  # a late status event may refresh the table and its current row
        qtbot.waitUntil(lambda: window.selected_job() is not None, timeout=5_000)
        target = tmp_path / f"chosen name.{fmt}"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, t=target, **k: (str(t), ""))
        window.export_actions[[f for _, f in __import__("app.ui.main_window", fromlist=["EXPORTS"]).EXPORTS].index(fmt)].trigger()
        qtbot.waitUntil(target.exists, timeout=20_000)  # written on the pool
        assert target.stat().st_size > 100
    assert len(asked) == 3  # the documents ask which time stamps
    assert target.read_bytes().startswith(b"%PDF")
    assert "(0:0" in (tmp_path / "chosen name.md").read_text()  # a time at each paragraph


@pytest.mark.models
def test_suggested_roles_are_shown_and_can_be_used(window, qtbot, sample):
    from dataclasses import replace

    from tests.ollama_server import MODEL, FakeOllama

    server = FakeOllama("valid")
    try:
        window.settings = replace(window.settings, ollama_host=server.host, ollama_model=MODEL, ollama_timeout=5.0)
        window.add_files([sample.wav])
        qtbot.waitUntil(lambda: bool(window.model.jobs) and window.model.jobs[0].status == "completed", timeout=300_000)
        window.table.selectRow(0)
        window.rename_speaker("SPEAKER_01", "Sheila")
        window.panel.suggest_button.click()
        role = lambda: window.panel.speakers.item(0, 3)  # noqa: E731
        qtbot.waitUntil(lambda: window.panel.accept_button.isEnabled() and role() is not None, timeout=20_000)
        assert role().text() == "Doctor"
        assert MODEL in window.panel.roles_note.text()
        window.panel.accept_button.click()
        names = lambda: [window.panel.speakers.item(r, 0).text() for r in range(2)]  # noqa: E731
        qtbot.waitUntil(lambda: names() == ["Doctor", "Sheila"], timeout=10_000)  # a typed name is never overwritten
        window.undo_action.trigger()  # using the suggestions is one step, undone at once
        qtbot.waitUntil(lambda: names() == ["Speaker 1", "Sheila"], timeout=10_000)
    finally:
        server.close()


def test_a_job_seen_completed_through_a_progress_event_can_be_exported(window, qtbot, tmp_path):
    # The table reads each job from the store, so a progress event can show a job completed
    # before its status event arrives; the menus and the panel must follow what the row shows.
    from tests.builders import said, transcript

    store = window.bridge.engine._store
    job = store.add_job(str(tmp_path / "a.wav"), "ab" * 32, "key", {}, status="failed")
    window.bridge.jobAdded.emit(job)
    qtbot.waitUntil(lambda: window.selected_job() is not None)
    assert not window.export_actions[0].isEnabled()
    hello = transcript(said("SPEAKER_00", (0.0, 1.0, "Hello.")), path=str(tmp_path / "a.wav"), duration=2.0, language="en")
    window.bridge.jobProgress.emit(store.complete(job.id, "key", hello))
    qtbot.waitUntil(lambda: window.export_actions[0].isEnabled(), timeout=2_000)
    qtbot.waitUntil(lambda: window.panel.segments.rowCount() == 1, timeout=2_000)
    window.export_to("srt", tmp_path / "out.srt")
    qtbot.waitUntil((tmp_path / "out.srt").exists, timeout=10_000)
    assert "Hello." in (tmp_path / "out.srt").read_text(encoding="utf-8")


SHOWN_WITHOUT = """
import os, sys
sys.path.insert(0, {root!r})
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.ui import main_window
app = QApplication(sys.argv[:1])
real_show = main_window.MainWindow.show
def show(self):
    print("heavy at show:", sorted(m for m in ("ctranslate2", "torch", "faster_whisper", "senko") if m in sys.modules))
    real_show(self)
    QTimer.singleShot(0, app.quit)
main_window.MainWindow.show = show
from app.cli import main
main([])
"""


def test_the_window_shows_before_any_model_library_is_imported(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", DIARIZATION_STUDIO_DATA_DIR=str(tmp_path / "data"),
               HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", SHOWN_WITHOUT.format(root=str(root))], env=env, capture_output=True,
                          text=True, timeout=120)
    assert "heavy at show: []" in done.stdout, done.stdout + done.stderr


def test_adding_hashes_and_scans_off_the_window_thread(window, qtbot, tmp_path, speech, monkeypatch):
    import threading

    from tests import media

    threads = []
    real_add = window.bridge.engine.add
    monkeypatch.setattr(window.bridge.engine, "add", lambda *a, **k: (threads.append(threading.current_thread()), real_add(*a, **k))[1])
    window.add_files([media.write_wav(tmp_path / "a.wav", speech)])
    qtbot.waitUntil(lambda: len(window.model.jobs) == 1, timeout=10_000)
    assert threads and threads[0] is not threading.main_thread()


def test_the_window_reaches_the_core_only_through_the_engine():
    import ast
    from pathlib import Path

    for path in (Path(__file__).resolve().parent.parent / "app" / "ui").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.startswith(("app.core.store", "app.core.pipeline", "app.core.jobs.local_worker")) for n in names), path


def test_labels_show_names_and_errors_as_plain_text(window, qtbot, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel

    job = window.bridge.engine._store.add_job(str(tmp_path / "<b>Done<br>.wav"), "", "", {}, status="failed")
    job = window.bridge.engine._store.update(job.id, error="<i>x</i>: <a href='http://example.com'>click</a>")
    window.bridge.jobAdded.emit(job)
    qtbot.waitUntil(lambda: window.selected_job() is not None)
    assert window.model.item(0, 0).text() == "<b>Done<br>.wav"
    assert window.panel.title.text().startswith("<i>x</i>")
    assert all(label.textFormat() == Qt.PlainText for label in window.findChildren(QLabel)
               if not getattr(label, "escapes_its_text", False))
    # the one that draws its own markup (the words being said) escapes what it shows
    from app.core.document.transcript import Segment, Word

    said = Segment(0.0, 1.0, "SPEAKER_00", "x", (Word(0.0, 1.0, " <img src=x onerror=alert(1)>", 0.9),))
    window.panel.now_saying.show_words(said, 0.5)
    assert "<img" not in window.panel.now_saying.text() and "&lt;img" in window.panel.now_saying.text()


def test_a_file_opened_from_the_dock_or_open_with_becomes_a_job(window, qtbot, tmp_path, speech):
    from PySide6.QtGui import QFileOpenEvent
    from PySide6.QtWidgets import QApplication

    from app.ui.file_open import FileOpener
    from tests import media

    early = media.write_wav(tmp_path / "opened first.wav", speech)
    later = media.write_wav(tmp_path / "opened later.wav", speech[::-1].copy())
    opener = FileOpener()
    app = QApplication.instance()
    app.installEventFilter(opener)
    try:
        QApplication.sendEvent(app, QFileOpenEvent(str(early)))  # before the window is there: it waits
        assert not window.model.jobs
        opener.attach(window)
        QApplication.sendEvent(app, QFileOpenEvent(str(later)))
        qtbot.waitUntil(lambda: len(window.model.jobs) == 2, timeout=10_000)
        assert sorted(j.name for j in window.model.jobs) == ["opened first.wav", "opened later.wav"]
    finally:
        app.removeEventFilter(opener)


def test_a_long_error_shows_in_a_tooltip_and_the_details_line_not_in_the_columns(qtbot, tmp_path, settings):
    from PySide6.QtCore import QSettings

    from app.core.store import Store
    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow

    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    QSettings.setDefaultFormat(QSettings.IniFormat)
    store = Store(tmp_path / "history.db")
    error = "broken.m4a: " + "this file could not be decoded because its audio stream is damaged " * 6
    store.add_job(str(tmp_path / "broken.m4a"), "", "k", {}, status="failed")
    store.update(store.jobs()[0].id, error=error)
    bridge = EngineBridge(store)
    win = MainWindow(bridge, settings, "cpu (int8)")
    qtbot.addWidget(win)
    win.show()
    room = win.screen().availableGeometry()  # a first start: roomy, within the screen
    assert min(900, 0.85 * room.width()) <= win.width() <= room.width()
    assert min(600, 0.85 * room.height()) <= win.height() <= room.height()
    win.resize(1200, 760)  # as it opens on a laptop's screen (the offscreen one is 800 px)
    header = win.table.horizontalHeader()
    widths = [header.sectionSize(c) for c in range(header.count())]
    qtbot.waitUntil(lambda: len(win.model.jobs) == 1, timeout=10_000)
    win.table.selectRow(0)
    stage = win.model.item(0, 3)
    assert stage.toolTip() == error  # in full
    assert [header.sectionSize(c) for c in range(1, header.count())] == widths[1:]  # no column widened
    right = header.sectionViewportPosition(header.count() - 1) + header.sectionSize(header.count() - 1)
    assert right <= win.table.viewport().width() + 1  # Progress, Elapsed, Remaining still in view
    qtbot.waitUntil(lambda: win.panel.title.text() == error, timeout=10_000)  # the details line
    win.close()
    bridge.close()


def test_qt_calls_keep_their_references_to_none(qtbot):
    """PySide6 6.12.0 with Python 3.11 dropped a reference to None at each call of a method
    that returns nothing: playing a recording (a few such calls each 50 ms) aborted the app
    within minutes ("deallocating None"). The pinned version must not."""
    import sys

    from PySide6.QtWidgets import QLabel

    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(3000):
        label.setText("x")
    assert sys.getrefcount(None) > before - 100


def test_a_watched_folder_set_in_preferences_feeds_the_window_queue(window, qtbot, monkeypatch, tmp_path, speech):
    from app.core import settings as settings_mod
    from app.ui.preferences import PreferencesDialog
    from app.ui.watched_folders import WatchedFolderDialog
    from tests import media

    monkeypatch.setenv(settings_mod.DATA_DIR_ENV, str(tmp_path / "own data"))
    inbox = tmp_path / "dictaphone"
    inbox.mkdir()
    dialog = PreferencesDialog(settings_mod.load(), window)
    qtbot.addWidget(dialog)
    folder = WatchedFolderDialog(None, (("Detect", None), ("Spanish", "es")), dialog)
    qtbot.addWidget(folder)
    folder.path.setText(str(inbox))
    folder.language.setCurrentIndex(1)
    folder.exports["srt"].setChecked(True)
    folder.export_to.setText(str(tmp_path / "missing"))
    folder.accept()
    assert "is not a folder" in folder.problem.text() and not folder.result()
    folder.export_to.setText("")
    dialog.watched._append(folder.folder())
    saved = dialog.save()
    assert [(f.path, f.language, f.exports) for f in saved.watched_folders] == [(inbox, "es", ("srt",))]
    assert settings_mod.load().watched_folders == saved.watched_folders  # read back from the file
    assert "dictaphone · es · srt beside it" in dialog.watched.list.item(0).text()

    window.bridge.watch(saved.watched_folders)
    media.write_wav(inbox / "visita.wav", speech)
    qtbot.waitUntil(lambda: [j.name for j in window.model.jobs] == ["visita.wav"], timeout=20_000)
    assert window.model.jobs[0].settings["language"] == "es"
    qtbot.waitUntil(lambda: "visita.wav: queued" in window.statusBar().currentMessage(), timeout=10_000)
