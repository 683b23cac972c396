"""The window with a two-hour transcript opened in the reading view: the event loop's worst
stall (a 10 ms QTimer probe) from selecting the job until the reading view, the table and
the review list are filled, and how long that takes.

    .venv/bin/python bench/bench_reading.py        (offscreen; or under xvfb-run)

The transcript is made up: two people taking turns for two hours, 4 words a second (about
28,800 words in 2,400 sentences), one word in twelve one the recogniser was unsure of.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import _root  # noqa: F401 (the repository root on sys.path)

STALL_TARGET_MS = 50
HOURS = 2.0


def two_hours():
    from app.core.document.transcript import Segment, Word
    from tests.builders import transcript

    segments, t, n = [], 0.0, 0
    while t < HOURS * 3600:
        speaker = f"SPEAKER_{(n // 3) % 2:02d}"  # three sentences a turn
        words = []
        for k in range(12):
            words.append(Word(round(t, 3), round(t + 0.22, 3), f" word{k}" + ("." if k == 11 else ""),
                              0.3 if (n * 12 + k) % 12 == 5 else 0.95))
            t += 0.25
        segments.append(Segment(words[0].start, words[-1].end, speaker, "".join(w.word for w in words).strip(),
                                tuple(words)))
        t += 0.6
        n += 1
    return transcript(*segments, path="/recordings/two hours.wav", duration=t)


def main() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.core.settings import Settings
    from app.core.store import Store
    from app.ui.engine_bridge import EngineBridge
    from app.ui.main_window import MainWindow
    from tests.builders import finished_job

    folder = Path(tempfile.mkdtemp())
    app = QApplication(sys.argv[:1])
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(folder / "qsettings"))
    long = two_hours()
    store = Store(folder / "history.db")
    finished_job(store, long, key="two-hours")
    window = MainWindow(EngineBridge(store), Settings(data_dir=folder / "data"), "cpu (int8)")
    window.resize(1300, 820)
    window.show()
    clock = QElapsedTimer()
    gaps: list[int] = []
    state = {"last": 0, "selected_at": None, "done_at": None}

    def tick() -> None:
        now = clock.elapsed()
        if state["selected_at"] is not None and state["done_at"] is None:
            gaps.append(now - state["last"])
        state["last"] = now
        panel = window.panel
        if (state["selected_at"] is not None and state["done_at"] is None and panel.transcript is not None
                and not panel.reading.building() and window.review.transcript is not None):
            state["done_at"] = now
            QTimer.singleShot(500, app.quit)

    def select() -> None:
        state["selected_at"] = clock.elapsed()
        window.panel.review_button.setChecked(True)
        window.table.selectRow(0)

    probe = QTimer(interval=10)
    probe.timeout.connect(tick)
    clock.start()
    probe.start()
    QTimer.singleShot(1000, select)
    QTimer.singleShot(180_000, app.quit)  # never waits forever
    started = time.perf_counter()
    app.exec()
    words = sum(len(s.words) for s in long.segments)
    worst = max(gaps) - 10 if gaps else float("nan")
    print(f"transcript: {HOURS:g} hours, {len(long.segments)} sentences, {words} words")
    print(f"selected to shown (reading view, table and review list): {(state['done_at'] or 0) - state['selected_at']} ms")
    print(f"event loop worst stall meanwhile: {worst:.0f} ms (target <= {STALL_TARGET_MS}) "
          f"{'ok' if worst <= STALL_TARGET_MS else 'MISSED'}; ticks {len(gaps)}")
    del started


if __name__ == "__main__":
    main()
