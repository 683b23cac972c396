"""The Redis queue's cost and throughput, with a real redis-server and real workers on this
machine (`python -m app worker`):

- the 7.4-minute benchmark file, transcribed locally and through the queue by one worker
  (each in a fresh history; worker started beforehand, as a worker on a NAS would be):
  the queue's overhead (target <= 5%);
- jobs per hour on the pyannote sample (8 distinct copies sent at once) with 1 and with 2
  workers.

    .venv/bin/python bench/bench_queue.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _root import ROOT
TARGET_OVERHEAD = 0.05
COPIES = 8


def env_for(data: Path) -> dict:
    return dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(data), HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")


def transcribe(data: Path, files, *extra) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app", "transcribe", *map(str, files), "--format", "txt",
                           "-o", str(data / "out"), *extra], cwd=ROOT, env=env_for(data), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return time.perf_counter() - started


def workers(url: str, folder: Path, count: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-m", "app", "worker", "--redis", url, "--name", f"bench-{i}"],
                              cwd=ROOT, env=env_for(folder / f"worker-{i}"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for i in range(count)]
    time.sleep(3)  # registered with the queue
    return procs


def stop(procs) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)


def main() -> None:
    from app.core.audio_in import decode as audio
    from bench.bench_audio import recording
    from tests import media
    from evaluation.recordings import pyannote_sample
    from tests.redis_server import RedisServer

    wav = recording()
    work = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    server = RedisServer(work / "redis").start()
    try:
        local = transcribe(work / "local", [wav])
        procs = workers(server.url, work, 1)
        try:
            remote = transcribe(work / "remote", [wav], "--redis", server.url)
        finally:
            stop(procs)
        overhead = remote / local - 1
        print(f"7.4-minute file: local {local:.1f} s, through the queue (1 worker) {remote:.1f} s: "
              f"overhead {overhead:+.1%} (target <= {TARGET_OVERHEAD:.0%})  {'ok' if overhead <= TARGET_OVERHEAD else 'MISSED'}")
        samples = audio.decode(pyannote_sample().wav).samples
        copies = [media.write_wav(work / f"sample-{i}.wav", samples * (0.9 + 0.01 * i)) for i in range(COPIES)]
        for count in (1, 2):
            procs = workers(server.url, work / f"w{count}", count)
            try:
                took = transcribe(work / f"jobs-{count}", copies, "--redis", server.url)
            finally:
                stop(procs)
            print(f"{count} worker(s), {COPIES} copies of the 30-s sample: {took:.1f} s, "
                  f"{COPIES / took * 3600:.0f} jobs per hour ({os.cpu_count()} cores on this machine)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
