"""Jobs on other machines through a Redis queue (RQ): the worker's side.

`python -m app worker --redis URL` runs `serve`: an RQ worker that runs one job at a time
in its own process (models stay loaded between jobs), with its own data folder and
device choice. Each job is plain JSON (RQ's JSON serializer). Messages go back on a Redis
list the app reads; a heartbeat key says the job is alive; a cancel key stops it.

RQ runs whatever function a job names, by import, and whatever callbacks it names; anyone
who can write to the Redis writes jobs. So this worker runs one name only (queue.JOB),
compared before anything is imported, refuses callbacks, webhooks and dependencies, and
never logs what a job carries.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from rq import SimpleWorker
from rq.exceptions import DeserializationError
from rq.job import Job

from app.core.audio_in.decode import MAX_CHANNELS, MAX_SPLIT
from app.core.jobs import redis_queue as q
from app.core.common.errors import UserError

log = logging.getLogger("app")
_resources = None  # the loaded models, kept between jobs


class JobRefused(Exception):
    """A job this worker does not run; RQ fails it with this note."""


def refusal(job: Job) -> str | None:
    """Why `job` is not one this worker runs, or None. Reads only what the job holds as
    data: nothing it names is imported."""
    try:
        name, instance, args, kwargs = job.func_name, job.instance, job.args, job.kwargs
    except DeserializationError:
        return "refused: not a Diarization Studio job (its data is not JSON)"
    if name != q.JOB or instance is not None:
        return f"refused: not a Diarization Studio job (this worker runs {q.JOB} only)"
    # RQ's properties for these import what they name: the stored names are read instead
    if job._success_callback_name or job._failure_callback_name or job._stopped_callback_name:
        return "refused: a Diarization Studio job has no callbacks"
    if job.webhooks:
        return "refused: a Diarization Studio job has no webhooks"
    if job._dependency_ids:
        return "refused: a Diarization Studio job depends on no other job"
    if kwargs or len(args) != 1 or not isinstance(args[0], dict):
        return "refused: not a Diarization Studio job (unexpected arguments)"
    return None


class _StudioJob(Job):
    """Resolves queue.JOB to `run` and nothing else to anything: no import by name, no
    callbacks, no webhooks (refusal has turned away every job that names one)."""

    @property
    def func(self):
        if self.func_name != q.JOB or self.instance is not None:
            raise JobRefused("refused: not a Diarization Studio job")
        return run

    success_callback = failure_callback = stopped_callback = property(lambda self: None)

    def send_webhooks(self, status, *, exc_string=None) -> None:
        pass


class _Worker(SimpleWorker):
    """RQ's worker in this process, which runs only `refusal`-free jobs and logs job ids,
    never a job's description (RQ's holds its arguments) or arguments."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, job_class=_StudioJob, log_job_description=False, **kwargs)

    def perform_job(self, job: Job, queue, execution) -> bool:
        note = refusal(job)
        if note is None:
            return super().perform_job(job, queue, execution)
        log.warning("Worker %s: job %s %s.", self.name, job.id, note)
        try:
            self.prepare_job_execution(job, remove_from_intermediate_queue=len(self.queues) == 1)
        except DeserializationError:  # raised after the bookkeeping, by the process title alone
            pass
        from rq.utils import now

        job.ended_at = now()
        job.retries_left, job.webhooks = None, []
        self.handle_job_failure(job, queue, exc_string=note, execution=execution)
        return False

    def handle_exception(self, job: Job, *exc_info) -> None:
        """RQ's own hands the job's arguments to the log handlers: here only the job's id
        and what went wrong (a refusal in one line, anything else with its traceback)."""
        import traceback

        if isinstance(exc_info[1], (JobRefused, UserError)):
            log.warning("Worker %s: job %s failed: %s", self.name, job.id, exc_info[1])
        else:
            log.error("Worker %s: job %s failed:\n%s", self.name, job.id,
                      "".join(traceback.format_exception(*exc_info)))


def _read(payload) -> tuple:
    """The job in a payload: (RunJob, token, samples, warnings); JobRefused for anything else."""
    from app.core.jobs.messages import RunJob, from_json

    if not isinstance(payload, dict):
        raise JobRefused("refused: not a Diarization Studio job")
    protocol = payload.get("protocol")
    if isinstance(protocol, int) and not isinstance(protocol, bool) and protocol > q.PROTOCOL_CHANNELS:
        raise JobRefused(f"this worker is older than the app that sent the job (job protocol {protocol}, the worker "
                         f"reads {q.PROTOCOL_CHANNELS}): update the worker (its copy of Diarization Studio) and start it again")
    if protocol not in (q.PROTOCOL, q.PROTOCOL_CHANNELS) or not {"job", "samples", "token"} <= set(payload):
        raise JobRefused("refused: not a Diarization Studio job (missing fields)")
    try:
        job = from_json(payload["job"])
    except (ValueError, TypeError):
        job = None
    token, samples = payload["token"], payload["samples"]
    if (not isinstance(job, RunJob) or not isinstance(token, str) or not token.isalnum()
            or not isinstance(samples, int) or isinstance(samples, bool) or not isinstance(job.settings, dict)):
        raise JobRefused("refused: not a Diarization Studio job")
    warnings = tuple(str(w) for w in payload.get("warnings") or ())
    channels, in_file = payload.get("channels", 1), payload.get("file_channels", 1)
    if not (_count(channels, MAX_SPLIT) and _count(in_file, MAX_CHANNELS) and channels <= max(in_file, 1)):
        raise JobRefused(f"refused: a job's audio has 1 to {MAX_SPLIT} channels")
    return job, token, samples, warnings, channels, in_file


def _count(value, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= most


def run(payload: dict) -> str:
    """RQ's job function (queue.JOB). Raises (and so fails the RQ job, with the reason)
    when the payload is not a job; the pipeline's own outcomes go back as messages."""
    from dataclasses import replace

    from rq import get_current_job

    from app.core.jobs import spec as jobs
    from app.core import settings as settings_module
    from app.core.jobs.messages import Progress, to_json

    global _resources
    job, token, samples, warnings, channels, in_file = _read(payload)
    mine = settings_module.load()  # this machine's device, threads, data folder and longest recording
    try:  # the app's settings that change the result; everything else is this machine's
        settings = replace(mine, **{name: job.settings[name] for name in jobs.JOB_SETTINGS
                                    if name in job.settings and name not in ("device", "compute_type")}).validated()
    except TypeError:
        raise JobRefused("refused: the job's settings are not settings") from None
    from app.core.whisper.models import SIZES

    if settings.model not in SIZES:  # a name from the catalogue, never a folder on this machine
        raise JobRefused("refused: the job names a model that is not one of "
                         f"{', '.join(SIZES)}")
    client = get_current_job().connection
    messages, cancel_key, alive_key = q._messages(token), q._cancel(token), q._alive(token)
    last_progress = [Progress(job.job_id, 0.0, "queued")]
    lock = threading.Lock()
    stop = threading.Event()

    def send(message) -> None:
        """Progress may be dropped while Redis restarts (the next one says more); anything
        else waits for Redis to come back, so no chunk or result is lost."""
        import redis

        text = to_json(message)
        deadline = time.monotonic() + q.REDIS_PATIENCE_SEC
        while True:
            try:
                with lock:
                    if isinstance(message, Progress):
                        last_progress[0] = message
                    client.rpush(messages, text)
                    client.expire(messages, q.KEEP_SEC)
                return
            except redis.RedisError:
                if isinstance(message, Progress) or time.monotonic() > deadline:
                    if isinstance(message, Progress):
                        return
                    raise
                time.sleep(0.5)

    def beat() -> None:  # alive every second; progress at least every 2 s
        while not stop.wait(1.0):
            try:
                client.set(alive_key, b"1", ex=q.ALIVE_SEC)
                send(last_progress[0])
            except Exception:  # noqa: BLE001 - Redis restarting: the next beat tries again
                pass

    checked = [0.0, False]

    def cancelled() -> bool:
        now = time.monotonic()
        if now - checked[0] > 0.5:
            checked[0] = now
            try:
                checked[1] = bool(client.exists(cancel_key))
            except Exception:  # noqa: BLE001
                pass
        return checked[1]

    client.set(alive_key, b"1", ex=q.ALIVE_SEC)
    threading.Thread(target=beat, daemon=True, name="heartbeat").start()
    try:
        longest = int(settings.max_hours * 3600 * q.SAMPLE_RATE)
        # channels sent apart hold no more samples in all than two channels of the longest recording
        pcm = q.download_audio(client, job.cache_key, samples * channels, longest * min(channels, 2), channels)
        from app.core import pipeline
        from app.core.jobs import local_worker as worker
        import numpy as np

        from app.core.audio_in.decode import Audio

        # a call sent a side at a time: its channels, one after the other (the pipeline decides again)
        apart = tuple(pcm.reshape(channels, samples)) if channels > 1 else ()
        audio = Audio(np.mean(pcm.reshape(channels, samples), axis=0) if apart else pcm, warnings, apart, in_file)

        if _resources is None:
            _resources = pipeline.Resources()
        worker.run_job(job, send, _resources, settings=settings, decoded=audio, cancel=cancelled)
    finally:
        stop.set()
        client.delete(alive_key)
    return json.dumps({"job": job.job_id})


def serve(url: str, name: str | None = None, burst: bool = False, password: str | None = None) -> None:
    """Runs a worker for the queue at `url` until stopped (Ctrl-C); `password` for an
    address without one."""
    from rq import Queue
    from rq.serializers import JSONSerializer

    client = q.connect(url, password)
    queue = Queue(q.QUEUE, connection=client, serializer=JSONSerializer, job_class=_StudioJob)
    worker = _Worker([queue], connection=client, serializer=JSONSerializer, name=name)
    log.info("Worker %s takes jobs from %s (queue %s).", worker.name, q.safe_url(url), q.QUEUE)
    worker.work(burst=burst, with_scheduler=False)
