"""Where files and folders are dropped. The paths go on as they are: the engine, off the
window's thread, scans folders and says which paths are not recordings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel


class DropZone(QLabel):
    pathsDropped = Signal(list)  # [Path]

    def __init__(self, parent=None):
        super().__init__("Drop recordings or folders here\n(or File ▸ Open…)", parent)
        self.setAlignment(Qt.AlignCenter)
        self.setAcceptDrops(True)
        self.setMinimumHeight(90)
        self.setObjectName("dropZone")
        self.setStyleSheet("#dropZone { border: 2px dashed palette(mid); border-radius: 10px; padding: 12px; }")

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        event.acceptProposedAction()
        if paths:
            self.pathsDropped.emit(paths)
