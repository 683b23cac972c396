"""The Whisper models, the engine's part (`engine.models`; catalogue.py, fetch.py): which
are here and how much disk each takes, getting one, removing one not in use."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app.core.common.errors import Cancelled, ModelError, UserError
from app.core.engine_parts import Part
from app.core.jobs.status import JobStatus


@dataclass(frozen=True)
class ModelRow:
    name: str
    here: bool
    built_in: bool
    disk_bytes: int  # what it takes in the data folder now (a download in progress too)
    size: int  # its files, as the catalogue pins them (0: not pinned)
    languages: str
    english_only: bool
    published: str


class Models(Part):
    def __init__(self, store, emit, settings_now: Callable):
        super().__init__(store, emit)
        self._settings_now = settings_now
        self._fetching: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def ready(self, job, kick: Callable[[], None]) -> bool:
        """Whether the job's model is here (or is not ours to fetch: a folder, downloads off,
        workers elsewhere). If not, it is fetched on a thread of its own while the job waits,
        with the download as its stage, and the queue's other jobs go first; `kick()` when done."""
        from app.core.jobs import spec
        from app.core.whisper import fetch

        from app.core.whisper.models import EMBEDDED_SIZE

        name = job.settings.get("model")
        if name in (None, EMBEDDED_SIZE):  # most jobs: nothing to read (this runs on every look at the queue)
            return True
        try:
            entries, settings = self._catalogue()
        except UserError:
            return True  # the job fails with the reason
        entry = entries.get(name)
        if (entry is None or entry.built_in or not entry.pinned or settings.offline or settings.process_on == "workers"
                or spec.settings_from_dict(job.settings).offline or fetch.installed(settings.models_dir, entry)):
            return True
        with self._lock:
            if name not in self._fetching or not self._fetching[name].is_alive():
                self._fetching[name] = threading.Thread(target=self._fetch_for_jobs, args=(name, kick), daemon=True,
                                                        name=f"fetch-{name}")
                self._fetching[name].start()
        return False

    def _waiting_for(self, name: str) -> list:
        return [j for j in self._store.jobs((JobStatus.PENDING,)) if j.settings.get("model") == name]

    def _fetch_for_jobs(self, name: str, kick) -> None:
        from app.core.jobs.status import EventKind

        def shown(p) -> None:
            for job in self._waiting_for(name):
                note = f"Downloading the {name} model: {p.done / 1e6:,.0f} of {p.total / 1e6:,.0f} MB"
                self._emit(EventKind.PROGRESS, self._store.update(job.id, stage="download", note=note,
                                                                   progress=min(p.done / p.total, 0.99)))

        try:
            self.get(name, progress=_every(0.5, shown), cancel=lambda: not self._waiting_for(name))
        except Cancelled:
            return  # nobody waits for it any more; what came stays for a resume
        except UserError as exc:
            for job in self._waiting_for(name):
                self._emit(EventKind.STATUS, self._store.update(job.id, status=JobStatus.FAILED, error=str(exc),
                                                                 finished_at=time.time()))
            return
        for job in self._waiting_for(name):
            self._emit(EventKind.PROGRESS, self._store.update(job.id, stage="", note="", progress=0.0))
        kick()

    def _catalogue(self):
        from app.core.whisper import catalogue

        settings = self._settings_now()
        return catalogue.load(Path(settings.model_catalogue) if settings.model_catalogue else None), settings

    def list(self) -> list[ModelRow]:
        from app.core.whisper import fetch, models

        entries, settings = self._catalogue()
        rows = []
        for entry in entries.values():
            folder = fetch.folder(settings.models_dir, entry)
            partial = settings.models_dir / ".partial" / entry.name
            here = entry.built_in or fetch.installed(settings.models_dir, entry)
            disk = fetch.disk_use(folder) + fetch.disk_use(partial)
            if entry.built_in:
                disk = fetch.disk_use(settings.models_dir / f"whisper-{models.EMBEDDED_SIZE}")
            rows.append(ModelRow(entry.name, here, entry.built_in, disk, entry.size, entry.languages,
                                 entry.english_only, entry.published))
        return rows

    def get(self, name: str, progress=None, cancel=None) -> Path:
        """Fetches `name` (resumed where a download stopped); ModelError in one line."""
        from app.core.whisper import fetch, models

        entries, settings = self._catalogue()
        if name not in entries:
            raise UserError(f"There is no '{name}' model: choose one of {', '.join(entries)}.")
        if entries[name].built_in:
            return models.resolve(name, settings.models_dir)
        return fetch.fetch(entries[name], settings.models_dir, settings.hf_endpoint, offline=settings.offline,
                           progress=progress or (lambda p: None), cancel=cancel or (lambda: False))

    def discard(self, name: str) -> None:
        """Gives up a stopped download of `name` (what arrived is deleted; a pause keeps it)."""
        from app.core.whisper import fetch

        entries, settings = self._catalogue()
        if name in entries and not fetch.installed(settings.models_dir, entries[name]):
            fetch.remove_partial(settings.models_dir, entries[name])

    def remove(self, name: str) -> int:
        """Removes a downloaded model (and any download of it in progress): the bytes freed.
        Refused, with the reason, for the built-in model and one a job is using or waiting to use."""
        from app.core.whisper import fetch

        entries, settings = self._catalogue()
        if name not in entries:
            raise UserError(f"There is no '{name}' model: choose one of {', '.join(entries)}.")
        if entries[name].built_in:
            raise UserError(f"'{name}' is built in and cannot be removed.")
        busy = [j for j in self._store.jobs((JobStatus.PENDING, JobStatus.IN_PROGRESS, JobStatus.INTERRUPTED))
                if j.settings.get("model") == name]
        if busy:
            raise UserError(f"The '{name}' model is in use by job {busy[0].id} ({busy[0].name}): "
                            "wait for it to finish or cancel it first.")
        folder, partial = fetch.folder(settings.models_dir, entries[name]), settings.models_dir / ".partial" / name
        freed = fetch.disk_use(folder) + fetch.disk_use(partial)
        if not folder.exists() and not partial.exists():
            raise ModelError(f"The '{name}' model is not on this computer: nothing to remove.")
        trash = settings.models_dir / ".partial" / f"{name}.removing"
        if folder.exists():
            folder.rename(trash)  # gone from where jobs look in one step, then deleted
        shutil.rmtree(trash, ignore_errors=True)
        fetch.remove_partial(settings.models_dir, entries[name])
        return freed


def _every(seconds: float, fn):
    """`fn`, called at most once per `seconds` (and for the last piece)."""
    last = [0.0]

    def call(p) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds or p.done >= p.total:
            last[0] = now
            fn(p)

    return call
