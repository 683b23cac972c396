"""Preferences' watched folders: a list, and a dialog for one folder's language, speakers
and automatic exports (the core watches them: engine_watch.py)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGridLayout, QHBoxLayout, QLabel,
    QLineEdit, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget,
)

from app.core.settings import EXPORT_FORMATS, WatchedFolder
from app.ui.speaker_count import SpeakerCount



def describe(folder: WatchedFolder) -> str:
    """One line for the list."""
    parts = [str(folder.path)]
    if folder.subfolders:
        parts.append("with subfolders")
    if folder.language:
        parts.append(folder.language)
    if folder.num_speakers or folder.max_speakers:
        parts.append(f"{folder.num_speakers} speakers" if folder.num_speakers else f"≤{folder.max_speakers} speakers")
    if folder.exports:
        parts.append(", ".join(folder.exports) + (f" to {folder.export_to}" if folder.export_to else " beside it"))
    return " · ".join(parts)


class WatchedFoldersEditor(QWidget):
    """The folders, with Add, Change and Remove."""

    def __init__(self, folders: tuple[WatchedFolder, ...], languages, parent=None):
        super().__init__(parent)
        self._languages = languages
        self.list = QListWidget()
        self.list.setMaximumHeight(90)
        for folder in folders:
            self._append(folder)
        add, change, remove = QPushButton("Add…"), QPushButton("Change…"), QPushButton("Remove")
        add.clicked.connect(lambda: self._edit(None))
        change.clicked.connect(lambda: self._edit(self.list.currentRow()))
        remove.clicked.connect(lambda: self.list.takeItem(self.list.currentRow()))
        self.list.itemDoubleClicked.connect(lambda item: self._edit(self.list.row(item)))
        buttons = QVBoxLayout()
        for button in (add, change, remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    def folders(self) -> tuple[WatchedFolder, ...]:
        return tuple(self.list.item(i).data(Qt.UserRole) for i in range(self.list.count()))

    def _append(self, folder: WatchedFolder, row: int | None = None) -> None:
        item = QListWidgetItem(describe(folder))
        item.setData(Qt.UserRole, folder)
        item.setToolTip(describe(folder))
        if row is None:
            self.list.addItem(item)
        else:
            self.list.takeItem(row)
            self.list.insertItem(row, item)
        self.list.setCurrentItem(item)

    def _edit(self, row: int | None) -> None:
        if row is not None and row < 0:
            return
        current = self.list.item(row).data(Qt.UserRole) if row is not None else None
        dialog = WatchedFolderDialog(current, self._languages, self)
        if dialog.exec():
            self._append(dialog.folder(), row)


class WatchedFolderDialog(QDialog):
    def __init__(self, folder: WatchedFolder | None, languages, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Watched Folder")
        self.path = QLineEdit(str(folder.path) if folder else "")
        folder = folder or WatchedFolder(Path())
        self.path.setPlaceholderText("the folder recordings arrive in")
        self.subfolders = QCheckBox("Also the folders inside it")
        self.subfolders.setChecked(folder.subfolders)
        self.language = QComboBox()
        for name, code in languages:
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(folder.language)))
        self.speakers = SpeakerCount(folder.num_speakers, folder.max_speakers)
        self.exports = {fmt: QCheckBox(fmt) for fmt in EXPORT_FORMATS}
        grid = QGridLayout()
        for n, (fmt, box) in enumerate(self.exports.items()):
            box.setChecked(fmt in folder.exports)
            grid.addWidget(box, n // 5, n % 5)
        formats = QWidget()
        formats.setLayout(grid)
        self.export_to = QLineEdit(str(folder.export_to or ""))
        self.export_to.setPlaceholderText("beside each recording")
        form = QFormLayout()
        form.addRow("Folder", self._with_browse(self.path))
        form.addRow("", self.subfolders)
        form.addRow("Language", self.language)
        form.addRow("Speakers", self.speakers)
        form.addRow("Export when done", formats)
        form.addRow("Export to", self._with_browse(self.export_to))
        note = QLabel("A recording is taken once it stops growing; partial downloads, hidden and temporary files "
                      "are left alone. An export never replaces a file you made: it takes the next free name.")
        note.setWordWrap(True)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #C0392B;")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def _with_browse(self, field: QLineEdit) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(field, 1)
        browse = QPushButton("Choose…")
        browse.clicked.connect(lambda: self._choose(field))
        row.addWidget(browse)
        return box

    def _choose(self, field: QLineEdit) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Choose a Folder", field.text() or str(Path.home()))
        if chosen:
            field.setText(chosen)

    def folder(self) -> WatchedFolder:
        exactly, at_most = self.speakers.counts()
        return WatchedFolder.from_json({
            "path": self.path.text().strip(), "language": self.language.currentData(),
            "num_speakers": exactly, "max_speakers": at_most,
            "exports": [fmt for fmt, box in self.exports.items() if box.isChecked()],
            "export_to": self.export_to.text().strip() or None, "subfolders": self.subfolders.isChecked()})

    def accept(self) -> None:
        from app.core.common.errors import UserError

        try:
            chosen = self.folder()
        except UserError as exc:
            self.problem.setText(str(exc))
            return
        if chosen.export_to is not None and not chosen.export_to.is_dir():
            self.problem.setText(f"{chosen.export_to} is not a folder: choose one that exists.")
            return
        super().accept()
