"""The local HTTP API: other programs upload a recording, poll its job, fetch the result.

    POST   /api/diarization/upload?language=es&persist=true   (multipart field "audio")
    GET    /api/diarization/jobs/{job_id}
    GET    /api/diarization/result/{job_id}?format=json|srt|vtt|txt|rttm
    DELETE /api/diarization/jobs/{job_id}
    GET    /api/diarization/jobs                               (X-Session-ID: only that session's)

The same engine and history as the window: a job sent here joins the one queue. Loopback
only unless told otherwise, and then every request needs the bearer token the app made.
An upload streams to a file in the data folder, never whole into memory, up to a size
cap; the name the client sent is never used as a path.
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations
# (Request, imported inside create_app) as objects.
import hmac
import ipaddress
import os
import secrets
import uuid
from dataclasses import replace
from pathlib import Path

from app.core.errors import UserError
from app.core.exports import FORMATS, render
from app.core.status import EventKind, JobStatus

PREFIX = "/api/diarization"
FIELDS = ("language", "speakers", "max_speakers", "model")  # small form fields an upload may carry
STATUS_TEXT = {JobStatus.PENDING: "pending", JobStatus.IN_PROGRESS: "in progress", JobStatus.COMPLETED: "completed",
               JobStatus.FAILED: "failed", JobStatus.CANCELLED: "cancelled", JobStatus.INTERRUPTED: "pending"}
MEDIA_TYPES = {"json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt",
               "txt": "text/plain; charset=utf-8", "rttm": "text/plain; charset=utf-8"}


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def create_app(engine, settings, *, token: str | None = None, cors_origins=(), max_upload_mb: float = 2048):
    """The FastAPI application over `engine`. `settings()` gives the settings a new job
    takes (the window's, kept current); `token`: required as a bearer header when set."""
    from fastapi import FastAPI, HTTPException, Query, Request
    from fastapi.responses import Response

    app = FastAPI(title="Diarization Studio", version="1", description=__doc__.split("\n\n")[0],
                  docs_url="/docs", redoc_url=None)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-Session-ID", "Content-Type"])
    uploads = _Uploads(engine, settings().data_dir)

    if token is not None:
        app.add_middleware(_Bearer, token=token)

    @app.post(PREFIX + "/upload", status_code=200)
    async def upload(request: Request, language: str | None = None, persist: bool = False,
                     speakers: int | None = None, max_speakers: int | None = None, model: str | None = None):
        """Upload a recording (multipart field `audio`); its job at once, or the finished
        job when the same recording with the same settings was done before."""
        from starlette.requests import ClientDisconnect

        from app.core import audio

        kind = request.headers.get("content-type", "")
        if not kind.startswith("multipart/form-data"):
            raise HTTPException(415, "Send the recording as multipart/form-data with a field named audio.")
        target = uploads.new_file(persist)
        try:
            fields = await _receive(request, kind, target, int(max_upload_mb * 1024 * 1024))
        except ClientDisconnect:
            target.unlink(missing_ok=True)
            raise HTTPException(400, "The upload was cut off before it ended.") from None
        except UserError as exc:
            target.unlink(missing_ok=True)
            raise HTTPException(exc.status, str(exc)) from None
        options = {"language": language, "speakers": speakers, "max_speakers": max_speakers, "model": model}
        options.update({k: v for k, v in fields.items() if k in options and v})
        try:
            job_settings = _settings_for(settings(), options)
        except UserError as exc:
            target.unlink(missing_ok=True)
            raise HTTPException(422, str(exc)) from None
        try:
            await _off_loop(audio.probe, target, job_settings.max_hours * 3600)
            job = await _off_loop(engine.add, target, job_settings)
        except UserError as exc:  # the server's own path is not the client's business
            target.unlink(missing_ok=True)
            raise HTTPException(415, str(exc).replace(str(target), "the upload")) from None
        session = request.headers.get("x-session-id", "")[:200]
        if session:
            job = engine.store.update(job.id, session_id=session)
        uploads.track(job, target, persist)
        return _job_json(job)

    # Polls and results answer on the event loop itself (a read of a few rows, or bytes
    # already rendered), not through a pool of threads: no hand-over per request.
    rendered = _Rendered()

    @app.get(PREFIX + "/jobs/{job_id}")
    async def job_status(job_id: int):
        return _job_json(_job(job_id))

    @app.get(PREFIX + "/jobs")
    def job_list(request: Request):
        session = request.headers.get("x-session-id", "")
        return [_job_json(j) for j in engine.jobs() if not session or j.session_id == session]

    @app.delete(PREFIX + "/jobs/{job_id}")
    def cancel(job_id: int):
        job = _job(job_id)
        if job.status in (JobStatus.PENDING, JobStatus.IN_PROGRESS, JobStatus.INTERRUPTED):
            engine.cancel(job_id)
        return _job_json(engine.job(job_id) or job)

    @app.get(PREFIX + "/result/{job_id}")
    async def result(job_id: int, format: str = Query("json", pattern="^(" + "|".join(FORMATS) + ")$")):
        job = _job(job_id)
        if job.status != JobStatus.COMPLETED:
            raise HTTPException(409, f"Job {job_id} is {STATUS_TEXT.get(job.status, job.status)}; "
                                     "it has no result yet.")
        revision = engine.shown_revision(job)
        body = rendered.get(job_id, format, revision)
        if body is None:
            body = rendered.put(job_id, format, revision, render(format, engine.result(job_id)).encode("utf-8"))
        return Response(body, media_type=MEDIA_TYPES[format])

    def _job(job_id: int):
        job = engine.job(job_id)
        if job is None:
            raise HTTPException(404, f"There is no job {job_id}.")
        return job

    app.state.uploads = uploads
    return app


class _Bearer:
    """Every request refused without `Authorization: Bearer TOKEN` (plain ASGI: Starlette's
    http middleware cost about 3 ms a request on 2 cores)."""

    def __init__(self, app, token: str):
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                from fastapi.responses import JSONResponse

                refusal = JSONResponse({"detail": "This server needs its token: Authorization: Bearer TOKEN "
                                                  "(shown in the app's Preferences)."}, status_code=401)
                return await refusal(scope, receive, send)
        return await self.app(scope, receive, send)


class _Rendered:
    """Results already rendered, by job and format: a cached result is bytes handed back
    while the transcript's shown revision is the one it was rendered at (a rename, a
    correction or a known voice, made here or in the window's process, moves it on); a
    bounded number are kept."""

    MOST = 256

    def __init__(self):
        self._entries: dict[tuple[int, str], tuple[int, bytes]] = {}

    def get(self, job_id: int, fmt: str, revision: int) -> bytes | None:
        found = self._entries.get((job_id, fmt))
        return found[1] if found and found[0] == revision else None

    def put(self, job_id: int, fmt: str, revision: int, body: bytes) -> bytes:
        if (job_id, fmt) not in self._entries and len(self._entries) >= self.MOST:
            self._entries.pop(next(iter(self._entries)))
        self._entries[(job_id, fmt)] = (revision, body)
        return body


def _job_json(job) -> dict:
    return {
        "job_id": str(job.id), "status": STATUS_TEXT.get(job.status, str(job.status)), "stage": job.stage,
        "progress_percent": round(job.progress * 100, 1), "error": job.error or None, "file": job.name,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
    }


def _settings_for(base, options: dict):
    changes = {}
    if options.get("language"):
        changes["language"] = str(options["language"]).strip().lower()
    if options.get("model"):
        changes["model"] = str(options["model"]).strip()
    for name, field in (("speakers", "num_speakers"), ("max_speakers", "max_speakers")):
        if options.get(name) not in (None, ""):
            try:
                changes[field] = int(options[name])
            except (TypeError, ValueError):
                raise UserError(f"{name} must be a whole number.") from None
    return replace(base, **changes).validated()


async def _off_loop(fn, *args):
    import anyio

    return await anyio.to_thread.run_sync(lambda: fn(*args))


class _TooBig(UserError):
    status = 413


class _BadUpload(UserError):
    status = 400


async def _receive(request, content_type: str, target: Path, cap: int) -> dict[str, str]:
    """Streams the multipart body: the `audio` part into `target` (at most `cap` bytes),
    the small fields into the dict returned."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise _BadUpload("The multipart body has no boundary.")
    state = {"name": None, "header": b"", "headers": {}, "size": 0, "seen_audio": False}
    fields: dict[str, bytearray] = {}
    out = open(target, "wb")

    def on_header_field(data, start, end):
        state["header"] += data[start:end]

    def on_header_value(data, start, end):
        key = state["header"].lower()
        state["headers"][key] = state["headers"].get(key, b"") + data[start:end]

    def on_header_end():
        state["header"] = b""

    def on_headers_finished():
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = disposition.get(b"name", b"").decode("utf-8", "replace")
        state["headers"] = {}
        if state["name"] == "audio":
            state["seen_audio"] = True

    def on_part_data(data, start, end):
        if state["name"] == "audio":
            state["size"] += end - start
            if state["size"] > cap:
                raise _TooBig(f"The recording is larger than this server takes ({cap // (1024 * 1024)} MB).")
            out.write(data[start:end])
        elif state["name"] in FIELDS:  # anything else is read past, never kept
            field = fields.setdefault(state["name"], bytearray())
            if len(field) + end - start > 200:
                raise _BadUpload(f"The field {state['name']} is too long.")
            field += data[start:end]

    parser = MultipartParser(boundary, callbacks={
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except UserError:
        raise
    except Exception as exc:  # a malformed body (python-multipart's errors)
        if type(exc).__name__ == "ClientDisconnect":
            raise
        raise _BadUpload(f"The multipart body could not be read ({type(exc).__name__}).") from None
    finally:
        out.close()
    if not state["seen_audio"]:
        raise _BadUpload("No field named audio: send the recording as the multipart field audio.")
    if state["size"] == 0:
        raise _BadUpload("The recording is empty (0 bytes).")
    return {k: bytes(v).decode("utf-8", "replace").strip() for k, v in fields.items()}  # FIELDS only


class _Uploads:
    """Where uploads are written: data/uploads (removed once the job no longer needs the
    file, persist=false) or data/recordings (kept with the history, persist=true)."""

    def __init__(self, engine, data_dir: Path):
        self.temporary = Path(data_dir) / "uploads"
        self.kept = Path(data_dir) / "recordings"
        self._pending: dict[int, Path] = {}
        engine.subscribe(self._on_event)
        self._sweep(engine)

    def _sweep(self, engine) -> None:
        """Temporary uploads left by an earlier run: those a job still waits for are
        tracked again, the others removed."""
        waiting = {Path(j.path): j.id for j in engine.jobs()
                   if j.status not in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)}
        for path in self.temporary.glob("*.upload") if self.temporary.is_dir() else ():
            if path in waiting:
                self._pending[waiting[path]] = path
            else:
                path.unlink(missing_ok=True)

    def new_file(self, persist: bool) -> Path:
        folder = self.kept if persist else self.temporary
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder / f"{uuid.uuid4().hex}.upload"

    def track(self, job, path: Path, persist: bool) -> None:
        if persist:
            return
        if job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED):
            path.unlink(missing_ok=True)
        else:
            self._pending[job.id] = path

    def _on_event(self, event) -> None:
        if event.kind in (EventKind.STATUS, EventKind.REMOVED) and event.job.id in self._pending:
            if event.kind == EventKind.REMOVED or event.job.status in (JobStatus.COMPLETED, JobStatus.FAILED,
                                                                      JobStatus.CANCELLED):
                path = self._pending.pop(event.job.id, None)
                if path is not None:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass


def serve(host: str = "127.0.0.1", port: int = 7001, token: str | None = None, cors_origins=(), settings=None):
    """`python -m app serve`: the API without the window, on this history's engine."""
    import uvicorn

    from app.core import settings as settings_mod
    from app.core.engine import Engine, open_history, worker_factory

    settings = settings or settings_mod.load()
    if not is_loopback(host) and not token:
        token = new_token()
        print(f"Listening on {host}, not only this computer: every request needs "
              f"'Authorization: Bearer {token}'.", flush=True)
    store, problem = open_history(settings)
    if problem:
        print(f"warning: {problem}", flush=True)
    engine = Engine(store, worker_factory=worker_factory(lambda: settings))
    engine.start()
    app = create_app(engine, lambda: settings, token=token, cors_origins=cors_origins,
                     max_upload_mb=settings.max_upload_mb)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        engine.close()
