"""Jobs on other machines through a Redis queue (RQ): the worker's side.

`python -m app worker --redis URL` runs `serve`: an RQ worker that runs one job at a time
in its own process (models stay loaded between jobs), with its own data folder and
device choice. Each job is plain JSON (RQ's JSON serializer; a payload that is not a job
fails with a note and the worker goes on). Messages go back on a Redis list the app
reads; a heartbeat key says the job is alive; a cancel key stops it.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from . import queue as q

log = logging.getLogger("app")
_resources = None  # the loaded models, kept between jobs


def run(payload: dict) -> str:
    """RQ's job function. Raises (and so fails the RQ job, with the reason) when the
    payload is not a job; the pipeline's own outcomes go back as messages."""
    from rq import get_current_job

    from . import pipeline, settings as settings_module, worker
    from .audio import Audio
    from .jobs import settings_from_dict
    from .messages import Progress, RunJob, from_json, to_json

    global _resources
    if not isinstance(payload, dict) or not {"job", "audio", "token"} <= set(payload):
        raise ValueError("not a Diarization Studio job (missing fields)")
    job = from_json(payload["job"])
    if not isinstance(job, RunJob) or not isinstance(payload["token"], str) or not payload["token"].isalnum():
        raise ValueError("not a Diarization Studio job")
    client = get_current_job().connection
    token = payload["token"]
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
        samples = q.download_audio(client, payload["audio"])
        mine = settings_module.load()  # this machine's device, threads and data folder
        settings = settings_from_dict(job.settings)
        from dataclasses import replace

        settings = replace(settings, device=mine.device, compute_type=mine.compute_type, cpu_threads=mine.cpu_threads,
                           parallel_chunks=mine.parallel_chunks, data_dir=mine.data_dir, offline=mine.offline)
        warnings = tuple(str(w) for w in payload.get("warnings") or ())
        if _resources is None:
            _resources = pipeline.Resources()
        worker.run_job(job, send, _resources, settings=settings, decoded=Audio(samples, warnings), cancel=cancelled)
    finally:
        stop.set()
        client.delete(alive_key)
    return json.dumps({"job": job.job_id})


def serve(url: str, name: str | None = None, burst: bool = False) -> None:
    """Runs a worker for the queue at `url` until stopped (Ctrl-C)."""
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer

    client = q.connect(url)
    queue = Queue(q.QUEUE, connection=client, serializer=JSONSerializer)
    worker = SimpleWorker([queue], connection=client, serializer=JSONSerializer, name=name)
    log.info("Worker %s takes jobs from %s (queue %s).", worker.name, q.safe_url(url), q.QUEUE)
    worker.work(burst=burst, with_scheduler=False)
