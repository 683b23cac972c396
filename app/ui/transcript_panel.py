"""The selected job's transcript: speakers with talk time, search, segments, playback."""

from __future__ import annotations

import bisect

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QLineEdit, QMenu, QPushButton, QSlider,
    QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget,
)

from app.core.document.transcript import Transcript
from app.core.document.exports import clock
from app.ui.history_search import HitList
from app.ui.reading_view import ReadingView
from app.ui.timeline import NowSaying, Timeline

from app.core.document.documents import SPEAKER_COLOURS  # the documents' colours too
MATCH = QColor(255, 214, 10, 110)


def shown_name(speaker) -> str:
    """A known voice is shown apart from a name typed or suggested: "Ana - known voice, 0.91"."""
    if speaker.voice:
        return f"{speaker.name} - known voice, {speaker.voice['similarity']:.2f}"
    return speaker.name


def speaker_colour(speaker_id: str) -> QColor:
    digits = "".join(ch for ch in speaker_id if ch.isdigit())
    return QColor(SPEAKER_COLOURS[int(digits or 0) % len(SPEAKER_COLOURS)])


class TranscriptPanel(QWidget):
    renameRequested = Signal(str, str)  # speaker id, new name
    rolesRequested = Signal()  # ask the LLM (again)
    acceptRolesRequested = Signal()  # use the suggested roles as names
    rememberRequested = Signal(str, str)  # speaker id, the voice's name (new or known)
    rejectVoiceRequested = Signal(str)  # speaker id: not the known voice it was matched to
    searchEverywhere = Signal(str)  # "All transcripts" ticked: find this text in every transcript
    hitOpened = Signal(object)  # a hit of that search to show (engine_search.Found)
    paragraphsEdited = Signal(object)  # [(segment indices, their new text)] typed in the reading view
    speakerAudioRequested = Signal(str)  # speaker id: save their audio (app/ui/speaker_audio.py)
    selectionAudioRequested = Signal(int)  # the segment right-clicked: save the selection's audio
    EMPTY_TITLE = "Select a finished job to read its transcript."

    def __init__(self, parent=None):
        super().__init__(parent)
        self.transcript: Transcript | None = None
        self._starts: list[float] = []
        self._matches: list[int] = []
        self._match = -1
        self.player = None
        self.title = QLabel("Select a finished job to read its transcript.")
        self.title.setWordWrap(True)
        self.speakers = QTableWidget(0, 4)
        self.speakers.setHorizontalHeaderLabels(["Speaker", "Talk time", "Share", "Suggested role"])
        self.speakers.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.speakers.verticalHeader().hide()
        self.speakers.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.speakers.setMaximumHeight(120)
        self.speakers.setToolTip("Double-click a speaker to rename them; right-click to remember their voice or save their audio")
        self.speakers.cellDoubleClicked.connect(self._ask_rename)
        self.speakers.setContextMenuPolicy(Qt.CustomContextMenu)
        self.speakers.customContextMenuRequested.connect(self._speaker_menu)
        self.known_voice_names: list[str] = []  # offered when a voice is remembered
        self.extra_speaker_actions = None  # fn(menu, speaker): more entries for a speaker's menu
        self.suggest_button = QPushButton("Suggest roles")
        self.suggest_button.setToolTip("Ask a local LLM (Ollama) what role each speaker has")
        self.suggest_button.clicked.connect(self.rolesRequested)
        self.accept_button = QPushButton("Use suggestions")
        self.accept_button.setToolTip("Name each speaker by the suggested role (names you typed stay)")
        self.accept_button.clicked.connect(self.acceptRolesRequested)
        self.roles_note = QLabel("")
        self.roles_note.setWordWrap(True)
        self.search = QLineEdit(placeholderText="Search the transcript (Enter: next match)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._find)
        self.search.returnPressed.connect(self.next_match)
        self.match_label = QLabel("")
        self.everywhere = QCheckBox("All transcripts")
        self.everywhere.setToolTip("Search every transcript in the history (accents and case ignored)")
        self.everywhere.toggled.connect(lambda on: (self.hits.setVisible(on), self._find(self.search.text())))
        self.hits = HitList()
        self.timeline = Timeline(speaker_colour)
        self.timeline.seek.connect(self.seek)
        self.now_saying = NowSaying()
        self.now_saying.seek.connect(self.play_at)
        self.hits.opened.connect(self.hitOpened)
        self.segments = QTableWidget(0, 3)
        space = QShortcut(QKeySequence(Qt.Key_Space), self.segments, activated=self.toggle_play)
        space.setContext(Qt.WidgetShortcut)  # typing a space in the search box or a name is left alone
        self.segments.setHorizontalHeaderLabels(["Time", "Speaker", "Text"])
        self.segments.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.segments.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.segments.setWordWrap(True)
        self.segments.verticalHeader().hide()
        self.segments.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.segments.cellClicked.connect(lambda row, _col: self.play_from(row))
        self.reading = ReadingView(speaker_colour)
        self.reading.playAt.connect(self.play_at)
        self.reading.paragraphsEdited.connect(self.paragraphsEdited)
        self.views = QStackedWidget()
        self.views.addWidget(self.reading)
        self.views.addWidget(self.segments)
        self.table_button = QPushButton("Table")
        self.table_button.setCheckable(True)
        self.table_button.setToolTip("Show the transcript as a table of segments instead of turns")
        self.table_button.toggled.connect(lambda on: (self.views.setCurrentIndex(1 if on else 0),
                                                      on and self.segments.resizeRowsToContents(),
                                                      self._find(self.search.text())))
        self.play_button = QPushButton("Play")
        self.play_button.setEnabled(False)
        self.play_button.clicked.connect(self.toggle_play)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setEnabled(False)
        self.slider.sliderMoved.connect(lambda ms: self.player and self.player.setPosition(ms))
        self.time_label = QLabel("0:00")
        search_row = QHBoxLayout()
        search_row.addWidget(self.search)
        search_row.addWidget(self.match_label)
        search_row.addWidget(self.everywhere)
        search_row.addWidget(self.table_button)
        self.review_button = QPushButton("Review")
        self.review_button.setCheckable(True)
        self.review_button.setToolTip("The places most likely to be wrong, most doubtful first")
        search_row.addWidget(self.review_button)
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.speakers)
        roles_row = QHBoxLayout()
        roles_row.addWidget(self.suggest_button)
        roles_row.addWidget(self.accept_button)
        roles_row.addWidget(self.roles_note, 1)
        self.roles_row = roles_row  # the window adds its Notes button (the LLM's too) after these
        layout.addLayout(roles_row)
        layout.addLayout(search_row)
        layout.addWidget(self.hits)
        layout.addWidget(self.timeline)
        layout.addWidget(self.views, 1)
        layout.addWidget(self.now_saying)
        layout.addLayout(controls)
        # Made now, before the window shows: making it later (the first finished job)
        # held the window's thread for tens of milliseconds while jobs ran.
        self._ensure_player()

    # content

    def show_transcript(self, transcript: Transcript | None, audio_path: str | None = None) -> None:
        self.reading.commit()  # what was typed goes to the transcript it was typed in
        self.transcript = transcript
        self.timeline.set_transcript(transcript)
        self.now_saying.show_words(None, 0.0)
        self.segments.setRowCount(0)
        self.reading.show_transcript(transcript)
        self.speakers.setRowCount(0)
        self._starts = []
        self.suggest_button.setEnabled(transcript is not None)
        self.accept_button.setEnabled(False)
        if transcript is None:
            self.title.setText(self.EMPTY_TITLE)
            self.roles_note.setText("")
            self._set_source(None)
            return
        names = transcript.speaker_names()
        total = sum(s.talk_time for s in transcript.speakers) or 1.0
        self.title.setText(f"{audio_path or transcript.source.path} · {clock(transcript.source.duration)} · "
                           f"language {transcript.language or '?'}{heard_as(transcript.channels)}")
        self.title.setToolTip(transcript.channels.get("reason", ""))
        self.speakers.setRowCount(len(transcript.speakers))
        for row, speaker in enumerate(transcript.speakers):
            name = QTableWidgetItem(shown_name(speaker))
            name.setForeground(QBrush(speaker_colour(speaker.id)))
            name.setData(Qt.UserRole, speaker.id)
            name.setData(Qt.UserRole + 1, speaker.name)
            if speaker.channel is not None:
                name.setToolTip(f"Heard on the {CHANNEL_NAMES.get(speaker.channel, f'channel {speaker.channel + 1}')}")
            self.speakers.setItem(row, 0, name)
            self.speakers.setItem(row, 1, QTableWidgetItem(clock(speaker.talk_time)))
            self.speakers.setItem(row, 2, QTableWidgetItem(f"{speaker.talk_time / total * 100:.0f}%"))
        self.segments.setRowCount(len(transcript.segments))
        brushes = {s.id: QBrush(speaker_colour(s.id)) for s in transcript.speakers}
        for row, seg in enumerate(transcript.segments):
            who = QTableWidgetItem(names.get(seg.speaker, seg.speaker))
            who.setForeground(brushes.get(seg.speaker) or QBrush(speaker_colour(seg.speaker)))
            self.segments.setItem(row, 0, QTableWidgetItem(clock(seg.start)))
            self.segments.setItem(row, 1, who)
            self.segments.setItem(row, 2, QTableWidgetItem(seg.text))
        if self.table_button.isChecked():
            self.segments.resizeRowsToContents()  # else when the table is first shown (tens of ms an hour)
        self._starts = [seg.start for seg in transcript.segments]
        self._find(self.search.text())
        self._set_source(audio_path or transcript.source.path)

    def show_roles(self, suggestions: dict[str, str], note: str) -> None:
        for row in range(self.speakers.rowCount()):
            speaker_id = self.speakers.item(row, 0).data(Qt.UserRole)
            self.speakers.setItem(row, 3, QTableWidgetItem(suggestions.get(speaker_id, "")))
        self.accept_button.setEnabled(bool(suggestions))
        self.roles_note.setText(note)

    def _ask_rename(self, row: int, _column: int) -> None:
        item = self.speakers.item(row, 0)
        name, ok = QInputDialog.getText(self, "Rename speaker", "Name:", text=item.data(Qt.UserRole + 1))
        if ok:
            self.renameRequested.emit(item.data(Qt.UserRole), name)

    def _speaker_menu(self, point) -> None:
        row = self.speakers.rowAt(point.y())
        if row < 0 or self.transcript is None:
            return
        speaker = self.transcript.speakers[row]
        menu = QMenu(self)
        menu.addAction("Rename…", lambda: self._ask_rename(row, 0))
        menu.addAction("Remember this voice…", lambda: self.ask_remember(row))
        if speaker.voice:
            menu.addAction(f"This is not {speaker.voice['name']}", lambda: self.rejectVoiceRequested.emit(speaker.id))
        if self.extra_speaker_actions is not None:  # corrections (app/ui/editing.py)
            self.extra_speaker_actions(menu, speaker)
        menu.addSeparator()
        menu.addAction("Save Speaker's Audio…", lambda: self.speakerAudioRequested.emit(speaker.id))
        menu.exec(self.speakers.viewport().mapToGlobal(point))

    def ask_remember(self, row: int) -> None:
        """Who the speaker is: a new voice, or one already known (another sample of it)."""
        item = self.speakers.item(row, 0)
        typed = item.data(Qt.UserRole + 1)
        choices = list(self.known_voice_names)
        if typed not in choices and not typed.startswith("Speaker "):
            choices.insert(0, typed)
        name, ok = QInputDialog.getItem(
            self, "Remember this voice",
            "Name this voice, or pick a known one to add this sample to it.\n"
            "It will name this person in new recordings; it stays on this computer.",
            choices or [""], 0, True)
        if ok and name.strip():
            self.rememberRequested.emit(item.data(Qt.UserRole), name)

    # search

    def show_hits(self, text: str, hits: list) -> None:
        """The hits of a search across every transcript, if it is still the one typed."""
        if self.everywhere.isChecked() and text == self.search.text():
            self.hits.show_hits(hits)
            self.match_label.setText(f"{len(hits)} found" if text.strip() else "")

    def reveal(self, row: int) -> None:
        """Segment `row` selected, in view, and the player there, ready to play."""
        if not self.transcript or not 0 <= row < len(self.transcript.segments):
            return
        self.segments.selectRow(row)
        self.segments.scrollToItem(self.segments.item(row, 0), QAbstractItemView.PositionAtCenter)
        self.segments.setFocus()  # Space plays from here
        position = self.reading.position_of_segment(row)
        if position is not None:
            self.reading.go_to(position)
        self._go_to(int(self.transcript.segments[row].start * 1000), play=False)

    def _find(self, text: str) -> None:
        if self.everywhere.isChecked():
            self.searchEverywhere.emit(text)
            text = ""  # no marks in this transcript meanwhile
        if not self.table_button.isChecked():
            self._matches = self.reading.find_all(text)
            self._match = -1
            if not self.everywhere.isChecked():
                self.match_label.setText(f"{len(self._matches)} found" if text.strip() else "")
            if self._matches:
                self.next_match()
            return
        text = text.strip().lower()
        self._matches = []
        for row in range(self.segments.rowCount()):
            hit = bool(text) and text in self.segments.item(row, 2).text().lower()
            if hit:
                self._matches.append(row)
            for column in range(3):
                self.segments.item(row, column).setBackground(QBrush(MATCH) if hit else QBrush())
        self._match = -1
        if not self.everywhere.isChecked():
            self.match_label.setText(f"{len(self._matches)} found" if text else "")
        if self._matches:
            self.next_match()

    def next_match(self) -> None:
        if not self._matches:
            return
        self._match = (self._match + 1) % len(self._matches)
        if not self.table_button.isChecked():
            self.reading.go_to(self._matches[self._match])
            self.match_label.setText(f"{self._match + 1} of {len(self._matches)}")
            return
        row = self._matches[self._match]
        self.segments.selectRow(row)
        self.segments.scrollToItem(self.segments.item(row, 0))
        self.match_label.setText(f"{self._match + 1} of {len(self._matches)}")

    # playback

    def _ensure_player(self):
        if self.player is None:
            try:
                from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer
            except ImportError as exc:  # a system audio library missing: the transcript still shows
                self.play_button.setToolTip(f"Playback is unavailable on this computer ({exc}).")
                return None

            self.player = QMediaPlayer(self)
            self.audio_output = QAudioOutput(self)
            self.player.setAudioOutput(self.audio_output)
            self.player.positionChanged.connect(self._on_position)
            self.player.durationChanged.connect(lambda ms: self.slider.setRange(0, ms))
            self.player.playbackStateChanged.connect(self._on_state)
            self.player.mediaStatusChanged.connect(self._on_media_status)
        return self.player

    _pending_ms = None
    _pending_play = True  # False: a position to go to without playing (reveal)

    def _on_media_status(self, status) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        if status == QMediaPlayer.LoadedMedia and self._pending_ms is not None:
            ms, self._pending_ms = self._pending_ms, None
            self.player.setPosition(ms)
            if self._pending_play:
                self.player.play()
            self._pending_play = True

    def _set_source(self, path: str | None) -> None:
        player = self._ensure_player() if (self.player is not None or path) else None
        enabled = bool(path) and player is not None
        self.play_button.setEnabled(enabled)
        self.slider.setEnabled(enabled)
        if player is not None:
            player.stop()
            player.setSource(QUrl.fromLocalFile(path) if path else QUrl())

    def play_from(self, row: int) -> None:
        if self.transcript and 0 <= row < len(self.transcript.segments):
            self.play_at(int(self.transcript.segments[row].start * 1000))

    def toggle_play(self) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        if self.player is None:
            return
        if self.player.playbackState() == QMediaPlayer.PlayingState:
            self.player.pause()
        else:
            self.player.play()

    def _on_state(self, state) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        self.play_button.setText("Pause" if state == QMediaPlayer.PlayingState else "Play")

    def current_row(self, ms: int) -> int:
        return bisect.bisect_right(self._starts, ms / 1000) - 1

    def _on_position(self, ms: int) -> None:
        if not self.slider.isSliderDown():
            self.slider.setValue(ms)
        self.time_label.setText(clock(ms / 1000))
        from PySide6.QtMultimedia import QMediaPlayer

        row = self.current_row(ms)
        self.timeline.set_position(ms / 1000)
        self.reading.show_playing(ms / 1000)
        if self.transcript is not None:
            self.now_saying.show_words(self.transcript.segments[row] if row >= 0 else None, ms / 1000)
        if self.player.playbackState() == QMediaPlayer.PlayingState and row >= 0 and row != self.segments.currentRow():
            self.segments.selectRow(row)

    def seek(self, ms: int) -> None:
        """The player to `ms` (playing on if it was)."""
        if self.player is not None:
            self.player.setPosition(ms)

    def play_at(self, ms: int) -> None:
        self._go_to(ms, play=True)

    def _go_to(self, ms: int, play: bool) -> None:
        """The player to `ms`, playing or not; before the file is open, once it is."""
        from PySide6.QtMultimedia import QMediaPlayer

        if self.player is None:
            return
        if self.player.mediaStatus() in (QMediaPlayer.NoMedia, QMediaPlayer.LoadingMedia):
            self._pending_ms, self._pending_play = ms, play
            return
        self.player.setPosition(ms)
        if play:
            self.player.play()


CHANNEL_NAMES = {0: "left channel", 1: "right channel"}


def heard_as(channels: dict) -> str:
    """How the channels were heard, for the title: nothing for a one-channel recording."""
    if channels.get("heard") == "split":
        return " · each channel heard on its own"
    if channels.get("heard") == "mixed":
        return f" · {channels.get('channels', 2)} channels mixed"
    return ""
