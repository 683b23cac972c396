"""The transcript read as turns: a speaker's name and time, then what they said in
paragraphs (document/turns.py). Long text wraps; a click on a word plays from it; the word
being said is highlighted in place; words the recogniser was unsure of are underlined
with dots. Typing in a paragraph edits its words: the change is sent once typing pauses
(or on Enter, or when the view loses focus) and comes back as the saved transcript.

The document is built a few turns at a time, so a two-hour transcript never holds the
window (bench/bench_gui.py).
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QTextEdit

from app.core.document.exports import clock
from app.core.document.turns import turns

WORDS_PER_STEP = 250  # built per event-loop turn (about 10 ms each)
UNSURE = 0.5  # a word under this probability is marked
EDIT_PAUSE_MS = 1200
PLAYING = QColor(255, 214, 10, 140)
FOUND = QColor(120, 200, 255, 110)


class ReadingView(QTextEdit):
    playAt = Signal(int)  # ms
    paragraphsEdited = Signal(object)  # [(segment indices, the paragraph's new text)], in document order

    def __init__(self, colour, parent=None):
        super().__init__(parent)
        self.colour = colour  # speaker id -> QColor
        self.setUndoRedoEnabled(False)  # the window's own undo covers every correction
        self.setAcceptRichText(False)
        self.setLineWrapMode(QTextEdit.WidgetWidth)
        self.transcript = None
        self._pending: list = []
        self._timer = QTimer(self, interval=0)
        self._timer.timeout.connect(self._build_some)
        self._edit_timer = QTimer(self, singleShot=True, interval=EDIT_PAUSE_MS)
        self._edit_timer.timeout.connect(self.commit)
        self._building = False
        self._paragraphs: dict[int, tuple[int, ...]] = {}  # block number: segment indices
        self._texts: dict[int, str] = {}  # block number: its text as built
        self._dirty: set[int] = set()
        self._word_pos: list[int] = []  # document position of each word, in document order
        self._word_start: list[float] = []
        self._word_segment: list[int] = []
        self._by_time: list[tuple[float, int, int]] = []  # (start, position, length), by start
        self._playing: tuple[int, int] | None = None
        self._found: list[QTextEdit.ExtraSelection] = []
        self._restore: tuple[int, int] | None = None
        self.document().contentsChange.connect(self._changed)

    # building

    def show_transcript(self, transcript) -> None:
        """Shows `transcript` (None: nothing); the cursor and scroll stay where they were
        when it is the same recording again (a correction saved)."""
        same = self.transcript is not None and transcript is not None and \
            self.transcript.source.sha256 == transcript.source.sha256
        self._restore = (self.textCursor().position(), self.verticalScrollBar().value()) if same else None
        self.transcript = transcript
        self._building = True
        self._timer.stop()
        self.clear()
        self._paragraphs, self._texts, self._dirty = {}, {}, set()
        self._word_pos, self._word_start, self._word_segment, self._by_time = [], [], [], []
        self._playing, self._found = None, []
        self.setExtraSelections([])
        self._pending = list(turns(transcript)) if transcript else []
        self._names = transcript.speaker_names() if transcript else {}
        self._building = bool(self._pending)
        self.setReadOnly(self._building)  # what is typed meanwhile would land in a half-built page
        if self._pending:
            self._timer.start()  # a step at a time, from the next turn of the event loop

    def _build_some(self) -> None:
        self._building = True
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.End)
        words = taken = 0
        for turn in self._pending:
            self._add_turn(cursor, turn)
            taken += 1
            words += sum(len(self.transcript.segments[i].words) or 1 for i in turn.segments)
            if words >= WORDS_PER_STEP:
                break
        del self._pending[:taken]
        if not self._pending:
            self._timer.stop()
            self._by_time.sort()
            self._blocks = self.document().blockCount()
            self.setReadOnly(False)
            self._building = False
            if self._restore:
                position, scroll = self._restore
                cursor = self.textCursor()
                cursor.setPosition(min(position, self.document().characterCount() - 1))
                self.setTextCursor(cursor)
                self.verticalScrollBar().setValue(scroll)
                self._restore = None
        self._building = bool(self._pending)

    def _add_turn(self, cursor: QTextCursor, turn) -> None:
        t = self.transcript
        if not cursor.atStart():
            cursor.insertBlock()
        head = QTextCharFormat()
        head.setFontWeight(QFont.Bold)
        head.setForeground(self.colour(turn.speaker))
        block = cursor.blockFormat()
        block.setTopMargin(10)
        cursor.setBlockFormat(block)
        cursor.insertText(self._names.get(turn.speaker, turn.speaker), head)
        stamp = QTextCharFormat()
        stamp.setForeground(QColor("#888888"))
        cursor.insertText(f"  {clock(turn.start)}", stamp)
        plain = QTextCharFormat()
        for paragraph in turn.paragraphs:
            cursor.insertBlock()
            body = cursor.blockFormat()
            body.setTopMargin(2)
            cursor.setBlockFormat(body)
            number = cursor.blockNumber()
            self._paragraphs[number] = paragraph.segments
            first = True
            for index in paragraph.segments:
                seg = t.segments[index]
                for word in seg.words or ():
                    text = word.word.strip()
                    if not text:
                        continue
                    if not first:
                        cursor.insertText(" ", plain)
                    first = False
                    position = cursor.position()
                    fmt = QTextCharFormat()
                    if word.probability < UNSURE:
                        fmt.setUnderlineStyle(QTextCharFormat.DotLine)
                        fmt.setUnderlineColor(QColor("#999999"))
                        fmt.setToolTip(f"Unsure ({word.probability:.0%})")
                    cursor.insertText(text, fmt)
                    self._word_pos.append(position)
                    self._word_start.append(word.start)
                    self._word_segment.append(index)
                    self._by_time.append((word.start, position, len(text)))
                if not seg.words and seg.text.strip():
                    if not first:
                        cursor.insertText(" ", plain)
                    first = False
                    self._word_pos.append(cursor.position())
                    self._word_start.append(seg.start)
                    self._word_segment.append(index)
                    self._by_time.append((seg.start, cursor.position(), len(seg.text.strip())))
                    cursor.insertText(seg.text.strip(), plain)
            self._texts[number] = cursor.block().text()

    def building(self) -> bool:
        return self._building

    # playing

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.LeftButton and not self.textCursor().hasSelection() and not self._dirty:
            ms = self.time_at(self.cursorForPosition(event.position().toPoint()).position())
            if ms is not None:
                self.playAt.emit(ms)

    def time_at(self, position: int) -> int | None:
        """The start (ms) of the word at document `position`, None outside the words."""
        i = bisect.bisect_right(self._word_pos, position) - 1
        if i < 0 or self.document().findBlock(position).blockNumber() not in self._paragraphs:
            return None
        return int(self._word_start[i] * 1000)

    def show_playing(self, seconds: float) -> None:
        """The word being said at `seconds`, highlighted (the view follows it when playing)."""
        i = bisect.bisect_right(self._by_time, (seconds, float("inf"), 0)) - 1
        found = None if i < 0 else self._by_time[i][1:]
        if found == self._playing:
            return
        self._playing = found
        self._paint()
        if found and not self.hasFocus():
            cursor = QTextCursor(self.document())
            cursor.setPosition(found[0])
            self.setTextCursor(cursor)
            self.ensureCursorVisible()

    def find_all(self, text: str) -> list[int]:
        """Every place `text` is found (accents and case as typed), marked; their positions."""
        self._found = []
        places = []
        if text.strip():
            cursor = QTextCursor(self.document())
            while len(places) < 2000:
                cursor = self.document().find(text.strip(), cursor)
                if cursor.isNull():
                    break
                places.append(cursor.selectionStart())
                mark = QTextEdit.ExtraSelection()
                mark.cursor = QTextCursor(cursor)
                mark.format.setBackground(FOUND)
                self._found.append(mark)
        self._paint()
        return places

    def go_to(self, position: int) -> None:
        cursor = QTextCursor(self.document())
        cursor.setPosition(position)
        self.setTextCursor(cursor)
        self.ensureCursorVisible()

    def segment_at(self, position: int) -> int | None:
        """The segment (sentence) whose word is at document `position`, None outside the words."""
        i = bisect.bisect_right(self._word_pos, position) - 1
        if i < 0 or self.document().findBlock(position).blockNumber() not in self._paragraphs:
            return None
        return self._word_segment[i]

    def segments_between(self, start: int, end: int) -> list[int]:
        """The segments of every paragraph from document position `start` to `end`, in order."""
        first, last = (self.document().findBlock(p).blockNumber() for p in (start, end))
        return [i for number in range(first, last + 1) for i in self._paragraphs.get(number, ())]

    def position_of_segment(self, index: int) -> int | None:
        for number, segments in self._paragraphs.items():
            if index in segments:
                return self.document().findBlockByNumber(number).position()
        return None

    def _paint(self) -> None:
        marks = list(self._found)
        if self._playing:
            mark = QTextEdit.ExtraSelection()
            cursor = QTextCursor(self.document())
            cursor.setPosition(self._playing[0])
            cursor.setPosition(self._playing[0] + self._playing[1], QTextCursor.KeepAnchor)
            mark.cursor = cursor
            mark.format.setBackground(PLAYING)
            mark.format.setProperty(QTextFormat.FullWidthSelection, False)
            marks.append(mark)
        self.setExtraSelections(marks)

    # editing

    def _changed(self, position: int, removed: int, added: int) -> None:
        if self._building or self.transcript is None:
            return
        block = self.document().findBlock(position)
        last = self.document().findBlock(position + max(added, 0))
        for number in range(block.blockNumber(), last.blockNumber() + 1):
            self._dirty.add(number)
        self._edit_timer.start()

    def event(self, event) -> bool:
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeySequence

        if event.type() == QEvent.ShortcutOverride and (event.matches(QKeySequence.Undo) or event.matches(QKeySequence.Redo)):
            self.commit()  # what was typed becomes a step, then the window's undo takes the key
            event.ignore()
            return False
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        cursor = self.textCursor()
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.commit()  # a new line is not a new paragraph: Enter saves
            return
        spans = cursor.hasSelection() and \
            self.document().findBlock(cursor.selectionStart()) != self.document().findBlock(cursor.selectionEnd())
        joins = not cursor.hasSelection() and (
            (event.key() == Qt.Key_Backspace and cursor.atBlockStart())
            or (event.key() == Qt.Key_Delete and cursor.atBlockEnd()))
        if (spans or joins) and (event.text() or event.key() in (Qt.Key_Backspace, Qt.Key_Delete)):
            return  # paragraphs and speakers' lines are the transcript's: text is changed within one
        super().keyPressEvent(event)

    def insertFromMimeData(self, source) -> None:
        """Pasted text joins the paragraph as one line."""
        cursor = self.textCursor()
        if cursor.hasSelection() and \
                self.document().findBlock(cursor.selectionStart()) != self.document().findBlock(cursor.selectionEnd()):
            return
        cursor.insertText(" ".join(source.text().split()))

    def focusOutEvent(self, event) -> None:
        self.commit()
        super().focusOutEvent(event)

    def commit(self) -> None:
        """Each changed paragraph's text to the window (a changed name line is put back)."""
        self._edit_timer.stop()
        dirty, self._dirty = sorted(self._dirty), set()
        if not dirty or self.transcript is None:
            return
        if self.document().blockCount() != getattr(self, "_blocks", -1):
            self.show_transcript(self.transcript)  # paragraphs joined or split after all: shown as saved
            return
        changed, rebuild = [], False
        for number in dirty:
            block = self.document().findBlockByNumber(number)
            if number in self._paragraphs and block.isValid():
                if block.text() != self._texts.get(number):
                    self._texts[number] = block.text()
                    changed.append((self._paragraphs[number], block.text()))
            else:
                rebuild = True  # a speaker's line was typed in: put back
        if changed:
            self.paragraphsEdited.emit(changed)  # one step, however many paragraphs
        elif rebuild:
            self.show_transcript(self.transcript)
