"""Saving a speaker's audio, or the selected paragraphs', from the window: the speaker list's
and the transcript's right-click menus ask here; the file is written on the pool
(`EngineBridge.save_audio`) and the status bar or the banner says how it went."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

# the save dialog's choices: (filter, suffix, mode)
CHOICES = (
    ("WAV, turns joined (*.wav)", ".wav", "joined"),
    ("FLAC, turns joined (*.flac)", ".flac", "joined"),
    ("WAV, whole length, the rest silenced (*.wav)", ".wav", "whole"),
    ("FLAC, whole length, the rest silenced (*.flac)", ".flac", "whole"),
)


class SpeakerAudio(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window, self.bridge, self.panel = window, window.bridge, window.panel
        self.panel.speakerAudioRequested.connect(lambda speaker_id: self.ask(speaker=speaker_id))
        self.panel.selectionAudioRequested.connect(lambda row: self.ask(segments=self.selected(row)))
        self.bridge.audioSaved.connect(self._saved)

    def selected(self, row: int) -> list[int]:
        """The segments to save from a right-click on segment `row`: the selected rows of the
        table, or the paragraphs of the reading view's selection, when `row` is among them;
        else `row`'s own line (the table) or paragraph (the reading view)."""
        panel = self.panel
        if panel.table_button.isChecked():
            rows = sorted({index.row() for index in panel.segments.selectionModel().selectedRows()})
            return rows if row in rows else [row]
        view, cursor = panel.reading, panel.reading.textCursor()
        if cursor.hasSelection():
            chosen = view.segments_between(cursor.selectionStart(), cursor.selectionEnd())
            if row in chosen:
                return chosen
        at = view.position_of_segment(row)
        return view.segments_between(at, at) if at is not None else [row]

    def ask(self, speaker: str | None = None, segments: list[int] | None = None) -> None:
        """Where to save it and how (joined, or the recording's length), then saved on the pool."""
        job, transcript = self.window.selected_job(), self.panel.transcript
        if job is None or transcript is None or (speaker is None and not segments):
            return
        names = transcript.speaker_names()
        what = names.get(speaker, speaker) if speaker else "selection"
        folder = Path(self.window.prefs.value("last_folder", str(Path(job.path).parent)))
        filters = [label for label, _, _ in CHOICES]
        chosen = str(self.window.prefs.value("audio_choice", filters[0]))
        chosen = chosen if chosen in filters else filters[0]
        suffix = CHOICES[filters.index(chosen)][1]
        title = f"Save {what}'s audio" if speaker else "Save the selection's audio"
        path, chosen = QFileDialog.getSaveFileName(self.window, title, str(folder / f"{Path(job.path).stem} - "
                                                   f"{_safe(what)}{suffix}"), ";;".join(filters), chosen)
        if not path:
            return
        _, suffix, mode = CHOICES[filters.index(chosen)] if chosen in filters else CHOICES[0]
        self.window.prefs.setValue("audio_choice", chosen)
        path = Path(path)
        if path.suffix.lower() not in (".wav", ".flac"):
            path = path.with_name(path.name + suffix)
        self.window.statusBar().showMessage(f"Saving {path.name}…")
        # after the corrections still being saved: what belongs to whom is what is on show
        self.bridge.save_audio(job.id, path, speaker=speaker, segments=segments, mode=mode,
                               pool=self.window.editor.saves)

    def _saved(self, done: str, problem: str) -> None:
        if problem:
            self.window.statusBar().clearMessage()
            self.window.show_problem(problem)
        else:
            self.window.statusBar().showMessage(done, 8000)


def _safe(name: str) -> str:
    """A speaker's name as part of a file name."""
    return "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name).strip() or "speaker"
