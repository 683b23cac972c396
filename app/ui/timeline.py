"""Who speaks when, at a glance: one lane per speaker in the speakers' colours, the playing
position as a line; a click seeks there. And the words being said (`NowSaying`): the word
being spoken highlighted, words the model was unsure of underlined with dots, a click on a
word plays from it."""

from __future__ import annotations

import html

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

UNSURE = 0.5  # a word under this probability is marked


class Timeline(QWidget):
    seek = Signal(int)  # milliseconds

    def __init__(self, colour, parent=None):
        super().__init__(parent)
        self._colour = colour  # speaker id -> QColor
        self._segments: list[tuple[float, float, str]] = []
        self._lanes: dict[str, int] = {}
        self._duration = 0.0
        self._position = 0.0
        self.setMinimumHeight(28)
        self.setMaximumHeight(60)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setToolTip("Who speaks when; click to play from there")
        self.setCursor(Qt.PointingHandCursor)

    def set_transcript(self, transcript) -> None:
        if transcript is None:
            self._segments, self._lanes, self._duration = [], {}, 0.0
        else:
            self._segments = [(s.start, s.end, s.speaker) for s in transcript.segments]
            self._lanes = {s.id: i for i, s in enumerate(transcript.speakers)}
            ends = [e for _, e, _ in self._segments]
            self._duration = max([transcript.source.duration, *ends]) if ends or transcript.source.duration else 0.0
        self.setFixedHeight(max(28, min(60, 8 + 10 * max(1, len(self._lanes)))))
        self.update()

    def set_position(self, seconds: float) -> None:
        self._position = seconds
        self.update()

    def x_of(self, seconds: float) -> float:
        return seconds / self._duration * self.width() if self._duration else 0.0

    def mousePressEvent(self, event) -> None:
        if self._duration and event.button() == Qt.LeftButton:
            self.seek.emit(int(max(0.0, min(1.0, event.position().x() / max(1, self.width()))) * self._duration * 1000))

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        lanes = max(1, len(self._lanes))
        lane_h = (self.height() - 4) / lanes
        for start, end, speaker in self._segments:
            lane = self._lanes.get(speaker, 0)
            rect = QRectF(self.x_of(start), 2 + lane * lane_h, max(1.0, self.x_of(end) - self.x_of(start)), lane_h - 1)
            painter.fillRect(rect, self._colour(speaker))
        if self._duration:
            painter.setPen(QPen(self.palette().text().color(), 2))
            x = self.x_of(self._position)
            painter.drawLine(int(x), 0, int(x), self.height())
        painter.end()


class NowSaying(QLabel):
    """The words of the segment being played; a click on one plays from it."""

    seek = Signal(int)  # milliseconds
    escapes_its_text = True  # every word goes through html.escape (see main_window._plain_text_only)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.setTextInteractionFlags(Qt.LinksAccessibleByMouse)
        self.linkActivated.connect(lambda href: self.seek.emit(int(href)))
        self._segment = None
        self._word = -1

    def show_words(self, segment, seconds: float) -> None:
        """`segment` (or None), the word at `seconds` highlighted; redrawn only on a change."""
        word = -1
        if segment is not None:
            word = next((i for i, w in enumerate(segment.words) if w.start <= seconds < w.end + 0.05), -1)
        if segment is self._segment and word == self._word:
            return
        self._segment, self._word = segment, word
        if segment is None:
            self.setText("")
            return
        parts = []
        for i, w in enumerate(segment.words):
            style = "color: inherit; text-decoration: none;"
            if w.probability < UNSURE:
                style += " border-bottom: 1px dotted; text-decoration: underline dotted;"
            if i == word:
                style += " background-color: #FFD60A; color: black;"
            parts.append(f'<a href="{int(w.start * 1000)}" style="{style}">{html.escape(w.word.strip())}</a>')
        self.setText(" ".join(parts))

    def current_word(self) -> int:
        return self._word
