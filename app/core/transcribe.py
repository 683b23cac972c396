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
# A chunk whose words stop this far before its end is decoded again from there.
REST_SEC = 2.0
MAX_PASSES = 2
# Short stretches transcribed on their own go into windows of this length, this far apart.
PACKED_SEC = 25.0
PACK_SILENCE_SEC = 0.5
WITHOUT_TIMESTAMPS = False  # see _segments
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
        regions: list[tuple[float, float]] | None = None,
    ) -> dict[int, ChunkResult]:
        """Transcribe every chunk not already in `done`; returns all results by chunk index.

        `allowed_workers` says how many workers may run right now (a thread slot may still
        be busy elsewhere); by default all of them.
        """
        regions = regions if regions is not None else [(c.start, c.end) for c in chunks]
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
                    result = self._one(pipe, audio, chunk, language, regions)
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

    def spans(
        self, audio: np.ndarray, spans: list[tuple[float, float]], language: str, cancel: Callable[[], bool] = lambda: False
    ) -> list[list[dict]]:
        """The words of each of many short stretches (those no chunk gave words for).

        The stretches (none over PACKED_SEC) are packed, a short silence apart, into
        windows of up to PACKED_SEC, so a hundred of them cost a few whisper windows, not
        a hundred; each word goes back to the stretch it was said in.
        """
        from faster_whisper import BatchedInferencePipeline

        pipe = BatchedInferencePipeline(self.model)
        found: list[list[dict]] = [[] for _ in spans]
        for window in _pack(spans):
            if cancel():
                raise Cancelled()
            pieces, offsets, position = [], [], 0.0
            for index in window:
                start, end = spans[index]
                piece = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
                offsets.append((index, position, position + len(piece) / SAMPLE_RATE))
                pieces += [piece, np.zeros(int(PACK_SILENCE_SEC * SAMPLE_RATE), np.float32)]
                position += len(piece) / SAMPLE_RATE + PACK_SILENCE_SEC
            packed = np.concatenate(pieces)
            whole = Chunk(-1, 0.0, len(packed) / SAMPLE_RATE)
            for seg in self._one(pipe, packed, whole, language, [(a, b) for _, a, b in offsets]):
                for word in seg["words"]:
                    middle = (word["start"] + word["end"]) / 2
                    # the stretch it was said in (or the nearest, for a word in the silence)
                    index, a, _ = min(offsets, key=lambda o: max(o[1] - middle, middle - o[2], 0.0))
                    shift = spans[index][0] - a
                    found[index].append(dict(word, start=round(word["start"] + shift, 3), end=round(word["end"] + shift, 3)))
        return found

    def _one(self, pipe, audio: np.ndarray, chunk: Chunk, language: str, regions) -> ChunkResult:
        """The chunk's words, one entry per whisper segment. Whisper may end a window
        early (an end-of-text token after the first sentences): the rest of the chunk is
        then decoded again from where the words stopped, so no speech in it is left out."""
        out: list[dict] = []
        start = chunk.start
        for _ in range(MAX_PASSES):
            segments = self._segments(pipe, audio, start, chunk.end, language)
            for words in segments:
                text = "".join(w["word"] for w in words).strip()
                out.append({"start": words[0]["start"], "end": words[-1]["end"], "text": text, "words": words})
            if not segments:
                break
            stop = segments[-1][-1]["end"]
            if stop <= start + 0.1 or _speech_within(regions, stop + 0.1, chunk.end) < REST_SEC:
                break
            start = stop
        return out

    def _segments(self, pipe, audio: np.ndarray, start: float, end: float, language: str) -> list[list[dict]]:
        """Whisper's segments between `start` and `end`, each a list of words (repetition
        loops cut across the whole window)."""
        pipe.last_speech_timestamp = start  # no state carried from the worker's last chunk
        segments, _ = pipe.transcribe(
            audio,
            language=language,
            clip_timestamps=[{"start": start, "end": end}],
            batch_size=1,
            beam_size=self.options.beam_size,
            word_timestamps=True,
            # Timestamp tokens let whisper go on past a pause; without them (the batched
            # pipeline's default) it skipped whole sentences of a quiet party mid-window.
            without_timestamps=WITHOUT_TIMESTAMPS,
            vad_filter=False,
        )
        grouped = [
            [
                {"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word, "probability": round(w.probability, 4)}
                for w in seg.words or ()
            ]
            for seg in segments
        ]
        kept = {id(w) for w in loops.collapse([w for words in grouped for w in words])}
        return [words for words in ([w for w in group if id(w) in kept] for group in grouped) if words]


def _pack(spans: list[tuple[float, float]]) -> list[list[int]]:
    windows: list[list[int]] = []
    length = PACKED_SEC
    for index, (start, end) in enumerate(spans):
        size = end - start + PACK_SILENCE_SEC
        if length + size > PACKED_SEC:
            windows.append([])
            length = 0.0
        windows[-1].append(index)
        length += size
    return windows


def _speech_within(regions: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of speech (by the voice detector) between `start` and `end`."""
    return sum(max(0.0, min(end, e) - max(start, s)) for s, e in regions)
