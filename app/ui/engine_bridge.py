"""The engine's events as Qt signals; the engine's commands run on Qt's QThreadPool.

The heavy work runs in the engine's worker process; pool threads relay its messages and
do everything that touches the disk or a process (hashing an added file, scanning a
folder, removing a job), so the window's event loop is never held up.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal

from app.core.engine import Engine, Event, worker_factory
from app.core.common.errors import Cancelled, UserError
from app.core.document.exports import clock
from app.core.jobs.status import EventKind


DRAIN_BUDGET_SEC = 0.008  # of engine events handled per turn of the window's event loop


class _Task(QRunnable):
    def __init__(self, fn):
        super().__init__()
        self._fn = fn
        self.setAutoDelete(True)

    def run(self) -> None:
        self._fn()


class EngineBridge(QObject):
    """Signals carry the job as the engine wrote it, so the window never reads the history
    itself; a transcript is loaded on the pool (`load`) and comes back by `resultLoaded`."""

    jobAdded = Signal(object)  # Job
    jobProgress = Signal(object)
    jobStatus = Signal(object)
    jobRemoved = Signal(int)
    jobsListed = Signal(list)  # every job, in order (list_jobs); the events before it are superseded
    started = Signal(bool)  # whether this process runs the history's queue (start)
    rolesFound = Signal(int, dict, dict)  # job id, roles to accept (nobody typed a name), all suggested
    exported = Signal(str, str)  # the file, the reason nothing was written ("" when it was)
    audioSaved = Signal(str, str)  # what was written, in words; the reason nothing was ("" when it was)
    resultLoaded = Signal(int, object, object)  # job id, Transcript or None, suggested roles
    notesProgress = Signal(int, float, str)  # job id, fraction done, what is being done
    notesMade = Signal(int, object, bool, str)  # job id, its notes or None, whether current, why none were made
    notesChanged = Signal(int)  # job id: its notes were made, or a correction dated them
    _wake = Signal()
    pathsRefused = Signal(list)  # [Path]: not recordings (or folders without any)
    deviceFound = Signal(str, str)  # label, problem ("" when none)
    voicesListed = Signal(list)  # the known voices (engine.voices.list()), after any change to them
    commandFailed = Signal(str)  # what a command could not do, to show the user
    searchDone = Signal(str, list)  # the text searched, its hits (engine_search.Found)
    folderNews = Signal(str)  # what a watched folder did (queued, done, gone, back), in words
    modelsListed = Signal(list)  # engine.models.list(): a ModelRow each
    modelProgress = Signal(str, object)  # model name, fetch.Progress (a few times a second)
    modelDone = Signal(str, str)  # model name, "" when it is here, else "paused", "cancelled" or why not
    modelRemoved = Signal(str, object, str)  # model name, bytes freed, why it was not removed ("" when it was)

    def __init__(self, store=None, pool: QThreadPool | None = None, parent: QObject | None = None, settings=None):
        """On the user's history (by `settings`), or on `store` (tests)."""
        super().__init__(parent)
        if pool is None:  # its own: a job's supervisor holds a thread for the job's length
            pool = QThreadPool(self)
            pool.setMaxThreadCount(8)
        self.pool = pool
        self._pending: deque[Event] = deque()
        self._pending_lock = threading.Lock()
        self._loads: dict = {}  # job id (or ("notes", job id)): the latest read asked for (load, load_notes)
        self._draining = False
        self._wake.connect(self._drain, Qt.QueuedConnection)
        self.settings = settings  # the window's, kept current: where jobs run and role naming follow it
        self.problem = ""  # why the history could not be used (a session-only one is)
        self._closing = False  # set by close: long commands (saving audio, notes) stop
        self._notes_cancelled: set[int] = set()  # job ids whose notes being made are to stop (cancel_notes)
        self._watch_stop = None  # set to stop watching the folders (watch)
        self._downloads: dict[str, object] = {}  # model name: its latest Progress (None before one), while fetched
        self._model_stops: dict[str, str] = {}  # model name: "paused" or "cancelled", asked of its download
        if store is None:
            self.engine, self.problem = Engine.for_window(self._settings_now(), self.submit, self._settings_now)
        else:
            self.engine = Engine(store, spawn=self.submit, worker_factory=worker_factory(self._settings_now),
                                 settings_now=self._settings_now)
        self.engine.subscribe(self._relay)
        self.edited: dict[int, bool] = {}  # job id: whether its transcript had corrections when last loaded
        self._loaded: dict[int, object] = {}  # job id: its transcript as last loaded (the latest few)

    @property
    def history_path(self):
        return self.engine.history_path

    def _settings_now(self):
        from app.core.settings import Settings

        return self.settings or Settings()

    # commands, off the window's thread

    def start(self) -> None:
        """The engine takes the queue when no other process holds it; `started` says."""
        self.submit(lambda: self._quietly(self.started.emit, self._started()))

    def _started(self) -> bool:
        self.engine.start()
        return self.engine.owner

    def list_jobs(self) -> None:
        """Every job, by `jobsListed`, in its place among the events: read while no event
        can be queued, so those after it are the changes made since."""
        self.submit(lambda: self._queue(lambda: ("listed", self.engine.jobs())))

    def find_device(self, settings) -> None:
        """Which device jobs will use: probing for CUDA loads CTranslate2, which the window
        must not wait for before it shows."""
        from app.core.common import devices

        def find() -> None:
            try:
                self.deviceFound.emit(devices.plan(settings.device, settings.compute_type).label, "")
            except UserError as exc:
                self.deviceFound.emit(settings.device, str(exc))

        self.submit(find)

    def add_paths(self, paths, settings) -> None:
        def add() -> None:
            _, refused = self.engine.add_paths(paths, settings)
            if refused:
                self.pathsRefused.emit(refused)

        self.submit(add)

    def load(self, job_id: int) -> None:
        """The job's transcript and suggested roles, read from the history on the pool."""
        ticket = self._ticket(job_id)
        self.submit(lambda: self.load_now(job_id, ticket))

    def load_now(self, job_id: int, ticket: int | None = None) -> None:
        """Reads and announces the job's transcript in this thread; a read that a later one
        was asked after (it may finish first, on another thread) is not announced, so an
        older state never replaces a newer one on show."""
        ticket = self._ticket(job_id) if ticket is None else ticket
        try:
            found = self.engine.result(job_id), self.engine.roles.suggested(job_id)
            edited = self.engine.edits.exist(job_id)
            with self._pending_lock:
                if self._loads.get(job_id) != ticket:
                    return
                self.edited[job_id] = edited
                self._loaded.pop(job_id, None)
                self._loaded[job_id] = found[0]
                while len(self._loaded) > 8:
                    self._loaded.pop(next(iter(self._loaded)))
            self.resultLoaded.emit(job_id, *found)
        except RuntimeError:  # the app is quitting
            pass

    def loaded(self, job_id: int):
        """The job's transcript as last loaded, if it was one of the latest few (else None)."""
        with self._pending_lock:
            return self._loaded.get(job_id)

    def save_edit_now(self, job_id: int, transcript) -> None:
        """In this (pool) thread: the corrected transcript saved (None: back to the
        machine's), then loaded again."""
        self.engine.edits.revert(job_id) if transcript is None else self.engine.edits.save(job_id, transcript)
        self.load_now(job_id)

    def rename_now(self, job_id: int, speaker_id: str, name: str) -> None:
        """In this (pool) thread: the speaker renamed (the search index follows), then loaded again."""
        self.engine.rename_speaker(job_id, speaker_id, name)
        self.load_now(job_id)

    def speakers_again_now(self, job_id: int, transcript, count: int):
        """In this (pool) thread: see `engine.edits.speakers_again`."""
        return self.engine.edits.speakers_again(job_id, transcript, count)

    def find_roles(self, job_id: int) -> None:
        """The roles to accept and every suggestion, by `rolesFound`."""
        self.submit(lambda: self._quietly(self.rolesFound.emit, job_id, self.engine.roles.to_accept(job_id),
                                          self.engine.roles.suggested(job_id)))

    def export(self, job_id: int, fmt: str, path, stamps: str = "turn", with_notes: bool = False) -> None:
        """The job's transcript written to `path` (with its notes, if any, when `with_notes`);
        `exported` says how it went."""
        from app.printing import print_html

        def write() -> None:
            try:
                self.engine.export(job_id, fmt, path, stamps=stamps, printer=print_html if fmt == "pdf" else None,
                                   with_notes=with_notes)
                problem = ""
            except UserError as exc:
                problem = str(exc)
            self._quietly(self.exported.emit, str(path), problem)

        self.submit(write)

    def save_audio(self, job_id: int, path, speaker: str | None = None, segments=None, mode: str = "joined",
                   pool: QThreadPool | None = None) -> None:
        """A speaker's audio, or the segments', written to `path` (`engine.excerpts.save`) on
        `pool` (the editor's, after the corrections being saved); `audioSaved` says how it
        went. Stops when the window closes."""
        def write() -> None:
            try:
                done = self.engine.excerpts.save(job_id, path, speaker=speaker, segments=segments, mode=mode,
                                                 cancel=lambda: self._closing)
                self._quietly(self.audioSaved.emit, f"Saved {done.path.name} ({clock(done.seconds)})", "")
            except UserError as exc:
                self._quietly(self.audioSaved.emit, "", str(exc))
            except Cancelled:
                pass

        (pool or self.pool).start(_Task(write))

    def make_notes(self, job_id: int, template: str, instructions: str = "") -> None:
        """Notes of the job's transcript by the LLM (`engine.notes.make`) on the pool: how far
        by `notesProgress`, the notes or the reason there are none by `notesMade`. Stops on
        `cancel_notes` and when the window closes."""
        with self._pending_lock:
            self._notes_cancelled.discard(job_id)

        def make() -> None:
            try:
                made, problem = self.engine.notes.make(
                    job_id, template, instructions,
                    progress=lambda f, text: self._quietly(self.notesProgress.emit, job_id, f, text),
                    cancel=lambda: self._closing or job_id in self._notes_cancelled), ""
            except UserError as exc:
                made, problem = None, str(exc)
            self._ticket(("notes", job_id))  # a read of the notes begun before is not shown after these
            self._quietly(self.notesMade.emit, job_id, made, made is not None, problem)

        self.submit(make)

    def note_templates(self) -> list[tuple[str, str]]:
        """(name, title) of each notes template, the user's own ("custom") last."""
        return self.engine.notes.templates()

    def cancel_notes(self, job_id: int) -> None:
        with self._pending_lock:
            self._notes_cancelled.add(job_id)

    def load_notes(self, job_id: int) -> None:
        """The job's kept notes and whether they are current (`engine.notes.get`), read on the
        pool, by `notesMade`; a read that a later one was asked after is not announced."""
        ticket = self._ticket(("notes", job_id))

        def read() -> None:
            kept, current = self.engine.notes.get(job_id)
            with self._pending_lock:
                if self._loads.get(("notes", job_id)) != ticket:
                    return
            self._quietly(self.notesMade.emit, job_id, kept, current, "")

        self.submit(read)

    def models_list(self) -> None:
        """Every catalogue model, here or not, by `modelsListed` (an unreadable catalogue: `modelDone("", why)`)."""
        def read() -> None:
            try:
                self._quietly(self.modelsListed.emit, self.engine.models.list())
            except UserError as exc:
                self._quietly(self.modelDone.emit, "", str(exc))

        self.submit(read)

    def model_downloads(self) -> dict:
        """The models being fetched: name, its latest Progress (None until the first). Kept
        here, not in a dialog, so that a dialog opened again shows a download still going."""
        with self._pending_lock:
            return dict(self._downloads)

    def get_model(self, name: str) -> None:
        """Fetches the model on the pool (resumed from what a paused download left): how far
        by `modelProgress`, at most four times a second, the outcome by `modelDone`. Stops
        on `pause_model`, `cancel_model` and when the window closes (as a pause)."""
        with self._pending_lock:
            if name in self._downloads:
                return
            self._downloads[name] = None
            self._model_stops.pop(name, None)
        shown = [0.0]

        def progress(p) -> None:
            with self._pending_lock:
                self._downloads[name] = p
            if time.monotonic() - shown[0] >= 0.25 or p.done >= p.total:
                shown[0] = time.monotonic()
                self._quietly(self.modelProgress.emit, name, p)

        def stop() -> bool:
            with self._pending_lock:
                return self._closing or name in self._model_stops

        def fetch() -> None:
            try:
                self.engine.models.get(name, progress=progress, cancel=stop)
                outcome = ""
            except Cancelled:
                with self._pending_lock:
                    outcome = "paused" if self._closing else self._model_stops.get(name, "paused")
                if outcome == "cancelled":
                    self.engine.models.discard(name)
            except UserError as exc:
                outcome = str(exc)
            with self._pending_lock:
                self._downloads.pop(name, None)
                self._model_stops.pop(name, None)
            self._quietly(self.modelDone.emit, name, outcome)

        self.submit(fetch)

    def pause_model(self, name: str) -> None:
        """Stops the model's download, keeping what arrived (`get_model` resumes from it)."""
        with self._pending_lock:
            if name in self._downloads:
                self._model_stops[name] = "paused"

    def cancel_model(self, name: str) -> None:
        """Stops the model's download and deletes what arrived (a paused one's too)."""
        with self._pending_lock:
            if name in self._downloads:
                self._model_stops[name] = "cancelled"
                return

        def discard() -> None:
            try:
                self.engine.models.discard(name)
                self._quietly(self.modelDone.emit, name, "cancelled")
            except UserError as exc:
                self._quietly(self.modelDone.emit, name, str(exc))

        self.submit(discard)

    def remove_model(self, name: str) -> None:
        """Removes a downloaded model on the pool; `modelRemoved` says what was freed or why not."""
        def remove() -> None:
            try:
                self._quietly(self.modelRemoved.emit, name, self.engine.models.remove(name), "")
            except UserError as exc:
                self._quietly(self.modelRemoved.emit, name, 0, str(exc))

        self.submit(remove)

    @staticmethod
    def _quietly(emit, *args) -> None:
        try:
            emit(*args)
        except RuntimeError:  # the app is quitting
            pass

    def _ticket(self, job_id) -> int:  # a job id, or ("notes", job id)
        with self._pending_lock:
            self._loads[job_id] = self._loads.get(job_id, 0) + 1
            return self._loads[job_id]

    def cancel(self, job_id: int) -> None:
        self.submit(lambda: self.engine.cancel(job_id))

    def retry(self, job_id: int) -> None:
        self.submit(lambda: self.engine.retry(job_id))

    def remove(self, job_id: int) -> None:
        self.submit(lambda: self.engine.remove(job_id))

    def name_roles(self, job_id: int, settings_now=None) -> None:
        """Asked for by the user: `settings_now()` (the bridge's by default) is read when the
        excerpts would be sent, so a change in Preferences meanwhile holds."""
        self.submit(lambda: self.engine.roles.suggest(job_id, settings_now or self._settings_now))

    def voices_command(self, fn, job_id: int | None = None) -> None:
        """Runs a known-voices command (`fn(engine)`) on the pool; then the voices are
        listed again, and the job's transcript reloaded."""
        def run() -> None:
            try:
                fn(self.engine)
            except UserError as exc:
                self.commandFailed.emit(str(exc))
            try:
                self.voicesListed.emit(self.engine.voices.list())
                if job_id is not None:
                    self.load(job_id)
            except RuntimeError:  # the app is quitting
                pass

        self.submit(run)

    def search(self, text: str) -> None:
        """Every transcript searched on the pool; the hits come back by `searchDone`."""
        def find() -> None:
            try:
                self.searchDone.emit(text, self.engine.search.find(text))
            except RuntimeError:  # the app is quitting
                pass

        self.submit(find)

    def submit(self, fn) -> None:
        """Runs `fn` on the pool, off the GUI thread."""
        self.pool.start(_Task(fn))

    def _relay(self, event: Event) -> None:
        """From any thread: the event waits in a queue the window's thread drains a few
        milliseconds at a time, so a burst (a folder of recordings added at once) never
        holds the window up for longer than that."""
        self._queue(lambda: event)

    def _queue(self, make) -> None:
        """`make()`'s item joins the queue, made while no other item can join it."""
        with self._pending_lock:
            self._pending.append(make())
            wake = not self._draining
            self._draining = True
        if wake:
            self._quietly(self._wake.emit)  # the window and this bridge may be gone (the app is quitting)

    def _drain(self) -> None:
        deadline = time.perf_counter() + DRAIN_BUDGET_SEC
        while time.perf_counter() < deadline:
            with self._pending_lock:
                if not self._pending:
                    self._draining = False
                    return
                event = self._pending.popleft()
            try:
                self._signal(event)
            except Exception:  # noqa: BLE001 - one failing receiver must not stop the events after it
                import logging

                logging.getLogger("app").exception("an engine event could not be shown")
        QTimer.singleShot(0, self._drain)  # the rest on the event loop's next turn

    def _signal(self, event) -> None:
        if isinstance(event, tuple):  # ("listed", jobs)
            self.jobsListed.emit(event[1])
            return
        job = event.job
        if event.kind == EventKind.ADDED:
            self.jobAdded.emit(job)
        elif event.kind == EventKind.PROGRESS:
            self.jobProgress.emit(job)
        elif event.kind == EventKind.STATUS:
            self.jobStatus.emit(job)
            if "notes" in event.extra or "edited" in event.extra:
                self.notesChanged.emit(job.id)
        elif event.kind == EventKind.REMOVED:
            self.jobRemoved.emit(job.id)

    def watch(self, folders) -> None:
        """Watches these folders (instead of any watched before), on a thread of the core's."""
        from app.printing import print_html

        if self._watch_stop is not None:
            self._watch_stop.set()
        self._watch_stop = self.engine.watching.start(tuple(folders), self._settings_now, self.folderNews.emit,
                                                      printer=print_html)

    def close(self, wait_ms: int = 5000) -> None:
        """Stops the engine, then waits for the pool's tasks (a file being hashed stops at
        its next block, a model's download pauses), so none outlives the app."""
        with self._pending_lock:
            self._closing = True
        if self._watch_stop is not None:
            self._watch_stop.set()
        self.engine.close()
        self.pool.waitForDone(wait_ms)
