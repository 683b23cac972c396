"""Settings, read in one place: defaults, then saved preferences, then environment variables.

The result is a frozen object handed down explicitly; nothing else reads the environment.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from app.core.llm import hosts
from app.core.common import keychain
from app.core.whisper import languages
from app.core.common.errors import UserError

APP_NAME = "Diarization Studio"
DATA_DIR_ENV = "DIARIZATION_STUDIO_DATA_DIR"

# Environment variable -> (setting, parser). The names are the ones people already use.
ENV_NAMES = {
    "WHISPER_MODEL_SIZE": "model",
    "WHISPER_DEVICE": "device",
    "WHISPER_COMPUTE_TYPE": "compute_type",
    "DIARIZATION_PARALLEL_CHUNKS": "parallel_chunks",
    "DIARIZATION_CHUNK_SEC": "chunk_sec",
    "OLLAMA_HOST": "ollama_host",
    "HF_HUB_OFFLINE": "offline",  # the hub's own name for "never download"
    "HF_ENDPOINT": "hf_endpoint",  # the hub's own name for a mirror (or a test server)
    "DIARIZATION_STUDIO_MODEL_CATALOGUE": "model_catalogue",  # more pinned models (catalogue.py)
    "OLLAMA_API_KEY": "ollama_api_key",  # never saved, never stored with a job
    "REDIS_URL": "redis_url",  # or REDIS_HOST, REDIS_PORT and REDIS_PASSWORD (see load)
}
SECRET = ("ollama_api_key",)  # never written to the preferences file
# The queue's address is saved without its password, which the keychain keeps (keychain.py)
# with the address it was typed for; the two are joined again when settings are loaded.
QUEUE_SECRET = "redis_url"
NOT_IN_JOBS = ("ollama_api_key", "redis_url", "watched_folders")  # never stored with a job (a URL may hold a password)
DEVICES = ("auto", "cpu", "cuda", "mps")
CHANNELS = ("auto", "mix", "split")  # a stereo call heard a channel a side, or mixed (channels.py)
COMPUTE_TYPES = ("auto", "int8", "int8_float16", "int8_float32", "float16", "float32", "bfloat16")
EXPORT_FORMATS = ("txt", "srt", "vtt", "json", "rttm", "md", "html", "docx", "pdf")  # exports.ALL, kept import-free


@dataclass(frozen=True)
class WatchedFolder:
    """A folder whose new recordings join the queue (jobs/watch.py), with the settings its
    jobs get and the exports written when each is done."""
    path: Path
    language: str | None = None  # None: detect
    num_speakers: int | None = None
    max_speakers: int | None = None
    exports: tuple[str, ...] = ()  # EXPORT_FORMATS, written when a job is done
    export_to: Path | None = None  # None: beside each recording
    subfolders: bool = False

    def to_json(self) -> dict:
        return {"path": str(self.path), "language": self.language, "num_speakers": self.num_speakers,
                "max_speakers": self.max_speakers, "exports": list(self.exports),
                "export_to": str(self.export_to) if self.export_to else None, "subfolders": self.subfolders}

    @classmethod
    def from_json(cls, data) -> "WatchedFolder":
        """One saved or typed entry; UserError naming what is wrong."""
        if not isinstance(data, dict) or not isinstance(data.get("path"), str) or not data["path"].strip():
            raise UserError("A watched folder needs a path.")
        counts = {}
        for name in ("num_speakers", "max_speakers"):
            value = data.get(name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 32):
                raise UserError(f"Watched folder {data['path']}: the speaker count must be between 1 and 32.")
            counts[name] = value
        if counts["num_speakers"] is not None and counts["max_speakers"] is not None:
            raise UserError(f"Watched folder {data['path']}: give either an exact speaker count or a maximum.")
        language = data.get("language") or None
        if language is not None and language not in languages.CODES:
            raise UserError(f"Watched folder {data['path']}: unknown language '{language}'.")
        exports = data.get("exports") or []
        if not isinstance(exports, list) or any(f not in EXPORT_FORMATS for f in exports):
            raise UserError(f"Watched folder {data['path']}: exports are among {', '.join(EXPORT_FORMATS)}.")
        to = data.get("export_to")
        return cls(Path(data["path"]).expanduser(), language, counts["num_speakers"], counts["max_speakers"],
                   tuple(dict.fromkeys(exports)), Path(to).expanduser() if isinstance(to, str) and to else None,
                   bool(data.get("subfolders")))

    def job_settings(self, base: "Settings") -> "Settings":
        """`base` with this folder's language and speaker hint."""
        return replace(base, language=self.language, num_speakers=self.num_speakers, max_speakers=self.max_speakers)


@dataclass(frozen=True)
class Settings:
    model: str = "base"
    language: str | None = None  # None: detect
    device: str = "auto"
    compute_type: str = "auto"
    parallel_chunks: int = 2
    chunk_sec: float = 30.0
    num_speakers: int | None = None  # exact count, when the user knows it
    max_speakers: int | None = None
    channels: str = "auto"  # CHANNELS: "auto" decides from the audio
    cpu_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    roles_enabled: bool = False  # ask a local LLM (Ollama) to name the speakers' roles
    ollama_host: str = "http://localhost:11434"
    ollama_model: str = "qwen2.5:7b"
    roles_context: str = ""  # "a medical consultation in Spanish"
    ollama_timeout: float = 60.0
    ollama_confirmed_host: str = ""  # a host off this computer the user agreed to send excerpts to
    ollama_api_key: str = ""
    offline: bool = False  # never download a model, even one the user picks
    hf_endpoint: str = "https://huggingface.co"  # where catalogue models come from (fetch.py)
    model_catalogue: str = ""  # a JSON file of more pinned models (catalogue.py)
    max_hours: float = 12.0  # a longer recording is refused (a lying header cannot fill the memory)
    max_upload_mb: float = 2048.0  # the largest recording the HTTP API takes (app/api.py)
    api_enabled: bool = False  # Preferences: "Allow other programs to send recordings"
    api_port: int = 7001
    api_lists_window_jobs: bool = False  # the API's job list shows the jobs added in the window too
    api_max_pending: int = 20  # jobs one API session may have waiting or running at once
    api_max_kept_gb: float = 20.0  # all recordings kept by API uploads with persist=true (data/recordings)
    # Exports name the recording without its folder. On for new installs; an install
    # that predates the option keeps full paths until its user turns it on.
    exports_without_folder: bool = True
    process_on: str = "local"  # "local", or "workers": jobs go to the Redis queue at redis_url
    redis_url: str = ""  # redis://[:password@]host:port/db, rediss:// for TLS
    queue_fallback: str = "local"  # the queue unreachable when a job starts: "local" runs it here, "wait" waits
    watched_folders: tuple[WatchedFolder, ...] = ()  # Preferences: folders whose new recordings are queued
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    from_env: tuple[str, ...] = ()  # settings overridden by environment variables

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def history_file(self) -> Path:
        return self.data_dir / "history.db"

    @property
    def preferences_file(self) -> Path:
        return self.data_dir / "preferences.json"

    def validated(self) -> "Settings":
        if self.device not in DEVICES:
            raise UserError(f"Unknown device '{self.device}': use one of {', '.join(DEVICES)}.")
        if self.compute_type not in COMPUTE_TYPES:
            raise UserError(f"Unknown compute type '{self.compute_type}': use one of {', '.join(COMPUTE_TYPES)}.")
        if self.channels not in CHANNELS:
            raise UserError(f"Channels are heard {', '.join(CHANNELS)}, not '{self.channels}'.")
        if not 1 <= self.parallel_chunks <= 16:
            raise UserError(f"Chunk workers must be between 1 and 16, not {self.parallel_chunks}.")
        if not 5 <= self.chunk_sec <= 30:
            raise UserError(f"Chunk length must be between 5 and 30 seconds, not {self.chunk_sec:g}.")
        for name in ("num_speakers", "max_speakers"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 32:
                raise UserError(f"The speaker count must be between 1 and 32, not {value}.")
        if not 1 <= self.max_upload_mb <= 65536:
            raise UserError(f"The largest upload must be between 1 MB and 64 GB, not {self.max_upload_mb:g} MB.")
        if not 1024 <= self.api_port <= 65535:
            raise UserError(f"The port must be between 1024 and 65535, not {self.api_port}.")
        if not 1 <= self.api_max_pending <= 10000:
            raise UserError(f"Jobs waiting per program must be between 1 and 10000, not {self.api_max_pending}.")
        if not 0 <= self.api_max_kept_gb <= 100000:
            raise UserError(f"Kept uploads must be between 0 and 100000 GB, not {self.api_max_kept_gb:g}.")
        if not 0.01 <= self.max_hours <= 48:
            raise UserError(f"The longest recording must be between 0.01 and 48 hours, not {self.max_hours:g}.")
        if not 1 <= self.ollama_timeout <= 3600:
            raise UserError(f"The Ollama timeout must be between 1 and 3600 seconds, not {self.ollama_timeout:g}.")
        if self.num_speakers is not None and self.max_speakers is not None:
            raise UserError("Give either an exact speaker count or a maximum, not both.")
        hosts.parse(self.ollama_host)  # a clear error for a mistyped address
        if not self.hf_endpoint.startswith(("https://", "http://")):
            raise UserError(f"HF_ENDPOINT must be an http(s) address, not '{self.hf_endpoint}'.")
        if self.queue_fallback not in ("local", "wait"):
            raise UserError(f"When the queue is unreachable, jobs run 'local' or 'wait', not '{self.queue_fallback}'.")
        if self.process_on not in ("local", "workers"):
            raise UserError(f"'Process on' must be local or workers, not '{self.process_on}'.")
        if self.process_on == "workers" and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise UserError("Jobs are set to go to workers, but no queue address is set (REDIS_URL, or "
                            "REDIS_HOST and REDIS_PORT; redis://host:6379).")
        if self.language is not None and self.language not in languages.CODES:
            raise UserError(
                f"Unknown language '{self.language}': use a code such as en, es, fr or de, or leave it empty to detect it."
            )
        return self


def default_data_dir(environ: dict | None = None) -> Path:
    override = (os.environ if environ is None else environ).get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def _coerce(name: str, raw, source: str):
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if raw is None or raw == "":
        return None
    try:
        if "bool" in str(kind):
            if str(raw).strip().lower() in ("1", "true", "yes", "on"):
                return True
            if str(raw).strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if "int" in str(kind):
            return int(raw)
        if "float" in str(kind):
            return float(raw)
    except (TypeError, ValueError):
        raise UserError(f"{source}: '{raw}' is not a number.") from None
    return str(raw)


def load(environ: dict | None = None, preferences: bool = True, **overrides) -> Settings:
    """Defaults, then saved preferences, then environment, then explicit overrides (CLI flags)."""
    environ = os.environ if environ is None else environ
    # The data folder first: preferences are read from the folder these settings will use.
    settings = Settings(data_dir=Path(overrides.pop("data_dir", None) or default_data_dir(environ)))
    if preferences:
        saved = _with_secrets(settings, read_preferences(settings.preferences_file))
        if "exports_without_folder" not in saved:
            saved["exports_without_folder"] = _first_choice_of_export_paths(settings)
        settings = replace(settings, **saved)
    from_env = []
    for env_name, name in ENV_NAMES.items():
        if environ.get(env_name) not in (None, ""):
            settings = replace(settings, **{name: _coerce(name, environ[env_name], env_name)})
            from_env.append(name)
    if not environ.get("REDIS_URL") and environ.get("REDIS_HOST"):
        from urllib.parse import quote

        password = environ.get("REDIS_PASSWORD", "")
        if not password and environ.get("REDIS_PASSWORD_FILE"):  # kept out of the environment and command lines
            try:
                lines = Path(environ["REDIS_PASSWORD_FILE"]).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise UserError(f"REDIS_PASSWORD_FILE: {environ['REDIS_PASSWORD_FILE']} cannot be read "
                                f"({exc.__class__.__name__}).") from None
            password = lines[0] if lines else ""
        auth = f":{quote(password, safe='')}@" if password else ""
        url = f"redis://{auth}{environ['REDIS_HOST']}:{environ.get('REDIS_PORT') or 6379}"
        settings = replace(settings, redis_url=url)
        from_env.append("redis_url")
    if "redis_url" in from_env and "process_on" not in from_env:
        settings = replace(settings, process_on="workers")  # a queue named in the environment is used
        from_env.append("process_on")
    settings = replace(settings, from_env=tuple(from_env))
    settings = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    return settings.validated()


def _first_choice_of_export_paths(settings: Settings) -> bool:
    """A new install leaves folders out of exports; one with a history from before the
    option keeps them (as its user knew it). The choice is written down at once."""
    fresh = not settings.history_file.exists()
    try:
        save_preferences(settings, {"exports_without_folder": fresh})
    except (OSError, UserError):  # written on a later start
        pass
    return fresh


def read_preferences(path: Path) -> dict:
    """Saved preferences; an unreadable file is ignored rather than stopping the app."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    known = {f.name for f in fields(Settings)} - {"data_dir", "from_env", *SECRET}
    clean = {}
    for name, value in data.items() if isinstance(data, dict) else ():
        if name == "watched_folders":
            clean[name] = _watched_folders(value, path)
        elif name in known:
            try:
                clean[name] = _coerce(name, value, str(path))
            except UserError:
                continue
    return clean


def _watched_folders(value, path: Path) -> tuple[WatchedFolder, ...]:
    """The saved folders; one that cannot be read is left out, with a warning."""
    found = []
    for entry in value if isinstance(value, list) else ():
        try:
            found.append(WatchedFolder.from_json(entry))
        except UserError as exc:
            import logging

            logging.getLogger("app").warning("%s: %s It is not watched.", path, exc)
    return tuple(found)


def save_preferences(settings: Settings, changes: dict) -> None:
    """Writes the changes into preferences.json (0600): never a key, never the queue's
    password (kept apart: keychain.py)."""
    path = settings.preferences_file
    current = read_preferences(path)
    current.update({k: v for k, v in changes.items() if k not in SECRET})
    if "watched_folders" in current:
        current["watched_folders"] = [f.to_json() for f in current["watched_folders"]]
    if current.get("redis_url") or "redis_url" in changes:
        current["redis_url"] = _password_apart(settings.data_dir, current.get("redis_url") or "",
                                               typed="redis_url" in changes)
    keychain.write_private(path, json.dumps(current, indent=2, default=str))


def without_password(url: str) -> str:
    """The queue's address without its password (redis://user:pw@host, or a password=
    parameter, which redis-py reads too)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = parts.netloc
    if at and ":" in userinfo:
        user = userinfo.partition(":")[0]
        netloc = f"{user}@{hostport}" if user else hostport
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(k == "password" for k, _ in pairs):
        query = urlencode([(k, v) for k, v in pairs if k != "password"])
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    # joined by hand: urlunsplit drops the "//" of unix:///path once the netloc is empty
    return (f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


def _password_apart(data_dir: Path, url: str, typed: bool) -> str:
    """The address to save: a password in it goes to the keychain, with the address it was
    typed for; an address typed without one forgets the one kept."""
    public = without_password(url)
    if public != url:
        keychain.put(data_dir, QUEUE_SECRET, url)
    elif typed:
        keychain.put(data_dir, QUEUE_SECRET, "")
    return public


def _with_secrets(settings: Settings, saved: dict) -> dict:
    """The saved preferences with the queue's password joined back, from the keychain, to
    the very address it was typed for. One left in the file by an older version is moved
    out now (the file rewritten)."""
    url = saved.get("redis_url")
    if not url:
        return saved
    if without_password(url) != url:
        try:
            save_preferences(settings, {})
        except (OSError, UserError) as exc:  # kept working; moved out on a later start
            import logging

            logging.getLogger("app").warning("The queue's password could not be moved out of %s (%s).",
                                             settings.preferences_file, exc)
        return saved
    kept = keychain.get(settings.data_dir, QUEUE_SECRET)
    if kept and without_password(kept) == url:
        saved["redis_url"] = kept
    return saved
