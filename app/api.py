"""The local HTTP API: this computer's own programs upload a recording, poll its job, fetch the result.

    POST   /api/diarization/upload?language=es&persist=true   (multipart field "audio")
    GET    /api/diarization/jobs/{job_id}
    GET    /api/diarization/result/{job_id}?format=json|srt|vtt|txt|rttm
    DELETE /api/diarization/jobs/{job_id}
    GET    /api/diarization/jobs                               (X-Session-ID: only that session's)

Every request needs `Authorization: Bearer TOKEN`, the token kept in the data folder's
`api-token` (only its user may read it). The same engine and history as the window: a job
sent here joins the one queue. A job's id is random and alone lets its holder read or
cancel it. Refused before anything else: a Host that is not this server's (a web page on a
name that rebinds to 127.0.0.1) and an Origin not on the CORS list (a web page may neither
read nor send). An upload streams to a file in the data folder, never whole into memory, up
to a size cap; the name the client sent is never used as a path; no upload ever makes the
app download a model.
"""

# No `from __future__ import annotations` here: FastAPI reads the endpoints' annotations
# (Request, imported inside create_app) as objects.
import hmac
import ipaddress
import os
import re
import secrets
import tempfile
import uuid
from dataclasses import replace
from pathlib import Path

from app.core.common.errors import UserError
from app.core.document.exports import ALL as FORMATS
from app.core.jobs.status import EventKind, JobStatus

PREFIX = "/api/diarization"
FIELDS = ("language", "speakers", "max_speakers", "model", "channels")  # small form fields an upload may carry
STATUS_TEXT = {JobStatus.PENDING: "pending", JobStatus.IN_PROGRESS: "in progress", JobStatus.COMPLETED: "completed",
               JobStatus.FAILED: "failed", JobStatus.CANCELLED: "cancelled", JobStatus.INTERRUPTED: "pending"}
MEDIA_TYPES = {"json": "application/json", "srt": "application/x-subrip", "vtt": "text/vtt",
               "txt": "text/plain; charset=utf-8", "rttm": "text/plain; charset=utf-8",
               "md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "pdf": "application/pdf"}
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
PUBLIC_PATHS = ("/docs", "/docs/oauth2-redirect", "/openapi.json")  # the API's description: no token needed
WAITING = (JobStatus.PENDING, JobStatus.IN_PROGRESS, JobStatus.INTERRUPTED)
_API_ID = re.compile(r"[0-9a-f]{32}")  # engine.new_api_id
_TOKEN = re.compile(r"[A-Za-z0-9_.~+/=-]{16,512}")


def token_file(data_dir) -> Path:
    return Path(data_dir) / "api-token"


def load_or_create_token(data_dir) -> str:
    """The API's token, made once (the first time anything serves the API) and kept in the
    data folder, readable by its user only: `serve` and the window's API process share it."""
    path = token_file(data_dir)
    token = _read_token(path)
    if token:
        return token
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".api-token.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
        try:
            os.link(temporary, path)  # never over a token another process has just made
        except FileExistsError:
            if not _read_token(path):  # emptied or damaged by hand: made anew
                os.replace(temporary, path)
        except OSError:  # a file system without hard links
            os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return _read_token(path)


def _read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    if os.name == "posix" and path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return token if _TOKEN.fullmatch(token) else ""


def create_app(engine, settings, *, port: int, host: str = "127.0.0.1", token: str | None = None, cors_origins=(),
               max_upload_mb: float = 2048):
    """The FastAPI application over `engine`, served on `host`:`port` (the only Host it
    answers besides this computer's loopback names). `settings()` gives the settings a new
    job takes (the window's, kept current); `token`: the bearer token every request needs
    (by default the data folder's); `cors_origins`: the web pages allowed to call it."""
    from fastapi import FastAPI, HTTPException, Query, Request
    from fastapi.responses import Response

    app = FastAPI(title="Diarization Studio", version="1", description=__doc__.split("\n\n")[0],
                  docs_url="/docs", redoc_url=None)
    _document_token(app)
    token = token or load_or_create_token(settings().data_dir)
    hosts = _served_hosts(host, port)
    # Added innermost first: the gate sees a request before CORS answers its preflight,
    # and CORS before the token is asked for (a preflight carries none).
    app.add_middleware(_Bearer, token=token)
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "X-Session-ID", "Content-Type"])
    app.add_middleware(_Gate, hosts=hosts, origins={f"http://{h}" for h in hosts} | set(cors_origins),
                       port=port, any_address=host in ("0.0.0.0", "::"))
    uploads = _Uploads(engine, settings().data_dir)
    waiting = _Waiting(engine)

    @app.post(PREFIX + "/upload", status_code=200)
    async def upload(request: Request, language: str | None = None, persist: bool = False,
                     speakers: int | None = None, max_speakers: int | None = None, model: str | None = None,
                     channels: str | None = None):
        """Upload a recording (multipart field `audio`); its job at once, or the finished
        job when the same recording with the same settings was done before."""
        from starlette.requests import ClientDisconnect

        kind = request.headers.get("content-type", "")
        if not kind.startswith("multipart/form-data"):
            raise HTTPException(415, "Send the recording as multipart/form-data with a field named audio.")
        session = request.headers.get("x-session-id", "")[:200]
        current = settings()
        async with waiting.slot(session, current.api_max_pending):
            room = await _off_loop(uploads.kept_room, current.api_max_kept_gb) if persist else None
            if room is not None and room <= 0:
                raise HTTPException(429, str(_full()))
            target = uploads.new_file(persist)
            try:
                fields = await _receive(request, kind, target, int(max_upload_mb * 1024 * 1024), room)
                options = {"language": language, "speakers": speakers, "max_speakers": max_speakers, "model": model,
                           "channels": channels}
                options.update({k: v for k, v in fields.items() if k in options and v})
                try:
                    job_settings = _settings_for(current, options)
                except UserError as exc:
                    raise HTTPException(422, str(exc)) from None
                await _off_loop(_model_here, job_settings)
                try:
                    await _off_loop(engine.check_recording, target, job_settings.max_hours * 3600)
                    job = await _off_loop(lambda: engine.add(target, job_settings, session_id=session))
                except UserError as exc:  # the server's own path is not the client's business
                    raise HTTPException(415, str(exc).replace(str(target), "the upload")) from None
            except ClientDisconnect:
                target.unlink(missing_ok=True)
                raise HTTPException(400, "The upload was cut off before it ended.") from None
            except UserError as exc:
                target.unlink(missing_ok=True)
                raise HTTPException(exc.status, str(exc)) from None
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        uploads.track(job, target, persist)
        return _job_json(job)

    # Polls and results answer on the event loop itself (a read of a few rows, or bytes
    # already rendered), not through a pool of threads: no hand-over per request.
    rendered = _Rendered()

    @app.get(PREFIX + "/jobs/{job_id}")
    async def job_status(job_id: str):
        return _job_json(_job(job_id))

    @app.get(PREFIX + "/jobs")
    def job_list(request: Request):
        """The jobs sent with the caller's X-Session-ID header; without one, those sent without one (and the
        window's, when its user allows it in Preferences)."""
        session = request.headers.get("x-session-id", "")[:200]
        window = not session and settings().api_lists_window_jobs
        return [_job_json(engine.with_api_id(j)) for j in engine.jobs()
                if (j.from_api and j.session_id == session) or (window and not j.from_api)]

    @app.delete(PREFIX + "/jobs/{job_id}")
    def cancel(job_id: str):
        job = _job(job_id)
        if job.status in WAITING:
            engine.cancel(job.id)
        return _job_json(engine.job(job.id) or job)

    @app.get(PREFIX + "/result/{job_id}")
    async def result(job_id: str, format: str = Query("json", pattern="^(" + "|".join(FORMATS) + ")$"),
                     stamps: str = Query("turn", pattern="^(turn|paragraph|none)$"), notes: bool = False):
        job = _finished(job_id)
        with_folder = not settings().exports_without_folder
        # kept rendered by the transcript's revision, which notes made since do not change: with notes, afresh
        revision = None if notes else engine.shown_revision(job)
        body = None if notes else rendered.get(job.id, (format, stamps), with_folder, revision)
        if body is None:
            from app.printing import print_html

            text = await _off_loop(lambda: engine.render(job.id, format, with_folder=with_folder, stamps=stamps,
                                                         printer=print_html if format == "pdf" else None,
                                                         with_notes=notes))
            body = text if isinstance(text, bytes) else text.encode("utf-8")
            if not notes:
                body = rendered.put(job.id, (format, stamps), with_folder, revision, body)
        return Response(body, media_type=MEDIA_TYPES[format])

    @app.get(PREFIX + "/notes/{job_id}")
    async def kept_notes(job_id: str):
        """The notes kept for a finished job: each point with its `text` and `cites`."""
        from app.core.document.notes_doc import for_json

        kept = engine.notes.data(_finished(job_id).id)
        if kept is None:
            raise HTTPException(404, "No notes have been made of this transcript yet (POST to make them).")
        return for_json(*kept)

    @app.post(PREFIX + "/notes/{job_id}")
    async def make_notes(job_id: str, template: str = Query("summary", pattern=NOTES_TEMPLATES),
                         instructions: str = Query("", max_length=2000)):
        """Asks the local LLM set in Preferences for notes (one request at a time per job);
        502 with the reason when it cannot."""
        from app.core.document.notes_doc import for_json

        job = _finished(job_id)
        try:
            made = await _off_loop(lambda: engine.notes.make(job.id, template, instructions))
        except UserError as exc:
            raise HTTPException(502, str(exc)) from None
        return for_json(made.to_dict(), True)

    def _finished(job_id: str):
        job = _job(job_id)
        if job.status != JobStatus.COMPLETED:
            raise HTTPException(409, f"Job {job_id} is {STATUS_TEXT.get(job.status, job.status)}; "
                                     "it has no result yet.")
        return job

    def _job(job_id: str):
        """The job given out as `job_id`; anything else (an old number, a guess) is not found."""
        job = engine.job_for_api(job_id) if _API_ID.fullmatch(job_id) else None
        if job is None or not (job.from_api or settings().api_lists_window_jobs):
            raise HTTPException(404, "There is no such job.")
        return job

    app.state.uploads = uploads
    return app


NOTES_TEMPLATES = "^(summary|minutes|interview|consultation|custom)$"


def _served_hosts(host: str, port: int) -> set[str]:
    """The Host values a request may carry: this computer's loopback names, and the
    address it was told to listen on, with the port."""
    try:
        named = f"[{host}]" if ipaddress.ip_address(host).version == 6 else host
    except ValueError:
        named = host
    return {f"{name}:{port}".lower() for name in (*LOOPBACK_NAMES, named)}


def _document_token(app) -> None:
    """The OpenAPI page asks for the token (its Authorize button), as every call needs it."""
    made = app.openapi

    def openapi():
        schema = made()
        schema.setdefault("components", {})["securitySchemes"] = {"token": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"token": []}]
        return schema

    app.openapi = openapi


async def _refuse(scope, receive, send, status: int, detail: str) -> None:
    from fastapi.responses import JSONResponse

    await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)


class _Gate:
    """Before anything else (plain ASGI, as `_Bearer`): a Host other than this server's
    (DNS rebinding: a web page on a name that resolves to 127.0.0.1) is refused 421, an
    Origin not on the CORS list (a web page, which may not read or send here) 403."""

    def __init__(self, app, hosts: set[str], origins: set[str], port: int, any_address: bool):
        self.app, self.port, self.any_address = app, str(port), any_address
        self.hosts = {h.encode() for h in hosts}
        self.origins = {o.encode() for o in origins}

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = scope.get("headers") or ()
        hosts = [v.lower() for k, v in headers if k == b"host"]
        if len(hosts) != 1 or not self._host_ok(hosts[0]):
            return await self._refused(scope, receive, send, 421, "This server answers only as "
                                       "127.0.0.1 or localhost, with its port.")
        if any(k == b"origin" and v not in self.origins for k, v in headers):
            return await self._refused(scope, receive, send, 403, "Web pages from this origin may not call this "
                                       "server (serve --cors ORIGIN allows one).")
        return await self.app(scope, receive, send)

    def _host_ok(self, host: bytes) -> bool:
        if host in self.hosts:
            return True
        if not self.any_address:  # served on every address: an address (not a name) is this server
            return False
        name, _, port = host.decode("latin-1").rpartition(":")
        try:
            ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
        except ValueError:
            return False
        return port == self.port

    @staticmethod
    async def _refused(scope, receive, send, status: int, detail: str) -> None:
        if scope["type"] == "websocket":  # none is served: closed before it opens
            return await send({"type": "websocket.close", "code": 1008})
        await _refuse(scope, receive, send, status, detail)


class _Bearer:
    """Every request refused without `Authorization: Bearer TOKEN` but for the API's own
    description (plain ASGI: Starlette's http middleware slowed every request; evidence:
    docs/performance.md#evidence-behind-the-code)."""

    def __init__(self, app, token: str):
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and not (scope["method"] == "GET" and scope["path"] in PUBLIC_PATHS):
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                return await _refuse(scope, receive, send, 401, "This server needs its token: Authorization: Bearer "
                                     "TOKEN (the file api-token in the data folder; Preferences shows it).")
        return await self.app(scope, receive, send)


class _Waiting:
    """At most so many jobs waiting or running per session: a slot is held from the
    request's start (counted with the stored ones) until its job is stored."""

    def __init__(self, engine):
        self.engine = engine
        self._arriving: dict[str, int] = {}

    def slot(self, session: str, most: int):
        import contextlib

        from fastapi import HTTPException

        @contextlib.asynccontextmanager
        async def held():
            self._arriving[session] = self._arriving.get(session, 0) + 1  # before the count: never under it
            try:
                stored = await _off_loop(self._stored, session)
                if stored + self._arriving[session] > most:
                    raise HTTPException(429, f"This X-Session-ID already has {most} jobs waiting or running, the most "
                                             "this server takes at once; send more when some have finished.")
                yield
            finally:
                self._arriving[session] -= 1
                if not self._arriving[session]:
                    del self._arriving[session]

        return held()

    def _stored(self, session: str) -> int:
        return sum(1 for j in self.engine.jobs() if j.from_api and j.session_id == session and j.status in WAITING)


class _Rendered:
    """Results already rendered, by job, format and whether the folder is shown: a cached
    result is bytes handed back while the transcript's shown revision is the one it was
    rendered at (a rename, a correction or a known voice, made here or in the window's
    process, moves it on); a bounded number are kept."""

    MOST = 256

    def __init__(self):
        self._entries: dict[tuple[int, tuple[str, str], bool], tuple[int, bytes]] = {}

    def get(self, job_id: int, fmt: tuple[str, str], with_folder: bool, revision: int) -> bytes | None:
        found = self._entries.get((job_id, fmt, with_folder))
        return found[1] if found and found[0] == revision else None

    def put(self, job_id: int, fmt: tuple[str, str], with_folder: bool, revision: int, body: bytes) -> bytes:
        key = (job_id, fmt, with_folder)
        if key not in self._entries and len(self._entries) >= self.MOST:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (revision, body)
        return body


def _job_json(job) -> dict:
    return {
        "job_id": job.api_id, "status": STATUS_TEXT.get(job.status, str(job.status)), "stage": job.stage,
        "progress_percent": round(job.progress * 100, 1), "error": job.error or None, "file": job.name,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
    }


def _settings_for(base, options: dict):
    """The settings an upload's job takes: the server's, changed by what the client asked
    for; never a download (`_model_here` says whether the model is here)."""
    from app.core.whisper import models

    changes = {"offline": True}
    if options.get("language"):
        changes["language"] = str(options["language"]).strip().lower()
    if options.get("model"):
        changes["model"] = str(options["model"]).strip()
        if changes["model"] not in models.SIZES:  # a name, never a folder of this computer
            raise UserError(f"Unknown model: use one of {', '.join(models.SIZES)} (one already on this computer).")
    if options.get("channels"):
        changes["channels"] = str(options["channels"]).strip().lower()[:10]  # validated() names the choices
    for name, field in (("speakers", "num_speakers"), ("max_speakers", "max_speakers")):
        if options.get(name) not in (None, ""):
            try:
                changes[field] = int(options[name])
            except (TypeError, ValueError):
                raise UserError(f"{name} must be a whole number.") from None
    return replace(base, **changes).validated()


def _model_here(job_settings) -> None:
    """A model the job would have to download is refused (409); the server's own choice of
    a model folder is trusted."""
    from fastapi import HTTPException

    from app.core.whisper import models
    from app.core.common.errors import ModelError

    name = job_settings.model
    if name in models.SIZES and name != models.EMBEDDED_SIZE:
        try:
            models.resolve(name, job_settings.models_dir, allow_download=False)
        except ModelError:
            raise HTTPException(409, f"The '{name}' model is not on this computer, and this server never downloads "
                                     f"one: use '{models.EMBEDDED_SIZE}', or download '{name}' in the app first."
                                ) from None


async def _off_loop(fn, *args):
    import anyio

    return await anyio.to_thread.run_sync(lambda: fn(*args))


class _TooBig(UserError):
    status = 413


class _BadUpload(UserError):
    status = 400


class _Full(UserError):
    status = 429


def _full() -> _Full:
    return _Full("Recordings kept with persist=true fill the room this server keeps for them; "
                 "send it without persist, or remove kept recordings first.")


async def _receive(request, content_type: str, target: Path, cap: int, room: int | None = None) -> dict[str, str]:
    """Streams the multipart body: the `audio` part into `target` (at most `cap` bytes, and
    `room` when it is kept), the small fields into the dict returned."""
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
            if room is not None and state["size"] > room:
                raise _full()
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

    def kept_room(self, most_gb: float) -> int:
        """Bytes still free for kept recordings (0 or less: none)."""
        used = 0
        if self.kept.is_dir():
            with os.scandir(self.kept) as entries:
                for entry in entries:
                    try:
                        used += entry.stat().st_size if entry.is_file() else 0
                    except OSError:  # removed meanwhile
                        pass
        return int(most_gb * 1e9) - used

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


def serve(host: str = "127.0.0.1", port: int = 7001, cors_origins=(), settings=None):
    """`python -m app serve`: the API without the window, on this history's engine."""
    import uvicorn

    from app.core import settings as settings_mod
    from app.core.engine import Engine

    settings = settings or settings_mod.load()
    token = load_or_create_token(settings.data_dir)
    print(f"Every request needs 'Authorization: Bearer {token}' (kept in {token_file(settings.data_dir)}).",
          flush=True)
    engine, problem = Engine.for_service(settings)
    if problem:
        print(f"warning: {problem}", flush=True)
    engine.start()
    app = create_app(engine, lambda: settings, port=port, host=host, token=token, cors_origins=cors_origins,
                     max_upload_mb=settings.max_upload_mb)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
    finally:
        engine.close()
