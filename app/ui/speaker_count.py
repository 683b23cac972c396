"""The speaker count as Preferences and a watched folder ask for it: found, exactly N, or at most N."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSpinBox, QWidget

MODES = ("Find automatically", "Exactly", "At most")


class SpeakerCount(QWidget):
    def __init__(self, exactly: int | None, at_most: int | None, parent=None):
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.count = QSpinBox(minimum=1, maximum=32, value=exactly or at_most or 2)
        self.mode.setCurrentIndex(1 if exactly else 2 if at_most else 0)
        self.mode.currentIndexChanged.connect(lambda i: self.count.setEnabled(i > 0))
        self.count.setEnabled(self.mode.currentIndex() > 0)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.mode)
        row.addWidget(self.count)

    def counts(self) -> tuple[int | None, int | None]:
        """(exact count, maximum): one of them, or neither."""
        mode, count = self.mode.currentIndex(), self.count.value()
        return (count if mode == 1 else None), (count if mode == 2 else None)
