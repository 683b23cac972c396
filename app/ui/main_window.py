"""The main window: drop zone and job queue on the left, transcript on the right."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QMainWindow, QMenu, QPushButton,
    QSplitter,
    QStyledItemDelegate, QStyle, QStyleOptionProgressBar, QApplication, QTableView, QVBoxLayout, QWidget,
)

from app.core.audio_in import media
from app.core.jobs.status import JobStatus
from app.core.settings import Settings
from app.ui.drop_zone import DropZone
from app.ui.engine_bridge import EngineBridge
from app.ui.job_model import PROGRESS_COLUMN, JobTableModel
from app.ui.notes_panel import NotesPanel
from app.ui.review_list import ReviewList
from app.ui.transcript_panel import TranscriptPanel

PLAY_SHORTCUT = "Ctrl+Shift+Space"  # Cmd+Shift+Space on a Mac
DOCUMENTS = ("docx", "pdf", "md")
STAMPS = (("At each turn", "turn"), ("At each paragraph", "paragraph"), ("None", "none"))
EXPORTS = (("Word document", "docx"), ("PDF", "pdf"), ("Markdown", "md"), ("Plain text", "txt"),
           ("SRT subtitles", "srt"), ("WebVTT subtitles", "vtt"), ("JSON", "json"), ("RTTM", "rttm"))


class ProgressDelegate(QStyledItemDelegate):
    def paint(self, painter, option, index) -> None:
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 4, -2, -4)
        bar.minimum, bar.maximum = 0, 100
        bar.progress = int((index.data(Qt.UserRole) or 0) * 100)
        bar.text = index.data()
        bar.textVisible = True
        QApplication.style().drawControl(QStyle.CE_ProgressBar, bar, painter)


def _plain_text_only(widget) -> None:
    """Every label shows its text as it is: a file named "<b>Done</b>.wav", an error or an
    LLM's note is never read as HTML. (A label that writes its own markup, escaping every
    text it shows, says so with `escapes_its_text`.)"""
    for label in widget.findChildren(QLabel):
        if not getattr(label, "escapes_its_text", False):
            label.setTextFormat(Qt.PlainText)


class MainWindow(QMainWindow):
    def __init__(self, bridge: EngineBridge, settings: Settings, device_label: str = "", problem: str = ""):
        super().__init__()
        self.bridge, self.settings = bridge, settings
        self._shown_id = None  # the job whose transcript the panel shows (or is loading)
        self._shown_note = ""
        self.setWindowTitle("Diarization Studio")
        self.prefs = QSettings("Diarization Studio", "Diarization Studio")
        self.model = JobTableModel(self)
        self.drop = DropZone()
        self.drop.pathsDropped.connect(self.add_files)
        bridge.pathsRefused.connect(self._refused)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setItemDelegateForColumn(PROGRESS_COLUMN, ProgressDelegate(self.table))
        header = self.table.horizontalHeader()
        # Fixed widths: sizing columns to their contents asks the model for every row's text
        # on each change, a call into Python per cell (seconds with a busy thread beside it).
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        for column, width in enumerate((0, 70, 90, 90, 120, 70, 80)):
            if width:
                header.resizeSection(column, width)
        header.setMinimumSectionSize(48)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.setContextMenuPolicy(Qt.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._selection_changed())
        self.buttons = {}
        row = QHBoxLayout()
        for label, slot in (("Cancel", self.cancel_selected), ("Retry", self.retry_selected),
                            ("Remove", self.remove_selected), ("Reveal", self.reveal_selected)):
            button = QPushButton(label)
            button.clicked.connect(slot)
            self.buttons[label] = button
            row.addWidget(button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.drop)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(row)
        self.panel = TranscriptPanel()
        self.panel.renameRequested.connect(self.rename_speaker)
        self.panel.rolesRequested.connect(self.suggest_roles)
        self.panel.acceptRolesRequested.connect(self.accept_roles)
        self.panel.rememberRequested.connect(self.remember_voice)
        self.panel.rejectVoiceRequested.connect(self.reject_voice)
        bridge.voicesListed.connect(self._voices_listed)
        bridge.commandFailed.connect(lambda text: self.statusBar().showMessage(text, 10000))
        bridge.folderNews.connect(lambda text: self.statusBar().showMessage(text, 10000))
        bridge.voices_command(lambda engine: None)  # the known voices' names, for the panel
        self.panel.searchEverywhere.connect(bridge.search)
        bridge.searchDone.connect(self.panel.show_hits)
        self.panel.hitOpened.connect(self.open_hit)
        self._reveal: tuple[int, int] | None = None  # (job id, segment) to show once loaded
        self.models_dialog = None  # Edit ▸ Models…, made when first opened
        from app.ui.api_host import ApiHost
        from app.ui.editing import Editor
        from app.ui.speaker_audio import SpeakerAudio

        self.editor = Editor(self)
        self.speaker_audio = SpeakerAudio(self)  # the menus' "Save … Audio…"
        self.api = ApiHost(bridge.history_path, lambda: self.settings)
        self.api.changed.connect(self._api_changed)
        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(1, 1)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("background: #C0392B; color: white; padding: 8px; border-radius: 4px;")
        self.banner.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.review = ReviewList()
        self.review.chosen.connect(self._review_chosen)
        self.review_dock = self._dock("Review", self.review, self.panel.review_button)
        self.notes_panel = NotesPanel(bridge, lambda: self.settings)
        self.notes_panel.played.connect(self.panel.play_at)
        self.notes_button = QPushButton("Notes", checkable=True,
                                        toolTip="Notes of the conversation by a local LLM, each point citing its turns")
        self.panel.roles_row.insertWidget(2, self.notes_button)  # beside Suggest roles: the LLM's too
        self.notes_dock = self._dock("Notes", self.notes_panel, self.notes_button)
        self._menus()
        self.status_label = QLabel(f"Model: {settings.model} · Device: {device_label or settings.device + ' (looking…)'}")
        bridge.deviceFound.connect(self._device_found)
        self.statusBar().addPermanentWidget(self.status_label)
        self.api_label = QLabel("")
        self.statusBar().addPermanentWidget(self.api_label)
        self._serve_api()
        bridge.jobAdded.connect(self._job_changed)
        bridge.resultLoaded.connect(self._result_loaded)
        # Bound methods, not lambdas: Qt drops these connections when the window is gone,
        # so an event that arrives after it closed never reaches a deleted table.
        bridge.jobStatus.connect(self._status_changed)
        # the table reads each job afresh, so any event may show a new status
        bridge.jobProgress.connect(self._progressed)
        bridge.jobRemoved.connect(self._job_removed)
        bridge.jobsListed.connect(self.model.set_jobs)
        bridge.rolesFound.connect(self._roles_found)
        bridge.exported.connect(self._exported)
        bridge.list_jobs()
        if problem:
            self.show_problem(problem)
        self._restore()
        self._selection_changed()
        _plain_text_only(self)

    def _dock(self, title: str, widget, button) -> QDockWidget:
        """A dock on the right, hidden until opened by `button` (or the View menu)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(title.lower())
        dock.setWidget(widget)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        dock.hide()
        button.toggled.connect(dock.setVisible)
        dock.visibilityChanged.connect(button.setChecked)
        return dock

    # menus

    def _menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        open_action = QAction("&Open…", self, shortcut=QKeySequence.Open, triggered=self.open_files)
        file_menu.addAction(open_action)
        self.export_menu = file_menu.addMenu("&Export")
        self.export_actions = []
        for label, fmt in EXPORTS:
            action = QAction(f"{label}…", self, triggered=lambda _=False, f=fmt: self.export_dialog(f))
            self.export_menu.addAction(action)
            self.export_actions.append(action)
        self.export_menu.addSeparator()
        # kept between runs; notes go into documents and JSON only, and only where there are some
        self.with_notes = QAction("Include the Notes", self, checkable=True,
                                  checked=str(self.prefs.value("export_notes", "true")) == "true",
                                  toggled=lambda on: self.prefs.setValue("export_notes", "true" if on else "false"))
        self.export_menu.addAction(self.with_notes)
        file_menu.addSeparator()
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close))
        edit_menu = self.menuBar().addMenu("&Edit")
        undo = self.editor.group.createUndoAction(self, "&Undo")
        undo.setShortcuts(QKeySequence.Undo)
        redo = self.editor.group.createRedoAction(self, "&Redo")
        redo.setShortcuts(QKeySequence.Redo)
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        self.revert_action = QAction("Re&vert to the Machine Result", self, triggered=self.editor.revert)
        edit_menu.addAction(self.revert_action)
        edit_menu.addAction(QAction("Find Speakers &Again…", self, triggered=self.editor.ask_speaker_count))
        edit_menu.addSeparator()
        preferences = QAction("&Preferences…", self, triggered=self.open_preferences)
        preferences.setShortcuts([QKeySequence.Preferences, QKeySequence("Ctrl+,")])
        preferences.setMenuRole(QAction.PreferencesRole)  # the app menu on macOS
        edit_menu.addAction(preferences)
        edit_menu.addAction(QAction("&Models…", self, triggered=self.open_models))
        find = QAction("&Find in Transcript", self, shortcut=QKeySequence.Find,
                       triggered=lambda: self.panel.search.setFocus())
        edit_menu.addAction(find)
        edit_menu.addAction(QAction("&Replace in Transcript…", self, shortcut=QKeySequence.Replace,
                                    triggered=self.editor.ask_replace))
        edit_menu.addAction(QAction("&Copy Transcript as Text", self, triggered=self.copy_transcript))
        edit_menu.addSeparator()
        edit_menu.addAction(QAction("Known &Voices…", self, triggered=self.open_voices))
        edit_menu.addAction(QAction("&Apply Known Voices to All Transcripts", self,
                                    triggered=lambda: self.bridge.voices_command(lambda engine: engine.voices.apply())))
        # Not Ctrl+Space: on a Mac that is Cmd+Space, Spotlight's. Space plays too while the
        # transcript has the focus (transcript_panel).
        play = QAction("&Play / Pause", self, shortcut=QKeySequence(PLAY_SHORTCUT), triggered=self.panel.toggle_play)
        self.menuBar().addMenu("&Playback").addAction(play)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.review_dock.toggleViewAction())
        view.addAction(self.notes_dock.toggleViewAction())

    def _device_found(self, label: str, problem: str) -> None:
        self.status_label.setText(f"Model: {self.settings.model} · Device: {label}")
        if problem:
            self.show_problem(f"{self.banner.text()} {problem}".strip() if self.banner.isVisible() else problem)

    def open_preferences(self) -> None:
        from app.core.common.errors import UserError
        from app.ui.preferences import PreferencesDialog

        dialog = PreferencesDialog(self.settings, self, self.bridge)
        watched = self.settings.watched_folders
        if dialog.exec():
            try:
                self.settings = self.bridge.settings = dialog.save()
            except UserError as exc:
                self.show_problem(str(exc))
                return
            self.status_label.setText(f"Model: {self.settings.model} · Device: {self.settings.device}")
            self._serve_api()
            if self.settings.watched_folders != watched:
                self.bridge.watch(self.settings.watched_folders)

    def open_models(self) -> None:
        """Kept, not made again: a download goes on while it is closed (the bridge holds it)."""
        from app.ui.models_page import ModelsDialog

        if self.models_dialog is None:
            self.models_dialog = ModelsDialog(self.bridge, lambda: self.settings, self)
        self.models_dialog.show()
        self.models_dialog.raise_()

    def _serve_api(self) -> None:
        """The HTTP API on or off, on the chosen port, as Preferences say (it starts in the
        background: `_api_changed` follows)."""
        if not self.settings.api_enabled:
            self.api.stop()
        elif not self.api.alive or (self.api.port, self.api.max_upload_mb) != (self.settings.api_port,
                                                                               self.settings.max_upload_mb):
            self.api.start(self.settings.api_port, self.settings.max_upload_mb)
        else:
            self.api.update_settings()
        self._api_changed("")

    def _api_changed(self, problem: str) -> None:
        if problem:
            self.show_problem(problem)
        self.api_label.setText(f"Other programs: http://127.0.0.1:{self.api.port}/api/diarization"
                               if self.api.running else "")

    # jobs

    def add_files(self, paths: list[Path]) -> None:
        """Files and folders; hashed and scanned off this thread (a folder's refusals come
        back through the bridge)."""
        self.bridge.add_paths(list(paths), self.settings)
        if paths:
            self.prefs.setValue("last_folder", str(Path(paths[-1]).parent))

    def open_files(self) -> None:
        patterns = " ".join(f"*{ext}" for ext in sorted(media.EXTENSIONS))
        files, _ = QFileDialog.getOpenFileNames(self, "Add recordings", self.prefs.value("last_folder", ""),
                                                f"Recordings ({patterns})")
        self.add_files([Path(f) for f in files])

    def _refused(self, paths: list[Path]) -> None:
        names = ", ".join(p.name or str(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        self.statusBar().showMessage(f"Not added: {names} — not an audio or video file (or a folder without any).", 8000)

    def selected_job(self):
        index = self.table.selectionModel().currentIndex()
        return self.model.job_at(index.row()) if index.isValid() else None

    def cancel_selected(self) -> None:
        job = self.selected_job()
        if job:
            self.bridge.cancel(job.id)

    def retry_selected(self) -> None:
        job = self.selected_job()
        if job:
            self.bridge.retry(job.id)

    def remove_selected(self) -> None:
        job = self.selected_job()
        if job:
            self.bridge.remove(job.id)

    def reveal_selected(self) -> None:
        import subprocess
        import sys

        job = self.selected_job()
        if not job:
            return
        if sys.platform == "darwin" and Path(job.path).exists():
            subprocess.Popen(["open", "-R", job.path])  # Finder, with the file selected
        elif sys.platform == "win32" and Path(job.path).exists():
            subprocess.Popen(["explorer", f"/select,{job.path}"])
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(job.path).parent)))

    def _context_menu(self, point) -> None:
        if not self.table.indexAt(point).isValid():
            return
        self.table.selectRow(self.table.indexAt(point).row())
        menu = QMenu(self)
        for label, button in self.buttons.items():
            action = menu.addAction(label, button.click)
            action.setEnabled(button.isEnabled())
        menu.exec(self.table.viewport().mapToGlobal(point))

    def _status_changed(self, job) -> None:
        self._job_changed(job)

    def _progressed(self, job) -> None:
        self._job_changed(job)

    def _job_changed(self, job) -> None:
        self.model.update(job)
        selected = self.selected_job()
        if selected is None and self.model.rowCount():
            self.table.selectRow(self.model.row_of(job.id))
        elif selected and selected.id == job.id:
            self._selection_changed()

    def _job_removed(self, job_id: int) -> None:
        self.model.remove(job_id)
        self._selection_changed()

    def _selection_changed(self) -> None:
        job = self.selected_job()
        status = job.status if job else None
        self.buttons["Cancel"].setEnabled(bool(status and status.can_cancel))
        self.buttons["Retry"].setEnabled(bool(status and status.can_retry))
        self.buttons["Remove"].setEnabled(job is not None)
        self.buttons["Reveal"].setEnabled(job is not None)
        completed = status == JobStatus.COMPLETED
        self.export_menu.setEnabled(completed)
        for action in self.export_actions:
            action.setEnabled(completed)
        if completed:
            if self._shown_id != job.id or self._shown_note != job.note:
                self._shown_id, self._shown_note = job.id, job.note
                self.bridge.load(job.id)  # shown when it arrives (_result_loaded)
        else:
            self._shown_id = None
            self.editor.show_job(None)
            self.notes_panel.show_job(None)
            if self.panel.transcript is not None:  # progress events come often: clear once
                self.panel.show_transcript(None)
                self.review.show_transcript(None)
            self.panel.title.setText(job.error if job and job.status == JobStatus.FAILED else self.panel.EMPTY_TITLE)

    def _result_loaded(self, job_id: int, transcript, suggested) -> None:
        job = self.selected_job()
        if job is None or job.id != job_id or transcript is None:
            return  # the selection moved on meanwhile
        self.panel.show_transcript(transcript, job.path)
        QTimer.singleShot(0, lambda: self.review.show_transcript(self.panel.transcript))  # in a turn of its own
        self.panel.show_roles(suggested, job.note)
        self.editor.show_job(job.id)
        self.notes_panel.show_job(job.id, transcript.speaker_names())  # read again: a correction may date them
        if self._reveal and self._reveal[0] == job_id:
            self.panel.reveal(self._reveal[1])
            self._reveal = None

    def open_hit(self, hit) -> None:
        """A hit of a search across every transcript: its job selected, the transcript
        shown at that segment, ready to play from it."""
        row = self.model.row_of(hit.job_id)
        if row < 0:
            return
        self._reveal = (hit.job_id, hit.segment)
        if self._shown_id == hit.job_id and self.panel.transcript is not None:
            self.panel.reveal(hit.segment)
            self._reveal = None
        self.table.selectRow(row)

    def rename_speaker(self, speaker_id: str, name: str) -> None:
        """A step that can be undone (app/ui/editing.py)."""
        self.editor.rename(speaker_id, name)

    # known voices

    def remember_voice(self, speaker_id: str, name: str) -> None:
        job = self.selected_job()
        if job:
            self.bridge.voices_command(lambda engine: engine.voices.remember(job.id, speaker_id, name), job.id)

    def reject_voice(self, speaker_id: str) -> None:
        job = self.selected_job()
        if job:
            self.bridge.voices_command(lambda engine: engine.voices.reject(job.id, speaker_id), job.id)

    def _voices_listed(self, voices: list) -> None:
        self.panel.known_voice_names = [voice["name"] for voice in voices]
        job = self.selected_job()
        if job and job.status == JobStatus.COMPLETED:  # a rename, a forgotten voice or an apply shows
            self.bridge.load(job.id)

    def open_voices(self) -> None:
        from app.ui.voices_dialog import VoicesDialog

        self.voices_dialog = VoicesDialog(self.bridge, self)
        self.voices_dialog.open()

    def suggest_roles(self) -> None:
        job = self.selected_job()
        if job and job.status == JobStatus.COMPLETED:
            self.bridge.name_roles(job.id, lambda: self.settings)  # read when the excerpts leave

    def accept_roles(self) -> None:
        job = self.selected_job()
        if not job:
            return
        self.bridge.find_roles(job.id)  # used by _roles_found

    def _roles_found(self, job_id: int, to_accept: dict, suggested: dict) -> None:
        job = self.selected_job()
        if job is None or job.id != job_id:
            return
        self.editor.use_roles(to_accept)  # one step to undo
        self.panel.show_roles(suggested, job.note)

    # export

    def export_dialog(self, fmt: str) -> None:
        job = self.selected_job()
        if not job:
            return
        suggested = str(Path(self.prefs.value("last_folder", str(Path(job.path).parent))) / f"{Path(job.path).stem}.{fmt}")
        if fmt in DOCUMENTS:  # a document: which time stamps (kept for the next one)
            from PySide6.QtWidgets import QInputDialog

            labels = [label for label, _ in STAMPS]
            now = [value for _, value in STAMPS].index(str(self.prefs.value("stamps", "turn")))
            chosen, ok = QInputDialog.getItem(self, "Export transcript", "Time stamps:", labels, now, False)
            if not ok:
                return
            self.prefs.setValue("stamps", STAMPS[labels.index(chosen)][1])
        path, _ = QFileDialog.getSaveFileName(self, "Export transcript", suggested)
        if path:
            self.export_to(fmt, Path(path))

    def export_to(self, fmt: str, path: Path) -> None:
        """Written on the pool; `_exported` says how it went."""
        job = self.selected_job()
        if job is None:
            self.show_problem("Nothing was exported: select a finished job first.")
            return
        self.bridge.export(job.id, fmt, path, str(self.prefs.value("stamps", "turn")), self.with_notes.isChecked())

    def _review_chosen(self, ms: int, segment: int) -> None:
        if segment >= 0:
            self.panel.reveal(segment)
        self.panel.play_at(ms)

    def copy_transcript(self) -> None:
        """The transcript on show (or what is selected in the reading view) as plain text."""
        from PySide6.QtWidgets import QApplication

        from app.core.document.exports import to_txt

        selected = self.panel.reading.textCursor().selectedText().replace("\u2029", "\n")
        if selected.strip():
            QApplication.clipboard().setText(selected)
        elif self.panel.transcript is not None:
            QApplication.clipboard().setText(to_txt(self.panel.transcript))
        else:
            return
        self.statusBar().showMessage("Copied.", 3000)

    def _exported(self, path: str, problem: str) -> None:
        if problem:
            self.show_problem(problem)
        else:
            self.statusBar().showMessage(f"Exported {Path(path).name}", 5000)

    # state

    def show_problem(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.show()

    def _restore(self) -> None:
        geometry = self.prefs.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:  # a first start: roomy, within the screen
            room = self.screen().availableGeometry()
            self.resize(min(1200, int(room.width() * 0.9)), min(760, int(room.height() * 0.9)))
        splitter = self.prefs.value("splitter")
        if splitter is not None:
            self.splitter.restoreState(splitter)
        else:
            self.splitter.setSizes([620, 680])

    def closeEvent(self, event) -> None:
        self.prefs.setValue("geometry", self.saveGeometry())
        self.prefs.setValue("splitter", self.splitter.saveState())
        self.api.stop()
        self.bridge.close()
        super().closeEvent(event)
