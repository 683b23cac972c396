"""Search across the whole history: 10,000 stored transcripts, each query's time (p50, p99).

    .venv/bin/python bench/bench_search.py [--transcripts N] [--segments N]

The history is built once in bench/out/search/ through the store's own `complete` (each
transcript 60 segments of 8 to 16 words drawn from the FLEURS references when
../shared is there, else from a fixed word list, Spanish accents included), then each
query runs 50 times: a rare word, a common one, an accented word typed without its
accent, two words, a speaker's name, a prefix. Target: under 50 ms each at the 99th
percentile.
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from _root import ROOT

OUT = ROOT / "bench" / "out" / "search"
WORDS = ("la consulta de hoy el paciente dice que tiene dolor de cabeza desde el día de ayer y "
         "también fiebre por la noche the doctor asked about the medication and the patient said "
         "she had been taking it every morning después de comer así que está mejor según dijo").split()
QUERIES = ["fiebre", "la", "dia", "dolor cabeza", "Doctora", "medic"]


def vocabulary() -> list[str]:
    try:
        from evaluation.recordings import fleurs_clips

        words = [w for clip in fleurs_clips() for w in clip.reference.split()]
    except Exception:  # no ../shared: the fixed list
        words = []
    return words + WORDS


def build(path: Path, transcripts: int, segments: int) -> None:
    from app.core.store import Store
    from app.core.document.transcript import Segment, Source, Speaker, Transcript, Word

    rng = random.Random(7)
    words = vocabulary()
    store = Store(path)
    store._db.execute("PRAGMA synchronous=OFF")  # building only: the searches read a normal file
    started = time.perf_counter()
    for n in range(transcripts):
        segs = []
        for i in range(segments):
            text = " ".join(rng.choice(words) for _ in range(rng.randint(8, 16)))
            speaker = f"SPEAKER_{i % 2:02d}"
            segs.append(Segment(i * 5.0, i * 5.0 + 4.0, speaker, text, (Word(i * 5.0, i * 5.0 + 0.4, " x", 0.9),)))
        names = ("Doctora Pérez", "Paciente") if n % 50 == 0 else ("Speaker 1", "Speaker 2")
        result = Transcript(Source(f"/consultas/{n:05d}.m4a", f"{n:064x}", segments * 5.0), "es", "base", "cpu",
                            (Speaker("SPEAKER_00", names[0], 100.0), Speaker("SPEAKER_01", names[1], 100.0)), tuple(segs))
        job = store.add_job(result.source.path, result.source.sha256, f"key{n}", {})
        store.complete(job.id, f"key{n}", result)
    store.close()
    print(f"built {transcripts} transcripts of {segments} segments in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=10_000)
    parser.add_argument("--segments", type=int, default=60)
    args = parser.parse_args()
    from app.core.store import Store

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"history-{args.transcripts}x{args.segments}.db"
    if not path.exists():
        build(path, args.transcripts, args.segments)
    store = Store(path)
    rows = store._run("SELECT count(*) FROM transcript_search").fetchone()[0]
    print(f"{args.transcripts} transcripts, {rows} indexed segments, {path.stat().st_size / 1e6:.0f} MB")
    print(f"{'query':<16} {'hits':>5} {'p50 ms':>8} {'p99 ms':>8}")
    worst = 0.0
    for query in QUERIES:
        times = []
        for _ in range(50):
            started = time.perf_counter()
            hits = store.search(query)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99) - 1]
        worst = max(worst, p99)
        print(f"{query!r:<16} {len(hits):>5} {p50:>8.2f} {p99:>8.2f}")
    print(f"worst p99: {worst:.1f} ms (target < 50 ms)  {'ok' if worst < 50 else 'MISSED'}")


if __name__ == "__main__":
    main()
