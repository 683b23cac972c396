"""Following the transcript while it plays: the word being said highlighted, unsure words
marked, a click on a word or on the speaker timeline plays from there."""

from __future__ import annotations

import numpy as np

from app.core.store import Store
from app.core.document.transcript import Transcript
from tests.builders import finished_job, said, transcript


def consultation(path: str) -> Transcript:
    return transcript(said("SPEAKER_00", (0.5, 1.0, "Buenos"), (1.0, 1.5, "días.")),
                      said("SPEAKER_01", (2.0, 2.4, "Hola,", 0.95), (2.5, 3.0, "pase", 0.3), (3.1, 3.5, "usted.")),
                      said("SPEAKER_00", (5.0, 6.0, "Gracias.")), path=path, duration=8.0)


def test_the_word_said_is_highlighted_and_a_click_plays_from_a_word_or_the_timeline(qtbot, tmp_path, window_over):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtMultimedia import QMediaPlayer

    from tests import media

    store = Store(tmp_path / "history.db")
    wav = media.write_wav(tmp_path / "a.wav", np.zeros(16000 * 8))
    finished_job(store, consultation(str(wav)))
    win = window_over(store)
    panel = win.panel
    qtbot.waitUntil(lambda: panel.segments.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(lambda: panel.player.mediaStatus() == QMediaPlayer.LoadedMedia, timeout=10_000)

    panel.seek(2700)  # inside "pase"
    qtbot.waitUntil(lambda: panel.now_saying.current_word() == 1, timeout=10_000)
    text = panel.now_saying.text()
    assert panel.now_saying.textFormat() == Qt.RichText  # drawn, not shown as markup
    assert "Hola," in text and "usted." in text and "Gracias." not in text
    marked = [part for part in text.split("</a>") if "#FFD60A" in part]
    assert len(marked) == 1 and ">pase" in marked[0]  # the word being said
    unsure = [part for part in text.split("</a>") if "dotted" in part]
    assert len(unsure) == 1 and ">pase" in unsure[0]  # the one the model was unsure of

    panel.now_saying.linkActivated.emit("5000")  # a click on "Gracias."
    qtbot.waitUntil(lambda: panel.player.position() >= 5000 and panel.now_saying.current_word() == 0
                    and "Gracias." in panel.now_saying.text(), timeout=10_000)
    assert panel.player.playbackState() == QMediaPlayer.PlayingState
    panel.player.pause()

    timeline = panel.timeline
    assert timeline.height() >= 28
    qtbot.mouseClick(timeline, Qt.LeftButton, pos=QPoint(timeline.width() // 4, timeline.height() // 2))
    qtbot.waitUntil(lambda: abs(panel.player.position() - 2000) < 150, timeout=10_000)  # a quarter of 8 s
