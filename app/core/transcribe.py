"""Speech to timed words with faster-whisper, one chunk at a time over parallel workers.

Each worker runs faster-whisper's batched decoder (no conditioning on earlier text) on one
chunk per call, so a chunk's words depend only on its own audio: any chunk can be redone
or skipped (a checkpoint) without changing the others, and the result never depends on
which worker ran what.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import loops
from .chunks import Chunk
from .devices import DevicePlan
from .errors import Cancelled, ModelError

SAMPLE_RATE = 16000
ChunkResult = list  # [{"start", "end", "text", "words": [{"start", "end", "word", "probability"}]}]


@dataclass(frozen=True)
class WhisperOptions:
    beam_size: int = 5
    workers: int = 2
    threads_per_worker: int = 1


class Transcriber:
    def __init__(self, model_dir, devices: DevicePlan, options: WhisperOptions):
        from faster_whisper import WhisperModel

        self.options = options
        try:
            self.model = WhisperModel(
                str(model_dir),
                device=devices.whisper_device,
                compute_type=devices.compute_type,
                cpu_threads=options.threads_per_worker,
                num_workers=options.workers,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"The speech model in {model_dir} could not be loaded: {exc}") from exc

    def detect_language(self, audio: np.ndarray, chunks: list[Chunk]) -> tuple[str, float]:
        """Language of the first chunk of speech (whisper looks at 30 s anyway)."""
        if not chunks:
            return "en", 0.0
        first = chunks[0]
        piece = audio[int(first.start * SAMPLE_RATE) : int(first.end * SAMPLE_RATE)]
        language, probability, _ = self.model.detect_language(piece)
        return language, float(probability)

    def run(
        self,
        audio: np.ndarray,
        chunks: list[Chunk],
        language: str,
        *,
        done: dict[int, ChunkResult] | None = None,
        on_chunk: Callable[[Chunk, ChunkResult], None] = lambda chunk, result: None,
        cancel: Callable[[], bool] = lambda: False,
        allowed_workers: Callable[[], int] | None = None,
    ) -> dict[int, ChunkResult]:
        """Transcribe every chunk not already in `done`; returns all results by chunk index.

        `allowed_workers` says how many workers may run right now (a thread slot may still
        be busy elsewhere); by default all of them.
        """
        results = dict(done or {})
        todo: queue.Queue[Chunk] = queue.Queue()
        for chunk in chunks:
            if chunk.index not in results:
                todo.put(chunk)
        lock = threading.Lock()
        failures: list[BaseException] = []

        def work(rank: int) -> None:
            from faster_whisper import BatchedInferencePipeline

            pipe = BatchedInferencePipeline(self.model)
            while not failures:
                if cancel():
                    failures.append(Cancelled())
                    return
                if allowed_workers is not None and rank >= allowed_workers():
                    if todo.empty():
                        return
                    time.sleep(0.05)
                    continue
                try:
                    chunk = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    result = self._one(pipe, audio, chunk, language)
                    with lock:
                        results[chunk.index] = result
                        on_chunk(chunk, result)
                except BaseException as exc:  # re-raised in the caller's thread below
                    failures.append(exc)
                    return

        workers = [threading.Thread(target=work, args=(rank,), daemon=True) for rank in range(self.options.workers)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        if failures:
            raise failures[0]
        return results

    def _one(self, pipe, audio: np.ndarray, chunk: Chunk, language: str) -> ChunkResult:
        pipe.last_speech_timestamp = chunk.start  # no state carried from the worker's last chunk
        segments, _ = pipe.transcribe(
            audio,
            language=language,
            clip_timestamps=[{"start": chunk.start, "end": chunk.end}],
            batch_size=1,
            beam_size=self.options.beam_size,
            word_timestamps=True,
            vad_filter=False,
        )
        out = []
        for seg in segments:
            words = [
                {"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word, "probability": round(w.probability, 4)}
                for w in seg.words or ()
            ]
            words = loops.collapse(words)
            if words:
                text = "".join(w["word"] for w in words).strip()
                out.append({"start": words[0]["start"], "end": words[-1]["end"], "text": text, "words": words})
        return out
