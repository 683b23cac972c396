"""The Notes panel, offscreen, over a real history and a real local HTTP server speaking
Ollama's API: the points with their citations, a click that plays the cited turn, an
unsupported point shown apart, one line for an error, notes dated by a correction, and a
slow model that never holds the window up and can be cancelled."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("PySide6")

from app.core.store import Store  # noqa: E402
from tests import media  # noqa: E402
from tests.builders import finished_job  # noqa: E402
from tests.ollama_server import MODEL  # noqa: E402
from tests.test_notes import answer_with, consultation  # noqa: E402

REASON = {"section": "reason", "text": "Dolor de cabeza por las tardes desde el 3 de marzo.", "turns": [2],
          "who": "Juan"}
PLAN = {"section": "plan", "text": "Ibuprofeno 400 mg cada ocho horas; volver en dos semanas.", "turns": [3],
        "who": "Dra. Ruiz", "quote": "vuelva en dos semanas"}
MADE_UP = {"section": "plan", "text": "Ibuprofeno 20 mg al día.", "turns": [3]}


def notes_of(window_over, qtbot, tmp_path, host):
    """The window over a finished consultation (with its audio), Ollama at `host`, the Notes panel open."""
    store = Store(tmp_path / "history.db")
    wav = media.write_wav(tmp_path / "a.wav", np.zeros(16000 * 26))
    job = finished_job(store, consultation(), path=str(wav))
    win = window_over(store)
    win.settings = win.bridge.settings = replace(win.settings, ollama_host=host, ollama_model=MODEL,
                                                 ollama_timeout=5)
    win.notes_button.click()
    panel = win.notes_panel
    qtbot.waitUntil(lambda: panel.job_id == job.id and "No notes yet" in panel.browser.toPlainText(),
                    timeout=10_000)
    return win, panel, job


def make(panel, qtbot, template="consultation"):
    panel.template.setCurrentIndex(panel.template.findData(template))
    panel.make_button.click()
    qtbot.waitUntil(lambda: panel.make_button.isEnabled(), timeout=10_000)


def struck(panel, text: str) -> bool:
    found = panel.browser.document().find(text)
    assert not found.isNull(), text
    return found.charFormat().fontStrikeOut()


def test_notes_show_their_points_and_citations_and_a_click_plays_the_turn(qtbot, tmp_path, window_over, fake_ollama):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QTextCursor

    server = fake_ollama(answer_with(REASON, PLAN, MADE_UP))
    win, panel, _ = notes_of(window_over, qtbot, tmp_path, ollama_host := server.host)
    assert panel.privacy.text() == f"Sent to Ollama at {ollama_host} (this computer)."
    make(panel, qtbot)
    shown = panel.browser.toPlainText()
    assert "Reason for visit" in shown and "Plan" in shown
    assert "Juan: Dolor de cabeza por las tardes desde el 3 de marzo. [00:04]" in shown
    assert "“vuelva en dos semanas” [00:12]" in shown
    assert "Ibuprofeno 20 mg al día. [00:12]\n⚠ Unsupported: 20 is in none of the turns it cites" in shown
    assert struck(panel, "Ibuprofeno 20 mg") and not struck(panel, "Ibuprofeno 400 mg")
    assert "Consultation" in panel.header.text() and MODEL in panel.header.text()
    assert not panel.stale.isVisible() and panel.make_button.text() == "Make Notes"

    played = []
    panel.played.connect(played.append)
    link = panel.browser.document().find("[00:04]")
    spot = QTextCursor(panel.browser.document())
    spot.setPosition(link.selectionStart() + 2)
    qtbot.mouseClick(panel.browser.viewport(), Qt.LeftButton, pos=panel.browser.cursorRect(spot).center())
    assert played == [4500]
    player = win.panel.player
    qtbot.waitUntil(lambda: abs(player.position() - 4500) < 300, timeout=10_000)
    player.pause()

    server.answer = lambda body: "not json"
    make(panel, qtbot)
    assert panel.error.isVisible() and panel.error.text() == "No notes: its answer was not valid JSON."
    assert panel.browser.toPlainText() == shown  # the notes made before stay

    asked = len(server.requests)
    win.settings = win.bridge.settings = replace(win.settings, ollama_host="http://203.0.113.9:11434")
    win.notes_button.click()
    win.notes_button.click()  # shown again: Preferences may have changed meanwhile
    assert panel.privacy.text().endswith("(not on this computer: confirm it in Preferences).")
    make(panel, qtbot)
    assert "not on this computer" in panel.error.text() and len(server.requests) == asked


def test_a_correction_dates_the_notes_and_make_again_renews_them(qtbot, tmp_path, window_over, fake_ollama):
    server = fake_ollama(answer_with(PLAN))
    win, panel, job = notes_of(window_over, qtbot, tmp_path, server.host)
    make(panel, qtbot)
    assert panel.notes is not None and not panel.stale.isVisible()
    engine = win.bridge.engine
    shown = engine.result(job.id)
    engine.edits.save(job.id, replace(shown, segments=(*shown.segments[:2], replace(
        shown.segments[2], text="Tome paracetamol, 1 g cada ocho horas."), shown.segments[3])))
    qtbot.waitUntil(lambda: panel.stale.isVisible(), timeout=10_000)
    assert panel.stale.text().endswith("Made from an earlier version of the transcript (it was corrected since).")
    assert panel.make_button.text() == "Make Again" and "Ibuprofeno 400 mg" in panel.browser.toPlainText()
    make(panel, qtbot)
    assert not panel.stale.isVisible() and panel.make_button.text() == "Make Notes"

    import io

    from docx import Document

    assert win.with_notes.isChecked()  # File ▸ Export ▸ Include the Notes
    win.export_to("docx", tmp_path / "with.docx")
    qtbot.waitUntil((tmp_path / "with.docx").exists, timeout=20_000)
    win.with_notes.setChecked(False)
    win.export_to("docx", tmp_path / "without.docx")
    qtbot.waitUntil((tmp_path / "without.docx").exists, timeout=20_000)
    win.with_notes.setChecked(True)
    text = {name: "\n".join(p.text for p in Document(io.BytesIO((tmp_path / name).read_bytes())).paragraphs)
            for name in ("with.docx", "without.docx")}
    assert "Notes" in text["with.docx"] and "[00:12]" in text["with.docx"]
    assert "[00:12]" not in text["without.docx"]


def test_a_slow_model_never_holds_the_window_up_and_cancel_stops_it(qtbot, tmp_path, window_over, fake_ollama):
    from PySide6.QtCore import QTimer

    server = fake_ollama(answer_with(PLAN), mode="slow", delay=3)
    win, panel, _ = notes_of(window_over, qtbot, tmp_path, server.host)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)
    panel.template.setCurrentIndex(panel.template.findData("summary"))
    panel.make_button.click()
    assert panel.cancel_button.isVisible() and panel.progress.isVisible() and not panel.make_button.isEnabled()
    qtbot.waitUntil(lambda: len(server.requests) == 1, timeout=5_000)  # the model is thinking
    since = len(ticks)
    qtbot.wait(600)
    waited = ticks[since:]
    assert len(waited) > 20 and max(b - a for a, b in zip(waited, waited[1:])) < 0.15
    assert panel.progress.format() == "Notes: asking"
    started = time.monotonic()
    panel.cancel_button.click()
    qtbot.waitUntil(lambda: panel.error.text() == "Cancelled.", timeout=3_000)
    assert time.monotonic() - started < 1.5
    assert not panel.cancel_button.isVisible() and panel.make_button.isEnabled() and panel.notes is None
    timer.stop()
