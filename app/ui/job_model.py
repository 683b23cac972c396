"""The job queue as a table: file, duration, status, stage, progress, elapsed, estimate."""

from __future__ import annotations

import time

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from app.core.exports import clock

COLUMNS = ("File", "Duration", "Status", "Stage", "Progress", "Elapsed", "Remaining")
STATUS_TEXT = {
    "pending": "Waiting", "in_progress": "Working", "completed": "Done", "failed": "Failed",
    "cancelled": "Cancelled", "interrupted": "Interrupted",
}
PROGRESS_COLUMN = COLUMNS.index("Progress")


class JobTableModel(QAbstractTableModel):
    def __init__(self, engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.jobs = engine.jobs()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.jobs)

    def columnCount(self, parent=QModelIndex()) -> int:
        return len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return COLUMNS[section]
        return None

    def job_at(self, row: int):
        return self.jobs[row] if 0 <= row < len(self.jobs) else None

    def row_of(self, job_id: int) -> int:
        return next((i for i, j in enumerate(self.jobs) if j.id == job_id), -1)

    def data(self, index: QModelIndex, role=Qt.DisplayRole):
        job = self.job_at(index.row())
        if job is None:
            return None
        column = COLUMNS[index.column()]
        if role == Qt.DisplayRole:
            return self._text(job, column)
        if role == Qt.ToolTipRole:
            return job.error or job.path
        if role == Qt.UserRole:
            return job.progress
        return None

    def _text(self, job: Job, column: str) -> str:
        if column == "File":
            return job.name
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

    def refresh(self, job_id: int) -> None:
        job = self.engine.job(job_id)
        row = self.row_of(job_id)
        if job is None:
            if row >= 0:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self.jobs[row]
                self.endRemoveRows()
        elif row < 0:
            self.beginInsertRows(QModelIndex(), len(self.jobs), len(self.jobs))
            self.jobs.append(job)
            self.endInsertRows()
        else:
            self.jobs[row] = job
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
