"""The job queue as a table: file, duration, status, stage, progress, elapsed, estimate."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QStandardItem, QStandardItemModel

from app.core.document.exports import clock
from app.core.document.text import one_line

COLUMNS = ("File", "Duration", "Status", "Stage", "Progress", "Elapsed", "Remaining")
STATUS_TEXT = {
    "pending": "Waiting", "in_progress": "Working", "completed": "Done", "failed": "Failed",
    "cancelled": "Cancelled", "interrupted": "Interrupted",
}
PROGRESS_COLUMN = COLUMNS.index("Progress")


class JobTableModel(QStandardItemModel):
    """The cells live in C++ (QStandardItemModel): painting and sizing the table never call
    into Python, so a busy Python thread beside the window cannot slow them down. Python
    sets a row's texts when its job changes, and the clock columns once a second."""

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.jobs = []
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)

    def job_at(self, row: int):
        return self.jobs[row] if 0 <= row < len(self.jobs) else None

    def row_of(self, job_id: int) -> int:
        return next((i for i, j in enumerate(self.jobs) if j.id == job_id), -1)

    def _append(self, job) -> None:
        items = []
        for _ in COLUMNS:
            item = QStandardItem()
            item.setEditable(False)
            items.append(item)
        self.jobs.append(job)
        self.appendRow(items)
        self._fill(len(self.jobs) - 1)

    def _fill(self, row: int, columns=COLUMNS) -> None:
        job = self.jobs[row]
        for name in columns:
            item = self.item(row, COLUMNS.index(name))
            text = self._text(job, name)
            if item.text() != text:
                item.setText(text)
            tip = job.error or job.path
            if item.toolTip() != tip:
                item.setToolTip(tip)
        progress = self.item(row, PROGRESS_COLUMN)
        if progress.data(Qt.UserRole) != job.progress:
            progress.setData(job.progress, Qt.UserRole)

    def _tick(self) -> None:
        for row, job in enumerate(self.jobs):
            if job.status == "in_progress":
                self._fill(row, ("Elapsed", "Remaining"))

    def _text(self, job, column: str) -> str:
        if column == "File":
            return one_line(job.name, 250)  # a name with line breaks stays one row
        if column == "Duration":
            return clock(job.duration)
        if column == "Status":
            return STATUS_TEXT.get(job.status, job.status)
        if column == "Stage":
            return job.error.split(": ", 1)[-1] if job.status == "failed" else job.stage
        if column == "Progress":
            return f"{job.progress * 100:.0f}%"
        elapsed = None
        if job.started_at:
            elapsed = (job.finished_at or time.time()) - job.started_at
        if column == "Elapsed":
            return clock(elapsed)
        if column == "Remaining" and job.status == "in_progress" and elapsed and job.progress > 0.05:
            return clock(elapsed * (1 - job.progress) / job.progress)
        return ""

    # kept in step with the engine

    def update(self, job) -> None:
        """The job as an engine event carried it (added or changed)."""
        row = self.row_of(job.id)
        if row < 0:
            self._append(job)
        else:
            self.jobs[row] = job
            self._fill(row)

    def set_jobs(self, jobs) -> None:
        """Every job, as the history listed them (`EngineBridge.jobsListed`)."""
        self.removeRows(0, self.rowCount())
        self.jobs = []
        for job in jobs:
            self._append(job)

    def remove(self, job_id: int) -> None:
        row = self.row_of(job_id)
        if row >= 0:
            del self.jobs[row]
            self.removeRow(row)
