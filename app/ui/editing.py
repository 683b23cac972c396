"""Correcting the shown transcript from the window, with undo and redo (one history of
edits per job; the platform's shortcuts): merge speakers, move a segment or some of its
words to another (or a new) speaker, split a segment, edit its text, rename a speaker,
revert to the machine's result. Each edit is computed by app/core/document/edits.py and saved
through the engine on the pool; the transcript is then loaded again."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack
from PySide6.QtWidgets import QInputDialog, QMenu

from app.core.common.errors import UserError
from app.core.document import edits
from app.ui.engine_bridge import _Task


class _Edit(QUndoCommand):
    """One correction: the transcript before and after (None before: the machine's)."""

    def __init__(self, editor: "Editor", job_id: int, label: str, before, after):
        super().__init__(label)
        self.editor, self.job_id, self.before, self.after = editor, job_id, before, after

    def redo(self) -> None:
        self.editor.save(self.job_id, self.after)

    def undo(self) -> None:
        self.editor.save(self.job_id, self.before)


class _Rename(QUndoCommand):
    def __init__(self, editor: "Editor", job_id: int, speaker_id: str, old: str, new: str):
        super().__init__(f"Rename {old}")
        self.editor, self.job_id, self.speaker_id, self.old, self.new = editor, job_id, speaker_id, old, new

    def redo(self) -> None:
        self.editor.rename_now(self.job_id, self.speaker_id, self.new)

    def undo(self) -> None:
        self.editor.rename_now(self.job_id, self.speaker_id, self.old)


class Editor(QObject):
    _computed = Signal(int, str, object, object)  # job id, label, before, after (from the pool)

    def __init__(self, window):
        super().__init__(window)
        self.window, self.bridge, self.panel = window, window.bridge, window.panel
        self.group = QUndoGroup(self)
        # Saves run one after another, each followed by its reload: undo pressed three
        # times quickly must land in that order (on the shared pool, one thread each,
        # they could finish in any order and leave an earlier state on show).
        self.saves = QThreadPool(self)
        self.saves.setMaxThreadCount(1)
        self.stacks: dict[int, QUndoStack] = {}
        self.shown: int | None = None  # the job whose transcript is on show
        self.edited: dict[int, bool] = {}  # job id: corrected, as the saves so far leave it
        self.panel.segments.setContextMenuPolicy(Qt.CustomContextMenu)
        self.panel.segments.customContextMenuRequested.connect(self._segment_menu)
        self.panel.reading.setContextMenuPolicy(Qt.CustomContextMenu)
        self.panel.reading.customContextMenuRequested.connect(self._reading_menu)
        self.panel.extra_speaker_actions = self._speaker_actions
        self.panel.paragraphsEdited.connect(self._typed)
        self.latest: dict[int, object] = {}  # job id: its transcript as the last step left it (saves reload later)
        self._computed.connect(self._push)

    # the shown job

    def show_job(self, job_id: int | None) -> None:
        """Undo and redo follow the job on show."""
        self.shown = job_id
        if job_id is None:
            self.group.setActiveStack(None)
            return
        if job_id not in self.stacks:
            self.stacks[job_id] = QUndoStack(self.group)
        self.group.setActiveStack(self.stacks[job_id])

    def _job_id(self) -> int | None:
        """The selected job, when the transcript on show is its own (a selection that just
        moved shows the last one until the new one is read)."""
        job = self.window.selected_job()
        if job is None or self.panel.transcript is None or job.id != self.shown:
            return None
        return job.id

    # commands

    def _typed(self, changed) -> None:
        """Paragraphs typed in the reading view, one step, on the job they were typed in
        (the selection may have moved on already)."""
        def change(t):
            for indices, text in sorted(changed, key=lambda c: -min(c[0])):  # the last first: indices before stay
                t = edits.edit_paragraph(t, indices, text)
            return t

        self.edit("Edit text", change, job_id=self.shown)

    def edit(self, label: str, change, job_id: int | None = None) -> None:
        """`change(transcript) -> transcript`, on the transcript on show, as an undoable step."""
        job_id = job_id if job_id is not None and self.panel.transcript is not None else self._job_id()
        if job_id is None:
            return
        before = self.latest.get(job_id) or self.panel.transcript  # a step not yet reloaded counts
        try:
            after = change(before)
        except Exception as exc:  # a UserError from edits.py: said, nothing changed
            self.window.statusBar().showMessage(str(exc), 8000)
            return
        if not self._has_edits(job_id):
            before = None  # undoing the first correction goes back to the machine's result
        self.show_job(job_id)
        self.stacks[job_id].push(_Edit(self, job_id, label, before, after))

    def find_speakers_again(self, count: int) -> None:
        """The shown transcript's words given to exactly `count` speakers, from the stored
        voices (on the pool: clustering an hour takes a second or two); undoable."""
        job_id = self._job_id()
        if job_id is None:
            return
        before, bridge = self.panel.transcript, self.bridge
        edited = self._has_edits(job_id)

        def compute() -> None:
            from app.core.common.errors import UserError

            try:
                after = bridge.speakers_again_now(job_id, before, count)
            except UserError as exc:
                self.bridge.commandFailed.emit(str(exc))
                return
            self._computed.emit(job_id, f"Find {count} speakers", before if edited else None, after)

        self.bridge.submit(compute)

    def _has_edits(self, job_id: int) -> bool:
        return self.edited.get(job_id, self.bridge.edited.get(job_id, False))

    def _push(self, job_id: int, label: str, before, after) -> None:
        self.show_job(job_id)
        self.stacks[job_id].push(_Edit(self, job_id, label, before, after))

    def ask_speaker_count(self) -> None:
        t = self.panel.transcript
        if t is None:
            return
        count, ok = QInputDialog.getInt(self.panel, "Find speakers again", "How many people speak?\n"
                                        "(the words stay; who said them is found again from the voices)",
                                        len(t.speakers) or 2, 1, 20)
        if ok:
            self.find_speakers_again(count)

    def rename(self, speaker_id: str, name: str) -> None:
        job = self.window.selected_job()
        if job is None or job.status != "completed":
            return
        job_id = job.id
        shown = self.panel.transcript if self._job_id() == job_id else None
        shown = shown or self.bridge.loaded(job_id)  # not on show yet: as last loaded
        old = next((s.name for s in shown.speakers if s.id == speaker_id), "") if shown else ""
        if name.strip() and name != old:
            self.show_job(job_id)
            self.stacks[job_id].push(_Rename(self, job_id, speaker_id, old, name))

    def use_roles(self, roles: dict[str, str]) -> None:
        """The suggested roles as names (those of speakers nobody named), one undoable step."""
        job_id = self._job_id()
        if job_id is None or not roles:
            return
        self.show_job(job_id)
        stack = self.stacks[job_id]
        stack.beginMacro("Use suggestions")
        for speaker_id, role in roles.items():  # undone: no typed name, as before
            stack.push(_Rename(self, job_id, speaker_id, "", role))
        stack.endMacro()

    def revert(self) -> None:
        """Back to the machine's result, itself a step that can be undone."""
        job_id = self._job_id()
        if job_id is not None:
            self.show_job(job_id)
            self.stacks[job_id].push(_Edit(self, job_id, "Revert to the Machine Result", self.panel.transcript, None))

    def save(self, job_id: int, transcript) -> None:
        self.edited[job_id] = transcript is not None
        if transcript is None:
            self.latest.pop(job_id, None)  # the machine's result: as reloaded
        else:
            self.latest[job_id] = transcript
        self._in_order(lambda: self.bridge.save_edit_now(job_id, transcript))

    def rename_now(self, job_id: int, speaker_id: str, name: str) -> None:
        """In order with the saves (a rename rebuilds the transcript's search entries)."""
        self._in_order(lambda: self.bridge.rename_now(job_id, speaker_id, name))

    def _in_order(self, fn) -> None:
        def run() -> None:
            try:
                fn()
            except RuntimeError:  # the app is quitting
                pass

        self.saves.start(_Task(run))

    # menus

    def _segment_menu(self, point) -> None:
        self.segment_menu(self.panel.segments.rowAt(point.y()), self.panel.segments.viewport().mapToGlobal(point))

    def _reading_menu(self, point) -> None:
        view = self.panel.reading
        row = view.segment_at(view.cursorForPosition(point).position())
        if row is None:
            view.createStandardContextMenu().exec(view.viewport().mapToGlobal(point))
            return
        self.segment_menu(row, view.viewport().mapToGlobal(point))

    def segment_menu(self, row: int, where) -> None:
        """The corrections of segment `row` (the table's line, or the reading view's sentence)."""
        t = self.panel.transcript
        if t is None or not 0 <= row < len(t.segments):
            return
        seg = t.segments[row]
        menu = QMenu(self.panel)
        move = menu.addMenu("Move to Speaker")
        for speaker in t.speakers:
            if speaker.id != seg.speaker:
                move.addAction(speaker.name, lambda s=speaker.id: self.edit("Move segment", lambda t: edits.move_segment(t, row, s)))
        move.addAction("New Speaker", lambda: self.edit("Move segment", lambda t: edits.move_segment(t, row, None)))
        menu.addAction("Move Some Words…", lambda: self.ask_move_words(row))
        menu.addAction("Split Here…", lambda: self.ask_split(row))
        menu.addAction("Edit Text…", lambda: self.ask_text(row))
        menu.addSeparator()
        menu.addAction("Save Audio of Selection…", lambda: self.panel.selectionAudioRequested.emit(row))
        menu.exec(where)

    def _speaker_actions(self, menu: QMenu, speaker) -> None:
        """The speaker menu's corrections (transcript_panel adds them)."""
        t = self.panel.transcript
        menu.addAction("Find Speakers Again…", self.ask_speaker_count)
        others = [s for s in t.speakers if s.id != speaker.id] if t else []
        if others:
            merge = menu.addMenu(f"Merge {speaker.name} Into")
            for other in others:
                merge.addAction(other.name, lambda o=other.id: self.edit(
                    "Merge speakers", lambda t: edits.merge_speakers(t, o, speaker.id)))

    def _words(self, row: int) -> list[str]:
        return [f"{i + 1}. {w.word.strip()}" for i, w in enumerate(self.panel.transcript.segments[row].words)]

    def ask_split(self, row: int) -> None:
        words = self._words(row)[1:]
        if not words:
            return
        choice, ok = QInputDialog.getItem(self.panel, "Split segment", "The second part starts at:", words, 0, False)
        if ok:
            at = int(choice.split(".", 1)[0]) - 1
            self.edit("Split segment", lambda t: edits.split_segment(t, row, at))

    def ask_move_words(self, row: int) -> None:
        words = self._words(row)
        first, ok = QInputDialog.getItem(self.panel, "Move words", "From the word:", words, 0, False)
        if not ok:
            return
        start = int(first.split(".", 1)[0]) - 1
        last, ok = QInputDialog.getItem(self.panel, "Move words", "To the word:", words[start:], len(words) - start - 1, False)
        if not ok:
            return
        end = int(last.split(".", 1)[0]) - 1
        t = self.panel.transcript
        names = [s.name for s in t.speakers] + ["New Speaker"]
        who, ok = QInputDialog.getItem(self.panel, "Move words", "Said by:", names, 0, False)
        if ok:
            target = None if who == "New Speaker" else t.speakers[names.index(who)].id
            self.edit("Move words", lambda t: edits.move_words(t, row, start, end, target))

    def ask_replace(self) -> None:
        """Find and replace across the transcript on show, one undoable step."""
        from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit

        if self.panel.transcript is None:
            return
        dialog = QDialog(self.panel)
        dialog.setWindowTitle("Replace in transcript")
        find, replacement = QLineEdit(self.panel.search.text()), QLineEdit()
        whole, case = QCheckBox("Whole words"), QCheckBox("Match case")
        whole.setChecked(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Replace All")
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form = QFormLayout(dialog)
        form.addRow("Find:", find)
        form.addRow("Replace with:", replacement)
        form.addRow("", whole)
        form.addRow("", case)
        form.addRow(buttons)
        if dialog.exec():
            self.replace_all(find.text(), replacement.text(), whole.isChecked(), case.isChecked())

    def replace_all(self, find: str, replacement: str, whole_words: bool = True, match_case: bool = False) -> None:
        counted = [0]

        def change(t):
            fixed, counted[0] = edits.replace_all(t, find, replacement, whole_words, match_case)
            if not counted[0]:
                raise UserError(f"“{find}” is not in this transcript.")
            return fixed

        self.edit(f"Replace “{find}”", change)
        if counted[0]:
            self.window.statusBar().showMessage(f"Replaced {counted[0]} time(s).", 5000)

    def ask_text(self, row: int) -> None:
        text, ok = QInputDialog.getMultiLineText(self.panel, "Edit text", "Text:", self.panel.transcript.segments[row].text)
        if ok:
            self.edit("Edit text", lambda t: edits.edit_text(t, row, text))
