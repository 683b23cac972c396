"""Resuming after a crash: the 7.4-minute benchmark recording is transcribed once in full;
then, in a fresh history, the command line is killed with SIGKILL once the job reaches
60% and started again. Prints both times, their ratio (target <= 0.5) and whether the
resumed transcript equals the full run's.

    .venv/bin/python bench/bench_resume.py [--at 0.6]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _root import ROOT
TARGET = 0.5


def transcribe(wav: Path, data: Path, kill_at: float | None = None) -> tuple[float, str]:
    env = dict(os.environ, DIARIZATION_STUDIO_DATA_DIR=str(data), HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "app", "transcribe", str(wav), "--format", "json"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if kill_at is None:
        out, _ = proc.communicate()
        return time.perf_counter() - started, out
    db_path = data / "history.db"
    while proc.poll() is None:
        progress = 0.0
        if db_path.exists():
            try:
                with sqlite3.connect(db_path, timeout=1) as db:
                    row = db.execute("SELECT progress FROM jobs WHERE status = 'in_progress'").fetchone()
                    progress = row[0] if row else 0.0
            except sqlite3.OperationalError:
                pass
        if progress >= kill_at:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return time.perf_counter() - started, ""
        time.sleep(0.05)
    raise SystemExit("the job finished before it could be killed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--at", type=float, default=0.6)
    args = parser.parse_args()
    from bench.bench_audio import recording

    wav = recording()
    work = Path(tempfile.mkdtemp(prefix="bench-resume-"))
    full, reference = transcribe(wav, work / "full")
    killed, _ = transcribe(wav, work / "crashed", kill_at=args.at)
    time.sleep(1.0)  # the worker notices its parent is gone and exits
    with sqlite3.connect(work / "crashed" / "history.db") as db:
        chunks = db.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        diarized = db.execute("SELECT count(*) FROM diarization_checkpoints").fetchone()[0]
    rerun, resumed = transcribe(wav, work / "crashed")
    same = json.loads(resumed)["segments"] == json.loads(reference)["segments"]
    ratio = rerun / full
    print(f"file: {wav.name}; full run {full:.1f} s; killed at {args.at:.0%} after {killed:.1f} s "
          f"({chunks} chunks{' and the diarization' if diarized else ''} checkpointed)")
    print(f"rerun {rerun:.1f} s: {ratio:.2f} of a full run (target <= {TARGET})  {'ok' if ratio <= TARGET else 'MISSED'}")
    print(f"resumed transcript equals the full run's: {same}")
    for name, text in (("full run", reference), ("rerun", resumed)):
        stages = ", ".join(f"{k} {v:.1f}" for k, v in json.loads(text)["timings"].items())
        print(f"  {name} stages (s): {stages}")


if __name__ == "__main__":
    main()
