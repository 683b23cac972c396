"""Watched folders, the engine's part (`engine.watching`; jobs/watch.py finds the files).

Each ready file is claimed in the history before it is queued, so it is queued once: not
again after a restart, not by a second watcher on the same history, not as a renamed copy
of a recording this folder already queued (that one's transcript is used). When a job is
done its exports are written, by whichever watcher sees it first.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from app.core.common.errors import Cancelled, UserError
from app.core.engine_parts import Part
from app.core.jobs.status import JobStatus
from app.core.settings import Settings, WatchedFolder

POLL_SEC = 1.0
EXPORT_RETRY_SEC = 30.0  # an export folder that could not be written is tried again this often
log = logging.getLogger("app")


class Watching(Part):
    def __init__(self, store, emit, add, render):
        super().__init__(store, emit)
        self._add, self._render = add, render

    def run(self, folders: tuple[WatchedFolder, ...], settings: Callable[[], Settings], stop: threading.Event,
            report: Callable[[str], None], printer=None, poll: float = POLL_SEC, settle: float | None = None) -> None:
        """Watches `folders` until `stop` is set: files that stop changing are queued with
        `settings()` as they are then (each folder's language and speakers over them), and
        finished jobs' exports written. `report(line)`: what happened, in words; `printer`
        prints a PDF export (the front end's)."""
        from app.core.jobs.watch import SETTLE_SEC, FolderScan

        scans = [FolderScan(f, SETTLE_SEC if settle is None else settle) for f in folders]
        released = self._store.release_claims(_alive)
        if released:
            log.info("%d file(s) a watcher claimed before it stopped are looked at again.", released)
        failed_exports: dict[int, float] = {}  # claim id: when its exports are tried again
        while not stop.is_set():
            for scan in scans:
                ready, line = scan.poll(time.monotonic())
                if line:
                    report(line)
                for path in ready:
                    if stop.is_set():
                        return
                    self._take(scan.folder, path, settings, report, stop)
            self._export_finished(report, printer, failed_exports)
            stop.wait(poll)

    def start(self, folders, settings, report, printer=None, **options) -> threading.Event:
        """`run` on a thread of its own; set the event it gives to stop it."""
        stop = threading.Event()
        if folders:
            threading.Thread(target=self.run, args=(tuple(folders), settings, stop, report, printer),
                             kwargs=options, daemon=True, name="folder-watch").start()
        return stop

    def _take(self, folder: WatchedFolder, path: Path, settings, report, stop) -> None:
        from app.core.audio_in.decode import file_sha256

        try:
            stat = path.stat()
        except OSError:  # gone again
            return
        claim = self._store.claim_file(str(path), stat.st_size, stat.st_mtime_ns, str(folder.path), folder.exports,
                                       str(folder.export_to or ""), os.getpid())
        if claim is None:  # taken before: by this watcher before a restart, or by another one
            return
        try:
            sha256 = file_sha256(path, cancel=stop.is_set)
        except Cancelled:  # stopping: the next watcher takes it
            self._store.drop_claim(claim.id)
            return
        except OSError as exc:
            self._store.claim_queued(claim.id, "", None, note=str(exc))
            report(f"{path.name}: could not be read ({exc.strerror or exc}); it is taken again when it changes.")
            return
        known = self._store.watched_job(str(folder.path), sha256)
        if known is not None:
            self._store.claim_queued(claim.id, sha256, known)
            report(f"{path.name}: the same recording as job {known}; its transcript is used.")
            return
        try:
            job = self._add(path, folder.job_settings(settings()), sha256=sha256)  # hashed just now
        except Cancelled:  # the app is closing: the next watcher takes it
            self._store.drop_claim(claim.id)
            return
        except UserError as exc:
            self._store.claim_queued(claim.id, sha256, None, note=str(exc))
            report(f"{path.name}: not queued: {exc}")
            return
        self._store.claim_queued(claim.id, sha256, job.id)
        report(f"{path.name}: already transcribed; the stored result is used (job {job.id})."
               if job.status == JobStatus.COMPLETED else f"{path.name}: queued (job {job.id}).")

    def _export_finished(self, report, printer, failed: dict[int, float]) -> None:
        for claim in self._store.claims_finished():
            if failed.get(claim.id, 0.0) > time.monotonic() or not self._store.take_claim(claim.id):
                continue  # another watcher writes them
            recording = Path(claim.path)
            job = self._store.job(claim.job_id) if claim.job_id is not None else None
            if job is None or job.status != JobStatus.COMPLETED:
                why = "it was removed from the history" if job is None else (job.error or f"the job was {job.status}")
                self._store.claim_done(claim.id, note=why)
                report(f"{recording.name}: not transcribed: {why}")
                continue
            directory = Path(claim.export_to) if claim.export_to else recording.parent
            written = []
            try:
                for fmt in claim.exports:
                    written.append(self._write(job.id, fmt, recording, directory, printer))
            except (OSError, UserError) as exc:
                self._store.claim_queued(claim.id, claim.sha256, claim.job_id)  # tried again on the next poll
                if claim.id not in failed:
                    report(f"{recording.name}: its exports could not be written to {directory} "
                           f"({getattr(exc, 'strerror', None) or exc}); trying again.")
                failed[claim.id] = time.monotonic() + EXPORT_RETRY_SEC
                continue
            self._store.claim_done(claim.id)
            report(f"{recording.name}: done" + (f", written to {', '.join(p.name for p in written)}."
                                                 if written else "."))

    def _write(self, job_id: int, fmt: str, recording: Path, directory: Path, printer) -> Path:
        from app.core.jobs.watch import export_path, write_new

        def ours(target: Path) -> bool:
            written = self._store.export_owner(str(target))
            return written is not None and written[0] == str(recording) and written[1] == _sha256_of(target)

        data = self._render(job_id, fmt, printer=printer if fmt == "pdf" else None)
        if data is None:
            raise UserError("its transcript could not be read from the history")
        for _ in range(3):  # a name taken between the look and the write: the next one
            target = export_path(recording, fmt, directory, ours)
            if target is None:
                raise UserError(f"every name for its {fmt} export is taken")
            try:
                write_new(target, data, replace=os.path.lexists(target))
            except FileExistsError:
                continue
            self._store.export_written(str(target), str(recording), _sha256(data))
            return target
        raise UserError(f"every name for its {fmt} export is taken")


def _sha256(data: str | bytes) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def _sha256_of(path: Path) -> str:
    try:
        return _sha256(path.read_bytes())
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
