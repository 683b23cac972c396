"""The places of the shown transcript most likely to be wrong (document/review.py), most
doubtful first. Previous and Next move through them and play each; a correction that
removes the doubt, or "This is right", takes a place off the list (kept per recording)."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from app.core.document import review
from app.core.document.exports import clock


class ReviewList(QWidget):
    chosen = Signal(int, int)  # ms to play from, the segment it concerns (-1: none)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.transcript = None
        self.spots: list[review.Spot] = []
        self.summary = QLabel("No transcript.")
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.currentRowChanged.connect(self._choose)
        self.previous = QPushButton("Previous")
        self.previous.clicked.connect(lambda: self.step(-1))
        self.next = QPushButton("Next")
        self.next.clicked.connect(lambda: self.step(1))
        self.right = QPushButton("This is right")
        self.right.setToolTip("Take this place off the list: it was checked and is right")
        self.right.clicked.connect(self.mark_right)
        buttons = QHBoxLayout()
        for button in (self.previous, self.next, self.right):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._refresh_buttons()

    def show_transcript(self, transcript) -> None:
        self.transcript = transcript
        self.spots = review.spots(transcript, cleared=self._cleared()) if transcript else []
        self.list.blockSignals(True)
        self.list.clear()
        for spot in self.spots:
            item = QListWidgetItem(f"{clock(spot.start)}  {spot.text}")
            item.setToolTip(spot.text)
            item.setData(Qt.UserRole, spot.key)
            self.list.addItem(item)
        self.list.blockSignals(False)
        count = len(self.spots)
        self.summary.setText("Nothing doubtful left to check." if transcript and not count else
                             f"{count} place(s) to check, most likely wrong first." if count else "No transcript.")
        self._refresh_buttons()

    def step(self, by: int) -> None:
        if self.spots:
            row = self.list.currentRow()
            self.list.setCurrentRow(min(len(self.spots) - 1, max(0, row + by)) if row >= 0 else 0)

    def mark_right(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self.spots) or self.transcript is None:
            return
        settings = QSettings()
        key = self._settings_key()
        cleared = set(settings.value(key, [], type=list) or [])
        cleared.add(self.spots[row].key)
        settings.setValue(key, sorted(cleared))
        self.show_transcript(self.transcript)
        if self.spots:
            self.list.setCurrentRow(min(row, len(self.spots) - 1))

    def _choose(self, row: int) -> None:
        self._refresh_buttons()
        if 0 <= row < len(self.spots):
            spot = self.spots[row]
            self.chosen.emit(int(spot.start * 1000), -1 if spot.segment is None else spot.segment)

    def _cleared(self) -> frozenset[str]:
        return frozenset(QSettings().value(self._settings_key(), [], type=list) or [])

    def _settings_key(self) -> str:
        return f"review/{self.transcript.source.sha256 if self.transcript else ''}"

    def _refresh_buttons(self) -> None:
        row, count = self.list.currentRow(), len(self.spots)
        self.previous.setEnabled(count > 0 and row > 0)
        self.next.setEnabled(count > 0 and row < count - 1)
        self.right.setEnabled(0 <= row < count)
