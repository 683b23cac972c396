"""Jobs on other machines through a Redis queue (RQ): the app's side.

`RemoteWorker` stands in for the local worker process (see engine._Worker): the engine
sends it a job and reads its messages, so a queued job is a job like any other (its
stage, progress, cancel, retry, checkpoints and cache key). What goes to Redis is plain
data only, JSON through RQ's JSON serializer (never pickle): the job description and the
decoded audio (16 kHz mono, 16-bit, compressed, in pieces under keys that expire). The
worker never needs the user's disk, and is told only what changes the result: the file's
name, never its folder, the data folder or the roles' context (roles are named here).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
import zlib

import numpy as np

from app.core.common.errors import UserError
from app.core.jobs.messages import ChunkDone, Failure, Part, Result, RunJob, from_json, to_json

QUEUE = "diarization-studio"
# The one function name a worker runs (remote_worker.refusal): a name of its own, not a
# module path, so moving modules never changes what workers accept. PROTOCOL numbers the
# payload; raise it when a worker of today could not read it.
JOB = "diarization_studio.job.v1"
PROTOCOL = 1
PROTOCOL_CHANNELS = 2  # a job whose audio is sent a channel at a time (an older worker says to update)
SAMPLE_RATE = 16000  # of the audio sent, as audio.decode gives it
PIECE_BYTES = 8 * 1024 * 1024  # of compressed audio per Redis value (a value may hold 512 MB)
KEEP_SEC = 24 * 3600  # audio, messages and flags expire after a day
ALIVE_SEC = 6  # a running remote job renews its heartbeat every second; gone this long, it died
JOB_TIMEOUT_SEC = 24 * 3600
REDIS_PATIENCE_SEC = 300.0  # how long a worker waits for a restarting Redis before giving the job up
log = logging.getLogger("app")


def connect(url: str, password: str | None = None):
    """A Redis connection, or a UserError naming what is wrong (never the password).
    `password`: for an address without one (a password in the address wins)."""
    import redis

    try:
        client = redis.Redis.from_url(url, password=password or None, socket_connect_timeout=5, socket_timeout=30,
                                      health_check_interval=10, retry_on_timeout=True)
        client.ping()
    except ValueError as exc:
        raise UserError(f"The queue address is not valid ({exc}); use redis://host:6379 or rediss:// for TLS.") from None
    except redis.AuthenticationError:
        raise UserError(f"The queue at {safe_url(url)} refused the password.") from None
    except redis.RedisError as exc:
        raise UserError(f"The queue at {safe_url(url)} cannot be reached ({type(exc).__name__}). "
                        "Check that Redis runs there and that this computer may connect.") from None
    return client


def read_password(path) -> str:
    """The password in a file (its first line), so that it never stands in a command line."""
    from pathlib import Path

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"The queue's password file {path} cannot be read ({exc.__class__.__name__}).") from None
    return lines[0] if lines else ""


def safe_url(url: str) -> str:
    """The address without its password, for messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}:{parts.port or 6379}"


def probe(url: str) -> str:
    """Whether the queue answers, and how many workers serve it, in words."""
    client = connect(url)
    workers = len(client.smembers("rq:workers:" + QUEUE))
    return f"Connected to {safe_url(url)}: {workers} worker(s) on the queue."


def audio_key(cache_key: str, channels: int = 1) -> str:
    """Where a job's audio lies; a call sent a channel at a time apart from the mix."""
    return f"ds:audio:{cache_key}" if channels == 1 else f"ds:audio:{cache_key}:c{channels}"


def upload_audio(client, cache_key: str, samples: np.ndarray, channels: int = 1) -> None:
    """The decoded audio, once per content: pieces, then the manifest that says they are
    all there (a reader never sees half an upload). QueueFull when Redis is at its memory limit."""
    import redis

    manifest = audio_key(cache_key, channels)
    if client.exists(manifest):
        client.expire(manifest, KEEP_SEC)
        count = json.loads(client.get(manifest))["pieces"]
        for i in range(count):
            client.expire(f"{manifest}:{i}", KEEP_SEC)
        return
    # 16-bit, scaled as decoders scale it (x / 32768): a 16-bit recording goes over unchanged.
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()
    packed = zlib.compress(pcm, 1)
    pieces = [packed[i : i + PIECE_BYTES] for i in range(0, len(packed), PIECE_BYTES)] or [b""]
    try:
        for i, piece in enumerate(pieces):
            client.set(f"{manifest}:{i}", piece, ex=KEEP_SEC)
        client.set(manifest, json.dumps({"pieces": len(pieces), "samples": len(samples)}), ex=KEEP_SEC)
    except redis.OutOfMemoryError:  # maxmemory with noeviction: refused, never evicted
        client.delete(*[f"{manifest}:{i}" for i in range(len(pieces))], manifest)
        raise QueueFull() from None


class QueueFull(UserError):
    def __init__(self):
        super().__init__("The queue's Redis is full (its memory limit is reached): this job was not sent. Wait "
                         "for the jobs in the queue to finish, or give Redis more memory (maxmemory) on the NAS.")


def download_audio(client, cache_key: str, samples: int, max_samples: int, channels: int = 1) -> np.ndarray:
    """The `samples` the job declares, never more: anyone who can write to the Redis can
    write a small piece that inflates to gigabytes, so each piece is inflated only as far
    as the declared length (and that length is at most `max_samples`)."""
    if not 0 <= samples <= max_samples:
        hours = max_samples / SAMPLE_RATE / 3600
        raise UserError(f"The job's audio is longer than this worker takes ({hours:g} hours, the longest recording "
                        "in its settings).")
    expected = 2 * samples  # 16-bit
    manifest = client.get(audio_key(cache_key, channels))
    if manifest is None:
        raise UserError("The job's audio is no longer in the queue (it expired); send the job again.")
    try:
        info = json.loads(manifest)
        pieces = info["pieces"]
        declared = info["samples"]
    except (ValueError, TypeError, KeyError):
        pieces = declared = None
    # zlib never makes data much larger: more pieces than that is not our upload
    most = (expected + expected // 1000 + 1024) // PIECE_BYTES + 1
    if declared != samples or not isinstance(pieces, int) or not 1 <= pieces <= most:
        raise UserError("What the queue holds under this job's key is not the audio it declares; send the job again.")
    pcm = bytearray()
    inflater = zlib.decompressobj()
    try:
        for i in range(pieces):
            key = f"{audio_key(cache_key, channels)}:{i}"
            if client.strlen(key) > PIECE_BYTES:
                raise UserError("What the queue holds under this job's key is not the audio it declares; "
                                "send the job again.")
            # one byte more than is still due: a piece that gives it holds more than was declared
            pcm += inflater.decompress(client.get(key) or b"", expected - len(pcm) + 1)
            if len(pcm) > expected or inflater.unconsumed_tail:
                raise UserError("The job's audio in the queue holds more than it declared; send the job again.")
    except zlib.error:
        raise UserError("The job's audio in the queue is damaged; send the job again.") from None
    if len(pcm) != expected or not inflater.eof or inflater.unused_data:
        raise UserError("The job's audio in the queue is incomplete; send the job again.")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


class RemoteWorker:
    """A worker on another machine, as the engine sees a worker (pid, alive, send,
    receive, kill, stop, exit_reason). A remote job whose worker dies (its heartbeat
    stops) goes back on the queue with the chunks and parts done so far."""

    pid = None

    def __init__(self, url: str, queue_name: str = QUEUE):
        from rq import Queue
        from rq.serializers import JSONSerializer

        self.url = url
        self.client = connect(url)
        self.queue = Queue(queue_name, connection=self.client, serializer=JSONSerializer)
        self._dead = False
        self._reason = ""
        self._job: RunJob | None = None
        self._token = ""
        self._done: dict = {}
        self._parts: dict = {}
        self._last_check = 0.0
        self._down_since: float | None = None

    # the worker interface

    def alive(self) -> bool:
        return not self._dead

    def send(self, job: RunJob) -> None:
        from app.core.audio_in import decode as audio
        from app.core.jobs.spec import settings_from_dict

        from app.core.audio_in import channels

        settings = settings_from_dict(job.settings)
        decoded = audio.decode(job.path, max_seconds=settings.max_hours * 3600,
                               keep_channels=settings.channels if settings.channels != "mix" else False)
        heard = list(decoded.channels) if channels.decide(list(decoded.channels), settings.channels).heard == "split" else []
        # a call heard a side at a time goes as its channels one after the other, anything else as the mix
        upload_audio(self.client, job.cache_key, np.concatenate(heard) if heard else decoded.samples, max(1, len(heard)))
        self._samples = len(decoded.samples)
        self._channels = max(1, len(heard))
        self._file_channels = decoded.channel_count
        self._job = job
        self._done = dict(job.done_chunks)
        self._parts = dict(job.parts)
        self._warnings = list(decoded.warnings)
        self._enqueue()

    def receive(self):
        import redis

        while not self._dead:
            try:
                item = self.client.blpop([_messages(self._token)], timeout=1)
                self._down_since = None
            except redis.RedisError as exc:  # Redis restarting: wait for it, nothing is lost
                self._down_since = self._down_since or time.monotonic()
                log.warning("The queue is unreachable (%s); retrying.", type(exc).__name__)
                time.sleep(1.0)
                continue
            if item:
                message = from_json(item[1].decode() if isinstance(item[1], bytes) else item[1])
                if isinstance(message, ChunkDone):
                    self._done[int(message.chunk["index"])] = [message.chunk, message.result]
                elif isinstance(message, Part):
                    self._parts[message.part] = message.data
                elif isinstance(message, Result):  # the worker knew only the file's name
                    message.transcript["source"].update(path=self._job.path, sha256=self._job.sha256)
                return message
            failure = self._check()
            if failure is not None:
                return failure
        return None

    def kill(self) -> None:
        if self._token:
            try:
                self.client.set(_cancel(self._token), b"1", ex=KEEP_SEC)
                self._rq_job().cancel()
            except Exception:  # noqa: BLE001 - cancelling is best effort; the job is already ours no more
                pass
        self._dead, self._reason = True, "cancelled"

    def stop(self, graceful: bool) -> None:
        self.kill()

    def exit_reason(self) -> str:
        return self._reason or "the remote worker stopped"

    # the queue

    def _enqueue(self) -> None:
        from pathlib import Path

        import redis

        from app.core.jobs.spec import JOB_SETTINGS

        self._token = uuid.uuid4().hex
        # What the worker needs and no more: the file's name, the settings that change the
        # result, and what is done so far (never the folder, the data folder, roles, Ollama,
        # or the file's hash: receive puts the path and hash back into the result).
        settings = {name: self._job.settings.get(name) for name in JOB_SETTINGS if name in self._job.settings}
        job = RunJob(self._job.job_id, Path(self._job.path).name, settings, self._job.cache_key, "", self._done,
                     self._job.diarization, self._parts)
        payload = {"protocol": PROTOCOL if self._channels == 1 else PROTOCOL_CHANNELS, "job": to_json(job), "samples": self._samples, "token": self._token,
                   "warnings": self._warnings, "channels": self._channels, "file_channels": self._file_channels}
        try:
            self.queue.enqueue(JOB, payload, job_id=f"ds-{self._token}", description="Diarization Studio job",
                               job_timeout=JOB_TIMEOUT_SEC, result_ttl=KEEP_SEC, failure_ttl=KEEP_SEC)
        except redis.OutOfMemoryError:
            raise QueueFull() from None
        self._enqueued_at = time.monotonic()
        self._last_check = time.monotonic()

    def _rq_job(self):
        from rq.job import Job
        from rq.serializers import JSONSerializer

        return Job.fetch(f"ds-{self._token}", connection=self.client, serializer=JSONSerializer)

    def _check(self):
        """Every 2 s without a message: a failed remote job becomes a Failure; one whose
        worker died goes back on the queue."""
        from rq.job import JobStatus as RQStatus

        if time.monotonic() - self._last_check < 2.0:
            return None
        self._last_check = time.monotonic()
        try:
            rq_job = self._rq_job()
            status = rq_job.get_status()
        except Exception:  # noqa: BLE001 - gone from Redis (restarted without its data): send it again
            self._enqueue()
            return None
        if status == RQStatus.FAILED:
            reason = (rq_job.latest_result().exc_string if rq_job.latest_result() else "") or "unknown error"
            reason = re.sub(r"^[\w.]+(Error|Refused): ", "", reason.strip().splitlines()[-1])  # the note, not the class
            return Failure(self._job.job_id, f"{self._job.path}: the remote worker could not run this job "
                                             f"({reason[:300].rstrip('.')}).")
        if status == RQStatus.STARTED and not self.client.exists(_alive(self._token)) \
                and time.monotonic() - self._enqueued_at > ALIVE_SEC:
            log.warning("job %s: its remote worker stopped answering; back on the queue.", self._job.job_id)
            self._enqueue()
        return None


def _messages(token: str) -> str:
    return f"ds:msgs:{token}"


def _cancel(token: str) -> str:
    return f"ds:cancel:{token}"


def _alive(token: str) -> str:
    return f"ds:alive:{token}"

