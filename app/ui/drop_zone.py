"""Where files and folders are dropped. Anything that is not a recording gets a note, never a crash."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel

from app.core import media


class DropZone(QLabel):
    filesAccepted = Signal(list)  # [Path]
    filesRefused = Signal(list)  # [Path]

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
        self.take(paths)

    def take(self, paths: list[Path]) -> None:
        accepted, refused = media.collect(paths)
        if accepted:
            self.filesAccepted.emit(accepted)
        if refused:
            self.filesRefused.emit(refused)
