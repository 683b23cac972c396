"""Files opened from outside the window: a drop on the Dock icon, "Open With", a double
click on a recording once the app is its viewer (macOS sends these as QFileOpenEvent).
Files that arrive before the window exists (the app launched by opening one) wait for it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject


class FileOpener(QObject):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._window = None
        self._waiting: list[Path] = []

    def attach(self, window) -> None:
        self._window = window
        if self._waiting:
            window.add_files(self._waiting)
            self._waiting = []

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.FileOpen:
            path = event.file() or event.url().toLocalFile()
            if path:
                if self._window is None:
                    self._waiting.append(Path(path))
                else:
                    self._window.add_files([Path(path)])
            return True
        return False
