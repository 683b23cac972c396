"""The hits of a search across every transcript ("All transcripts"): one line each, file,
time, speaker and the words around the match; opening one shows that transcript there."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from app.core.document.exports import clock


class HitList(QListWidget):
    opened = Signal(object)  # engine_search.Found

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMaximumHeight(180)
        self.setToolTip("Double-click (or Enter) to open the transcript there, ready to play")
        self.itemActivated.connect(lambda item: self.opened.emit(item.data(Qt.UserRole)))
        self.hide()

    def show_hits(self, hits: list) -> None:
        self.clear()
        for hit in hits:
            item = QListWidgetItem(f"{Path(hit.path).name}  {clock(hit.start)}  {hit.name}:  {hit.snippet}")
            item.setToolTip(hit.path)
            item.setData(Qt.UserRole, hit)
            self.addItem(item)
