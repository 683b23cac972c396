"""Takes the README's screenshots of the real window: empty, running, completed, a speaker
named by a known voice, the Known Voices dialog, a search across all transcripts, following the words.

    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.settings import Settings
    from app.core.store import Store
    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow
    from evaluation.recordings import pyannote_sample

    app = QApplication(sys.argv[:1])
    dark = "--dark" in sys.argv
    if dark:  # the palette a dark system appearance hands to Qt (Xvfb has no theme to ask)
        from PySide6.QtGui import QColor, QPalette

        app.setStyle("Fusion")
        palette = QPalette()
        for role, colour in ((QPalette.Window, "#2b2b2b"), (QPalette.WindowText, "#e6e6e6"), (QPalette.Base, "#1f1f1f"),
                             (QPalette.AlternateBase, "#2b2b2b"), (QPalette.Text, "#e6e6e6"), (QPalette.Button, "#353535"),
                             (QPalette.ButtonText, "#e6e6e6"), (QPalette.Highlight, "#2f65ca"), (QPalette.Mid, "#5a5a5a"),
                             (QPalette.HighlightedText, "#ffffff"), (QPalette.PlaceholderText, "#8a8a8a")):
            palette.setColor(role, QColor(colour))
        app.setPalette(palette)
    folder = Path(tempfile.mkdtemp())
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):  # not the user's own ~/.config
        QSettings.setPath(fmt, QSettings.UserScope, str(folder / "qsettings"))
    QSettings.setDefaultFormat(QSettings.IniFormat)
    sample = pyannote_sample().wav
    from app.core.audio_in import decode as audio
    from tests import media

    second = media.encode(folder / "entrevista ñandú.m4a", audio.decode(sample).samples[16000 * 6 :])
    bridge = EngineBridge(Store(folder / "history.db"))
    window = MainWindow(bridge, Settings(data_dir=folder / "data"), "cpu (int8)")
    window.resize(1300, 800)
    window.show()
    bridge.engine.start()
    shots = {}

    def shoot(name: str, widget=None) -> None:
        app.processEvents()
        (widget or window).grab().save(str(ROOT / "docs" / f"window-{name}{'-dark' if dark else ''}.png"))
        shots[name] = True

    def known_voice() -> None:  # the second recording's speaker, named by the voice remembered in the first
        window.table.selectRow(1)
        QTimer.singleShot(800, lambda: (shoot("known-voice"), window.open_voices(),
                                        QTimer.singleShot(800, lambda: (shoot("voices", window.voices_dialog),
                                                                        window.voices_dialog.close(), search()))))

    def search() -> None:  # "All transcripts": both recordings searched at once
        window.panel.everywhere.setChecked(True)
        window.panel.search.setText("new jersey")
        QTimer.singleShot(800, lambda: (shoot("search"), following()))

    def following() -> None:  # the timeline, and the words being said at 0:08.6
        window.panel.everywhere.setChecked(False)
        window.panel.search.setText("")
        window.table.selectRow(0)
        QTimer.singleShot(800, lambda: (window.panel.seek(8600),
                                        QTimer.singleShot(800, lambda: (shoot("following"), app.quit()))))

    def step() -> None:
        jobs = window.model.jobs
        if "empty" not in shots:
            shoot("empty")
            window.add_files([sample, second])
        elif "running" not in shots and jobs and jobs[0].status == "in_progress" and jobs[0].progress > 0.3:
            shoot("running")
        elif "remembered" not in shots and jobs and jobs[0].status == "completed":
            first = jobs[0].id
            bridge.voices_command(lambda engine: engine.voices.remember(first, "SPEAKER_01", "Ana"))
            shots["remembered"] = True
        elif jobs and all(j.status in ("completed", "failed") for j in jobs) and "completed" not in shots:
            window.table.selectRow(0)
            window.rename_speaker("SPEAKER_00", "Sheila")
            window.panel.search.setText("chicago")
            QTimer.singleShot(300, lambda: (shoot("completed"), known_voice()))
            return
        QTimer.singleShot(200, step)

    QTimer.singleShot(500, step)
    QTimer.singleShot(300_000, app.quit)
    app.exec()
    bridge.close()
    print("saved:", ", ".join(sorted(shots)))


if __name__ == "__main__":
    main()
