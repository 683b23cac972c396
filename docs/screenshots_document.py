"""Screenshots of the transcript as a document: the reading view, the review list, a stereo
call heard a channel at a time, and the first page of an exported PDF.

    .venv/bin/python -m evaluation.stereo --only stereo-call-2
    xvfb-run -s "-screen 0 1400x900x24" .venv/bin/python docs/screenshots_document.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.core import pipeline
    from app.core.document import exports
    from app.core.settings import Settings
    from app.core.store import Store
    from app.printing import print_html
    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow
    from evaluation.devset import OUT
    from evaluation.recordings import pyannote_sample
    from tests.builders import finished_job

    app = QApplication(sys.argv[:1])
    folder = Path(tempfile.mkdtemp())
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):  # not the user's own ~/.config
        QSettings.setPath(fmt, QSettings.UserScope, str(folder / "qsettings"))
    QSettings.setDefaultFormat(QSettings.IniFormat)
    settings = Settings(data_dir=ROOT / "bench" / "out" / "accuracy-data")
    store = Store(folder / "history.db")
    sample = pyannote_sample().wav
    heard = pipeline.run(sample, settings)
    finished_job(store, heard.with_names({"SPEAKER_00": "Diane", "SPEAKER_01": "Sheila"}), key="a", path=str(sample))
    call = OUT / "stereo-call-2.wav"
    if call.exists():
        finished_job(store, pipeline.run(call, settings), key="b", path=str(call))
    pdf = folder / "transcript.pdf"
    pdf.write_bytes(print_html(exports.render("html", store.result("a"), made=1796292000)))
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(ROOT / "docs" / "export-pdf-page")], check=True)
    bridge = EngineBridge(store)
    window = MainWindow(bridge, Settings(data_dir=folder / "data"), "cpu (int8)")
    window.resize(1300, 820)
    window.show()

    def shoot(name: str) -> None:
        app.processEvents()
        window.grab().save(str(ROOT / "docs" / f"window-{name}.png"))

    def reading() -> None:
        window.table.selectRow(0)
        QTimer.singleShot(1200, lambda: (shoot("reading"), review()))

    def review() -> None:
        window.panel.review_button.setChecked(True)
        window.review.list.setCurrentRow(0)
        QTimer.singleShot(800, lambda: (shoot("review"), stereo()))

    def stereo() -> None:
        window.panel.review_button.setChecked(False)
        if window.model.rowCount() > 1:
            window.table.selectRow(1)
            QTimer.singleShot(1200, lambda: (shoot("stereo"), app.quit()))
        else:
            app.quit()

    QTimer.singleShot(1500, reading)
    app.exec()


if __name__ == "__main__":
    main()
