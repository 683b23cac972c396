"""The Models page, offscreen, over a real local server speaking the hub's protocol
(tests/hub_server.py): a model listed as not here, got with its progress, paused and
resumed, cancelled, removed, refused while a job uses it, offered from Preferences, and a
slow download that never holds the window up."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest

pytest.importorskip("PySide6")

from app.core.store import Store  # noqa: E402
from tests.hub_server import FakeHub  # noqa: E402

REVISION = "0123456789abcdef0123456789abcdef01234567"
NAME = "test-base"


@pytest.fixture
def hub():
    server = FakeHub("test-org/faster-whisper-test", REVISION,
                     {"config.json": b'{"alignment_heads": []}', "model.bin": os.urandom(2 << 20)})
    yield server
    server.close()


@pytest.fixture
def models(window_over, qtbot, tmp_path, hub):
    """The window over an empty history, models from `hub` into tmp_path/data/models, the Models dialog open."""
    store = Store(tmp_path / "history.db")
    win = window_over(store, jobs=0)
    win.settings = win.bridge.settings = replace(win.settings, data_dir=tmp_path / "data", hf_endpoint=hub.endpoint,
                                                 model_catalogue=str(hub.catalogue(tmp_path / "catalogue.json")))
    win.open_models()
    dialog = win.models_dialog
    qtbot.waitUntil(lambda: NAME in dialog.rows, timeout=10_000)
    dialog.table.selectRow(dialog._row_of(NAME))
    return win, dialog, store


def here(dialog, name: str = NAME) -> str:
    return dialog.table.item(dialog._row_of(name), 1).text()


def partial(tmp_path):
    return tmp_path / "data" / "models" / ".partial" / NAME


def answer_yes(monkeypatch, asked: list | None = None):
    from PySide6.QtWidgets import QMessageBox

    def question(parent, title, text, *args):
        (asked if asked is not None else []).append(text)
        return QMessageBox.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))


def started_slowly(dialog, hub, qtbot, at_least: int = 300_000) -> None:
    hub.mode = "slow"
    dialog.get_button.click()
    qtbot.waitUntil(lambda: getattr(dialog.bridge.model_downloads().get(NAME), "done", 0) >= at_least,
                    timeout=10_000)


def test_a_model_is_listed_got_with_its_progress_and_then_here(models, qtbot, tmp_path, hub):
    from app.ui.models_page import NOT_PINNED, amount

    win, dialog, _ = models
    size = sum(len(d) for d in hub.files.values())
    assert here(dialog) == "no" and dialog.table.item(dialog._row_of(NAME), 3).text() == amount(size)
    assert here(dialog, "base") == "built in"
    assert dialog.where.text() == str(tmp_path / "data" / "models")
    assert dialog.get_button.isEnabled() and not dialog.remove_button.isEnabled()
    dialog.table.selectRow(dialog._row_of("small"))  # the shipped entries are not pinned yet
    assert not dialog.get_button.isEnabled() and dialog.get_button.toolTip() == NOT_PINNED
    dialog.table.selectRow(dialog._row_of(NAME))
    seen = []
    win.bridge.modelProgress.connect(lambda name, p: seen.append(p))
    dialog.get_button.click()
    assert here(dialog).startswith("downloading") and not dialog.get_button.isEnabled()
    qtbot.waitUntil(lambda: here(dialog) == "yes", timeout=10_000)
    assert seen[-1].done == seen[-1].total == size
    assert dialog.note.text() == f"The {NAME} model is ready."
    assert dialog.table.item(dialog._row_of(NAME), 2).text() == amount(size)
    assert not dialog.get_button.isEnabled() and dialog.remove_button.isEnabled() and dialog.bar.isHidden()
    assert (tmp_path / "data" / "models" / NAME / "model.bin").read_bytes() == hub.files["model.bin"]


def test_a_paused_download_keeps_what_came_and_get_resumes_it_while_the_window_stays_live(models, qtbot, tmp_path,
                                                                                          hub):
    from PySide6.QtCore import QTimer

    from app.ui.preferences import PreferencesDialog

    win, dialog, _ = models
    ticks = []
    timer = QTimer(interval=10, timeout=lambda: ticks.append(time.monotonic()))
    timer.start()
    started_slowly(dialog, hub, qtbot)
    qtbot.waitUntil(lambda: dialog.bar_text.text().endswith(" left"), timeout=10_000)
    assert " of 2.1 MB · " in dialog.bar_text.text() and dialog.bar.isVisible()
    dialog.close()  # the download goes on; a dialog opened anew shows it
    prefs = PreferencesDialog(win.settings, win, win.bridge)
    qtbot.addWidget(prefs)
    again = prefs.open_models()
    qtbot.waitUntil(lambda: NAME in again.rows, timeout=10_000)
    again.table.selectRow(again._row_of(NAME))
    assert here(again).startswith("downloading") and again.pause_button.isEnabled()
    again.pause_button.click()
    qtbot.waitUntil(lambda: again.note.text().startswith("Paused"), timeout=10_000)
    timer.stop()
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.5  # the window's thread never waited
    arrived = (partial(tmp_path) / "model.bin.part").stat().st_size
    assert 0 < arrived < len(hub.files["model.bin"])
    qtbot.waitUntil(lambda: here(again).startswith("paused "), timeout=10_000)
    assert again.get_button.isEnabled() and again.cancel_button.isEnabled()
    hub.mode = "ok"
    hub.requests.clear()
    again.get_button.click()
    qtbot.waitUntil(lambda: here(again) == "yes", timeout=10_000)
    assert ("storage", f"bytes={arrived}-") in hub.requests  # resumed from what came, not from the start
    assert (tmp_path / "data" / "models" / NAME / "model.bin").read_bytes() == hub.files["model.bin"]


def test_cancel_deletes_what_came_while_downloading_and_after_a_pause(models, qtbot, tmp_path, hub):
    _, dialog, _ = models
    started_slowly(dialog, hub, qtbot)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.note.text().startswith("Cancelled"), timeout=10_000)
    qtbot.waitUntil(lambda: here(dialog) == "no", timeout=10_000)
    assert not partial(tmp_path).exists()
    assert dialog.table.item(dialog._row_of(NAME), 2).text() == "—"
    started_slowly(dialog, hub, qtbot, at_least=100_000)
    dialog.pause_button.click()
    qtbot.waitUntil(lambda: here(dialog).startswith("paused "), timeout=10_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: here(dialog) == "no", timeout=10_000)
    assert not partial(tmp_path).exists() and not dialog.cancel_button.isEnabled()


def test_remove_frees_the_model_but_not_while_a_job_uses_it(models, qtbot, tmp_path, hub, monkeypatch):
    _, dialog, store = models
    dialog.get_button.click()
    qtbot.waitUntil(lambda: here(dialog) == "yes", timeout=10_000)
    asked = []
    answer_yes(monkeypatch, asked)
    job = store.add_job(str(tmp_path / "x.wav"), "s", "k", {"model": NAME})  # waiting for it
    dialog.remove_button.click()
    qtbot.waitUntil(lambda: "in use by job" in dialog.note.text(), timeout=10_000)
    assert f"job {job.id} (x.wav)" in dialog.note.text() and dialog.note.styleSheet()
    assert asked == [f"Remove the {NAME} model? It frees 2.1 MB; it can be downloaded again."]
    assert here(dialog) == "yes"
    store.remove(job.id)
    dialog.remove_button.click()
    qtbot.waitUntil(lambda: here(dialog) == "no", timeout=10_000)
    assert dialog.note.text() == f"Removed the {NAME} model: 2.1 MB freed." and not dialog.note.styleSheet()
    assert not (tmp_path / "data" / "models" / NAME).exists()


def test_picking_a_model_that_is_not_here_in_preferences_offers_to_get_it(models, qtbot, tmp_path, monkeypatch):
    from app.ui.preferences import PreferencesDialog

    win, _, _ = models
    prefs = PreferencesDialog(win.settings, win, win.bridge)
    qtbot.addWidget(prefs)
    qtbot.waitUntil(lambda: NAME in prefs.model_rows, timeout=10_000)
    assert prefs.models_button.isVisibleTo(prefs)
    asked = []
    answer_yes(monkeypatch, asked)
    prefs.model.activated.emit(prefs.model.findText("base"))  # built in: nothing asked
    assert asked == []
    index = prefs.model.findText(NAME)  # listed from the catalogue
    prefs.model.setCurrentIndex(index)
    prefs.model.activated.emit(index)
    assert asked == [f"The {NAME} model is not on this computer (about 2.1 MB). Get it now?"]
    page = prefs.models_dialog
    qtbot.waitUntil(lambda: page.selected() == NAME, timeout=10_000)
    assert page.isVisible()
    qtbot.waitUntil(lambda: here(page) == "yes", timeout=10_000)
    assert prefs.changes()["model"] == NAME
