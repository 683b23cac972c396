"""Edit ▸ Models…: each Whisper model of the catalogue, whether it is here and the disk it
takes; get one (with bytes, speed and time left), pause, cancel, remove. The downloads are
the bridge's: this dialog only shows them, and can be closed while they go on."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QProgressBar,
    QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout,
)

COLUMNS = ("Model", "Here", "On disk", "Size", "Good for")
ERROR_STYLE = "color: #C0392B;"
NOT_PINNED = "Not pinned in this version's catalogue: it cannot be downloaded here yet."


def amount(size: int) -> str:
    """Bytes as a person reads them: "3.1 MB", "485 MB", "1.5 GB"."""
    if size >= 1e9:
        return f"{size / 1e9:.1f} GB"
    return f"{size / 1e6:.1f} MB" if size < 10e6 else f"{size / 1e6:,.0f} MB"


def progress_text(p) -> str:
    """ "120 of 485 MB · 8.1 MB/s · 0:45 left" """
    digits = 1 if p.total < 10e6 else 0
    text = f"{p.done / 1e6:,.{digits}f} of {p.total / 1e6:,.{digits}f} MB · {p.speed / 1e6:.1f} MB/s"
    left = p.seconds_left
    if left is not None:
        minutes, seconds = divmod(int(left + 0.5), 60)
        text += f" · {minutes // 60}:{minutes % 60:02d}:{seconds:02d} left" if minutes >= 60 else \
            f" · {minutes}:{seconds:02d} left"
    return text


def wanted_now(parent, row, downloads: dict) -> bool:
    """Whether the user wants `row`'s model, picked but not here, fetched now (asked only
    when it can be, and is not already being fetched)."""
    if row.here or not row.size or row.name in downloads:
        return False
    asked = QMessageBox.question(parent, "Get the model?", f"The {row.name} model is not on this computer "
                                 f"(about {amount(row.size)}). Get it now?")
    return asked == QMessageBox.Yes


def _disk(row, downloads: dict) -> int:
    """What the model takes on disk now: a download's progress is newer than its listing."""
    return getattr(downloads.get(row.name), "done", row.disk_bytes)


class ModelsDialog(QDialog):
    def __init__(self, bridge, settings_now, parent=None):
        """`settings_now()`: the window's settings (where the models live)."""
        super().__init__(parent)
        self.bridge, self._settings_now = bridge, settings_now
        self.rows: dict = {}  # name: ModelRow, as last listed
        self._stopping: set[str] = set()  # paused or cancelled, until the download says it stopped
        self._wanted = ""  # the model to select once listed (got before the list came)
        self.setWindowTitle("Models")
        self.resize(760, 420)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for column, width in enumerate((190, 120, 80, 80)):
            header.resizeSection(column, width)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.Stretch)
        self.table.itemSelectionChanged.connect(self._refresh_buttons)
        self.bar = QProgressBar(minimum=0, maximum=1000, textVisible=False)
        self.bar_text = QLabel()
        self.note = QLabel()  # what the last command did, or why not (red)
        self.note.setWordWrap(True)
        self.get_button = QPushButton("Get", clicked=lambda: self.get(self.selected()))
        self.pause_button = QPushButton("Pause", clicked=self.pause)
        self.pause_button.setToolTip("Stop, keeping what arrived: Get resumes from there")
        self.cancel_button = QPushButton("Cancel Download", clicked=self.cancel)
        self.cancel_button.setToolTip("Stop and delete what arrived")
        self.remove_button = QPushButton("Remove…", clicked=self.remove)
        buttons = QHBoxLayout()
        for button in (self.get_button, self.pause_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        self.total = QLabel()
        self.where = QLabel()
        self.where.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.where.setToolTip("Where the models live: you can see and remove them there too")
        place = QHBoxLayout()
        place.setSpacing(4)
        place.addWidget(self.total)
        place.addWidget(self.where, 1)
        close = QDialogButtonBox(QDialogButtonBox.Close, rejected=self.reject)
        bar_row = QHBoxLayout()
        bar_row.addWidget(self.bar, 1)
        bar_row.addWidget(self.bar_text)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(bar_row)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        layout.addLayout(place)
        layout.addWidget(close)
        for label in (self.bar_text, self.note, self.total, self.where):
            label.setTextFormat(Qt.PlainText)
        bridge.modelsListed.connect(self.show_models)
        bridge.modelProgress.connect(self._progressed)
        bridge.modelDone.connect(self._done)
        bridge.modelRemoved.connect(self._removed)
        self._refresh_buttons()
        self._say("")

    def showEvent(self, event) -> None:  # listed each time it opens: what changed meanwhile
        super().showEvent(event)
        self.bridge.models_list()

    # what is shown

    def show_models(self, rows: list) -> None:
        chosen, self._wanted = self._wanted or self.selected(), ""
        self.rows = {row.name: row for row in rows}
        self.table.setRowCount(len(rows))
        for n, row in enumerate(rows):
            name = f"{row.name} (English only)" if row.english_only else row.name
            for column, text in enumerate((name, "", "", amount(row.size) if row.size else "—", row.languages)):
                item = QTableWidgetItem(text)
                item.setToolTip(row.published)
                self.table.setItem(n, column, item)
            self.table.item(n, 0).setData(Qt.UserRole, row.name)
            if not row.size:
                self.table.item(n, 3).setToolTip(NOT_PINNED)
            self._show_row(row.name)
        names = [row.name for row in rows]
        if chosen in names:
            self.table.selectRow(names.index(chosen))
        self._refresh_buttons()

    def _show_row(self, name: str) -> None:
        row, n = self.rows.get(name), self._row_of(name)
        if row is None or n < 0:
            return
        downloads = self.bridge.model_downloads()
        disk = _disk(row, downloads)
        if name in downloads:
            p = downloads[name]
            here = "stopping…" if name in self._stopping else \
                f"downloading {int(100 * p.done / p.total)}%" if p is not None and p.total else "downloading…"
        elif row.built_in:
            here = "built in"
        elif row.here:
            here = "yes"
        elif disk and row.size:
            here = f"paused {int(100 * disk / row.size)}%"
        else:
            here = "no"
        self.table.item(n, 1).setText(here)
        self.table.item(n, 2).setText(amount(disk) if disk else "—")
        self.total.setText(f"{amount(sum(_disk(r, downloads) for r in self.rows.values()))} on disk in")
        self.where.setText(str(self._settings_now().models_dir))

    def _row_of(self, name: str) -> int:
        for n in range(self.table.rowCount()):
            if self.table.item(n, 0).data(Qt.UserRole) == name:
                return n
        return -1

    def selected(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).data(Qt.UserRole) if rows else ""

    def _refresh_buttons(self) -> None:
        name = self.selected()
        row = self.rows.get(name)
        downloads = self.bridge.model_downloads()
        going = name in downloads and name not in self._stopping
        self.get_button.setEnabled(bool(row) and not row.here and row.size > 0 and name not in downloads)
        self.get_button.setToolTip(
            "" if row is None else NOT_PINNED if not row.size else "Already on this computer" if row.here
            else f"Download it ({amount(row.size)}); a paused download resumes")
        self.pause_button.setEnabled(going)
        self.cancel_button.setEnabled(going or (bool(row) and name not in downloads and not row.here
                                                and row.disk_bytes > 0))
        self.remove_button.setEnabled(bool(row) and not row.built_in and name not in downloads
                                      and row.disk_bytes > 0)
        self.remove_button.setToolTip("The built-in model cannot be removed" if row and row.built_in else "")
        p = downloads.get(name)
        self.bar.setVisible(name in downloads)
        self.bar_text.setVisible(name in downloads)
        if name in downloads:
            self.bar.setValue(int(1000 * p.done / p.total) if p is not None and p.total else 0)
            self.bar_text.setText(progress_text(p) if p is not None else "Starting…")

    def _say(self, text: str, error: bool = False) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))
        self.note.setStyleSheet(ERROR_STYLE if error else "")

    # what the bridge says

    def _progressed(self, name: str, progress) -> None:
        self._show_row(name)
        if name == self.selected():
            self._refresh_buttons()

    def _done(self, name: str, outcome: str) -> None:
        self._stopping.discard(name)
        if not name:
            self._say(outcome, error=True)
            return
        self._say({"": f"The {name} model is ready.",
                   "paused": f"Paused: what arrived of the {name} model stays, and Get resumes from there.",
                   "cancelled": f"Cancelled: what arrived of the {name} model was deleted."}.get(outcome, outcome),
                  error=outcome not in ("", "paused", "cancelled"))
        self.bridge.models_list()

    def _removed(self, name: str, freed: int, problem: str) -> None:
        self._say(problem or f"Removed the {name} model: {amount(freed)} freed.", error=bool(problem))
        self.bridge.models_list()

    # commands

    def get(self, name: str) -> None:
        """Starts (or resumes) fetching `name`, its row selected."""
        if not name:
            return
        self._say("")
        self.bridge.get_model(name)
        if self._row_of(name) >= 0:
            self.table.selectRow(self._row_of(name))
        else:
            self._wanted = name
        self._show_row(name)
        self._refresh_buttons()

    def pause(self) -> None:
        self._stop(self.bridge.pause_model)

    def cancel(self) -> None:
        self._stop(self.bridge.cancel_model)

    def _stop(self, command) -> None:
        name = self.selected()
        if name in self.bridge.model_downloads():
            self._stopping.add(name)
        command(name)
        self._show_row(name)
        self._refresh_buttons()

    def remove(self) -> None:
        name, row = self.selected(), self.rows.get(self.selected())
        if row is None:
            return
        asked = QMessageBox.question(self, "Remove model", f"Remove the {name} model? It frees "
                                     f"{amount(row.disk_bytes)}; it can be downloaded again.")
        if asked == QMessageBox.Yes:
            self._say("")
            self.bridge.remove_model(name)
