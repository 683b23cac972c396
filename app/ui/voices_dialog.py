"""Edit ▸ Voices…: each known voice, its samples and where they came from; rename a voice,
remove one sample, forget a voice entirely."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QHBoxLayout, QInputDialog, QLabel, QMessageBox, QPushButton, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout,
)

VOICE, SAMPLE = 1, 2


class VoicesDialog(QDialog):
    def __init__(self, bridge, parent=None):
        super().__init__(parent)
        self.bridge = bridge
        self.setWindowTitle("Known Voices")
        self.resize(640, 400)
        note = QLabel("A known voice names its speaker in every new recording. Voices are kept only in this "
                      "computer's history; forgetting one removes it for good.")
        note.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Voice / sample", "From"])
        self.tree.setColumnWidth(0, 220)
        self.tree.itemSelectionChanged.connect(self._selection)
        self.rename_button = QPushButton("Rename…", clicked=self.rename)
        self.remove_button = QPushButton("Remove Sample", clicked=self.remove_sample)
        self.forget_button = QPushButton("Forget Voice…", clicked=self.forget)
        self.apply_button = QPushButton("Apply to All Transcripts", clicked=self.apply)
        self.apply_button.setToolTip("Name the speakers of past transcripts after the known voices (nothing is run again)")
        buttons = QHBoxLayout()
        for button in (self.rename_button, self.remove_button, self.forget_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        close = QDialogButtonBox(QDialogButtonBox.Close, rejected=self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        layout.addWidget(close)
        bridge.voicesListed.connect(self.show_voices)
        self._selection()
        bridge.voices_command(lambda engine: None)  # list them

    def show_voices(self, voices: list[dict]) -> None:
        self.tree.clear()
        for voice in voices:
            count = len(voice["samples"])
            top = QTreeWidgetItem([voice["name"], f"{count} sample{'s' if count != 1 else ''}"])
            top.setData(0, Qt.UserRole, (VOICE, voice["name"]))
            for sample in voice["samples"]:
                added = datetime.fromtimestamp(sample["added_at"]).strftime("%Y-%m-%d")
                child = QTreeWidgetItem([f"{sample['speaker_id']} · {added}", sample["source"]])
                child.setToolTip(1, sample["source"])
                child.setData(0, Qt.UserRole, (SAMPLE, sample["id"]))
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(True)
        self._selection()

    def _chosen(self):
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.UserRole) if items else (None, None)

    def _voice_name(self) -> str | None:
        items = self.tree.selectedItems()
        if not items:
            return None
        item = items[0] if items[0].parent() is None else items[0].parent()
        return item.data(0, Qt.UserRole)[1]

    def _selection(self) -> None:
        kind, _ = self._chosen()
        self.rename_button.setEnabled(kind is not None)
        self.forget_button.setEnabled(kind is not None)
        self.remove_button.setEnabled(kind == SAMPLE)

    def rename(self) -> None:
        old = self._voice_name()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename voice", "Name:", text=old)
        if ok and new.strip() and new != old:
            self.bridge.voices_command(lambda engine: engine.voices.rename(old, new))

    def remove_sample(self) -> None:
        kind, sample_id = self._chosen()
        if kind == SAMPLE:
            self.bridge.voices_command(lambda engine: engine.voices.remove_sample(sample_id))

    def forget(self, confirm: bool = True) -> None:
        name = self._voice_name()
        if name is None:
            return
        if confirm and QMessageBox.question(
            self, "Forget voice", f"Forget {name}? Its samples and every name it gave are removed for good."
        ) != QMessageBox.Yes:
            return
        self.bridge.voices_command(lambda engine: engine.voices.forget(name))

    def apply(self) -> None:
        self.bridge.voices_command(lambda engine: engine.voices.apply())
