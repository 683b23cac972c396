"""Notes of the selected transcript by a local LLM (engine.notes): a template, Make Notes,
and the notes by section, each point with links to the turns it cites ([00:12] plays from
there). A point its turns do not support is shown apart, with the reason. The LLM is asked
and the notes are read on the bridge's pool; this widget only shows."""

from __future__ import annotations

import html
import time

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QTextBrowser, QVBoxLayout, QWidget,
)

from app.core.common.errors import UserError
from app.core.document import notes_doc
from app.core.llm import hosts

CUSTOM = "custom"  # the template of the user's own instructions (engine.notes.templates)


class NotesPanel(QWidget):
    played = Signal(int)  # ms to play from: a citation was clicked

    def __init__(self, bridge, settings_now, parent=None):
        """`settings_now()`: the window's settings as Preferences left them (where Ollama is)."""
        super().__init__(parent)
        self.bridge, self._settings_now = bridge, settings_now
        self.job_id: int | None = None
        self.names: dict[str, str] = {}  # speaker id: name as shown
        self.notes = None  # the shown job's notes (notes.Notes)
        self.current = False
        self._making: dict[int, float] = {}  # job id: when its notes were asked for (being made)
        self.titles = dict(bridge.note_templates())  # name: title
        self.template = QComboBox()
        for name, title in self.titles.items():
            self.template.addItem(f"{title}…" if name == CUSTOM else title, name)
        self.template.currentIndexChanged.connect(self._refresh)
        self.instructions = QLineEdit()
        self.instructions.setPlaceholderText("What the notes should hold, e.g. the risks raised and by whom")
        self.instructions.textChanged.connect(self._refresh)
        self.make_button = QPushButton("Make Notes")
        self.make_button.clicked.connect(self.make)
        self.privacy = QLabel()
        self.privacy.setWordWrap(True)
        self.privacy.setStyleSheet("color: palette(placeholder-text);")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self.job_id is not None and self.bridge.cancel_notes(self.job_id))
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.stale = QLabel(f"⚠ {notes_doc.STALE}")
        self.stale.setWordWrap(True)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._cited)
        choose = QHBoxLayout()
        choose.addWidget(self.template, 1)
        choose.addWidget(self.make_button)
        making = QHBoxLayout()
        making.addWidget(self.progress, 1)
        making.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(choose)
        layout.addWidget(self.instructions)
        layout.addWidget(self.privacy)
        layout.addLayout(making)
        layout.addWidget(self.error)
        layout.addWidget(self.header)
        layout.addWidget(self.stale)
        layout.addWidget(self.browser, 1)
        self.setMinimumWidth(340)
        bridge.notesMade.connect(self._made)
        bridge.notesProgress.connect(self._progressed)
        bridge.notesChanged.connect(self._changed)
        self._show_notes()

    # the job shown

    def show_job(self, job_id: int | None, names: dict[str, str] | None = None) -> None:
        """The job whose notes to show (None: no finished transcript), and its speakers' names;
        its notes are read again, as a correction may have dated them."""
        if job_id is None and self.job_id is None:
            return  # progress events come often
        if job_id != self.job_id:
            self.job_id, self.notes, self.current = job_id, None, False
            self.error.clear()
            self.progress.reset()
        self.names = dict(names or {})
        self._show_notes()
        if job_id is not None:
            self.bridge.load_notes(job_id)

    def make(self) -> None:
        template = self.template.currentData()
        if self.job_id is None or self.job_id in self._making:
            return
        self._making[self.job_id] = time.time()
        self.error.clear()
        self.progress.setValue(0)
        self.progress.setFormat("Notes: asking")
        self.bridge.make_notes(self.job_id, template, self.instructions.text() if template == CUSTOM else "")
        self._refresh()

    def _made(self, job_id: int, made, current: bool, problem: str) -> None:
        """Notes made, or read (made before); `problem`: why none were made."""
        asked = self._making.get(job_id)
        ended = asked is not None and (bool(problem) or made is not None and made.made_at >= asked)
        if ended:
            del self._making[job_id]
        if job_id != self.job_id:
            return
        if problem:
            self.error.setText(problem)  # the notes shown before stay
        else:
            if made is not None and self.notes is None:  # the job's notes, first shown: Make Again redoes them
                self.template.setCurrentIndex(max(0, self.template.findData(made.template)))
                self.instructions.setText(made.instructions)
            self.notes, self.current = made, current
            if ended:
                self.error.clear()
        self._show_notes()

    def _progressed(self, job_id: int, fraction: float, text: str) -> None:
        if job_id == self.job_id:
            self.progress.setValue(int(fraction * 100))
            self.progress.setFormat(text)

    def _changed(self, job_id: int) -> None:
        if job_id == self.job_id:
            self.bridge.load_notes(job_id)

    def _cited(self, url: QUrl) -> None:
        if url.scheme() == "at" and url.path().isdigit():
            self.played.emit(int(url.path()))

    def showEvent(self, event) -> None:
        self._refresh()  # Preferences may have moved Ollama meanwhile
        super().showEvent(event)

    # what is shown

    def _refresh(self) -> None:
        """The controls, as the job, the template and the work in hand allow."""
        custom = self.template.currentData() == CUSTOM
        making = self.job_id in self._making
        self.instructions.setVisible(custom)
        self.make_button.setText("Make Again" if self.notes is not None and not self.current else "Make Notes")
        self.make_button.setEnabled(self.job_id is not None and not making
                                    and (not custom or bool(self.instructions.text().strip())))
        self.template.setEnabled(not making)
        self.instructions.setEnabled(not making)
        self.progress.setVisible(making)
        self.cancel_button.setVisible(making)
        self.error.setVisible(bool(self.error.text()))
        self.privacy.setText(self._where())

    def _where(self) -> str:
        now = self._settings_now()
        try:
            address = hosts.url(now.ollama_host)
            if hosts.is_local(now.ollama_host):
                return f"Sent to Ollama at {address} (this computer)."
            if hosts.trusted(now.ollama_host, now.ollama_confirmed_host):
                return f"Sent to Ollama at {address} (not on this computer: you confirmed it in Preferences)."
            return f"Sent to Ollama at {address} (not on this computer: confirm it in Preferences)."
        except UserError as exc:
            return str(exc)

    def _show_notes(self) -> None:
        dark = self.palette().color(QPalette.Base).lightness() < 128
        self.error.setStyleSheet(f"color: {'#FF7B72' if dark else '#C0392B'};")
        self.stale.setStyleSheet(f"color: {'#F0B429' if dark else '#9A6700'};")
        made = self.notes
        self.stale.setVisible(made is not None and not self.current)
        self.header.setVisible(made is not None)
        if made is None:
            self.browser.setHtml(f"<p>{'Select a finished job.' if self.job_id is None else 'No notes yet.'}</p>")
        else:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(made.made_at))
            self.header.setText(f"{self._title(made)} · by {made.model} · made {when}")
            self.browser.setHtml(self._html(made, dark))
        self._refresh()

    def _title(self, made) -> str:
        if made.template != CUSTOM:
            return self.titles.get(made.template, made.template)
        said = made.instructions if len(made.instructions) <= 60 else made.instructions[:59] + "…"
        return f"Your own: {said}"

    def _html(self, made, dark: bool) -> str:
        """Every text from the model escaped; each citation a link to its turn's start."""
        e = html.escape
        warn, muted = ("#FF7B72", "#9DA5B4") if dark else ("#C0392B", "#6E7781")
        parts = [] if made.points else ["<p>The model found nothing to note.</p>"]
        for heading, points in notes_doc.sections(made.to_dict(), self.names):
            parts.append(f"<h3>{e(heading)}</h3><ul>")
            for point in points:
                line = e(point["text"])
                if point["who"] and point["who"].casefold() not in point["text"].casefold():
                    line = f"<b>{e(point['who'])}:</b> {line}"
                if point["quote"]:
                    line += f" <i>“{e(point['quote'])}”</i>"
                links = " ".join(f"<a href='at:{int(start * 1000)}'>[{notes_doc.stamp(start)}]</a>"
                                 for start, _ in point["stamps"])
                if point["problem"]:
                    parts.append(f"<li><span style='color:{muted}'><s>{line}</s></span> {links}<br>"
                                 f"<b style='color:{warn}'>⚠ Unsupported: {e(point['problem'])}</b></li>")
                else:
                    parts.append(f"<li>{line} {links}</li>")
            parts.append("</ul>")
        return "".join(parts)
