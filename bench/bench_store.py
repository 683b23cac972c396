"""Time to open a stored result of 1,000 segments (about 12,000 words), as the window will.

    .venv/bin/python bench/bench_store.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import _root  # noqa: F401 (the repository root on sys.path)

from app.core.store import Store
from app.core.document.transcript import Segment, Source, Speaker, Transcript, Word

TARGET_MS = 100


def long_transcript(n_segments: int = 1000, words_per_segment: int = 12) -> Transcript:
    segments = []
    for i in range(n_segments):
        start = i * 4.0
        words = tuple(
            Word(round(start + k * 0.3, 3), round(start + k * 0.3 + 0.25, 3), f" palabra{k}", 0.93)
            for k in range(words_per_segment)
        )
        segments.append(Segment(start, words[-1].end, f"SPEAKER_0{i % 3}", "".join(w.word for w in words).strip(), words))
    speakers = tuple(Speaker(f"SPEAKER_0{i}", f"Speaker {i + 1}", 1000.0) for i in range(3))
    return Transcript(Source("/consulta.m4a", "0" * 64, n_segments * 4.0), "es", "base", "cpu (int8)", speakers, tuple(segments))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "history.db")
        job = store.add_job("/consulta.m4a", "0" * 64, "key", {})
        store.complete(job.id, "key", long_transcript())
        store.rename_speaker("key", "SPEAKER_00", "Doctora")
        store.close()
        times = []
        for _ in range(20):
            started = time.perf_counter()
            reopened = Store(Path(folder) / "history.db")  # a new session, as after a restart
            transcript = reopened.result("key")
            times.append((time.perf_counter() - started) * 1000)
            reopened.close()
        size = (Path(folder) / "history.db").stat().st_size
    words = sum(len(s.words) for s in transcript.segments)
    median = statistics.median(times)
    print(f"result: {len(transcript.segments)} segments, {words} words; database {size / 1e6:.1f} MB")
    print(f"open store + load result: median {median:.1f} ms, worst {max(times):.1f} ms over {len(times)} runs "
          f"(target well under {TARGET_MS} ms)  {'ok' if median < TARGET_MS else 'MISSED'}")


if __name__ == "__main__":
    main()
