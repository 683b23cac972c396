"""Speech to timed words with faster-whisper, one chunk at a time over parallel workers.

Each worker runs faster-whisper's batched decoder (no conditioning on earlier text) on one
chunk per call, so a chunk's words depend only on its own audio: any chunk can be redone
or skipped (a checkpoint) without changing the others, and the result never depends on
which worker ran what.
"""

from __future__ import annotations

import bisect
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from app.core.audio_in import chunks
from app.core.whisper import loops
from app.core.audio_in.chunks import Chunk
from app.core.common.devices import DevicePlan
from app.core.common.errors import Cancelled, ModelError

SAMPLE_RATE = 16000
# A chunk whose words stop this far before its end is decoded again from there.
REST_SEC = 2.0
# Words of such a second pass heard this unsure are taken as noise (evidence: docs/accuracy.md#evidence-behind-the-code).
REST_MIN_PROBABILITY = 0.5
MAX_PASSES = 2
LOOP_PASSES = 2  # passes more, each after a repetition loop
# Short stretches transcribed on their own are heard together, up to this much at a time.
PACKED_SEC = 25.0
WITHOUT_TIMESTAMPS = False  # see _segments
# see token_budget: above what the densest speech needs (evidence: docs/accuracy.md#evidence-behind-the-code)
TOKENS_BASE, TOKENS_PER_SEC = 24, 8.0
ESCAPE_NGRAM = 5  # after a loop, no run of this many tokens may come twice (see _segments)
ChunkResult = list  # [{"start", "end", "text", "words": [{"start", "end", "word", "probability"}]}]


@dataclass(frozen=True)
class WhisperOptions:
    beam_size: int = 5
    workers: int = 2
    threads_per_worker: int = 1


class Transcriber:
    def __init__(self, model_dir, devices: DevicePlan, options: WhisperOptions):
        self.options = options
        try:
            self.model = _model_class()(
                str(model_dir),
                device=devices.whisper_device,
                compute_type=devices.compute_type,
                cpu_threads=options.threads_per_worker,
                num_workers=options.workers,
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"The speech model in {model_dir} could not be loaded: {exc}") from exc

    def detect_language(self, audio: np.ndarray, planned: list[Chunk]) -> tuple[str, float]:
        """Language of the first chunk of speech (whisper looks at 30 s anyway). Its
        features are the ones the batched decoder computes for that chunk, so the encoder's
        output is kept and the chunk's transcription does not encode it again."""
        if not planned:
            return "en", 0.0
        from faster_whisper.audio import pad_or_trim

        piece, _ = _joined(audio, planned[0].heard)
        features = pad_or_trim(self.model.feature_extractor(piece)[..., :-1])
        language, probability, _ = self.model.detect_keeping_encoding(features)
        return language, float(probability)

    def run(
        self,
        audio: np.ndarray,
        planned: list[Chunk],
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
        for chunk in planned:
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
        self.model.forget_encoding()
        if failures:
            raise failures[0]
        return results

    def spans(
        self, audio: np.ndarray, spans: list[tuple[float, float]], language: str, cancel: Callable[[], bool] = lambda: False
    ) -> list[list[dict]]:
        """The words of each of many short stretches (those no chunk gave words for).

        The stretches are heard a short pause apart, up to PACKED_SEC at a time, so a
        hundred of them cost a few whisper windows, not a hundred; each word goes back to
        the stretch it was said in."""
        found: list[list[dict]] = [[] for _ in spans]
        if not spans:
            return found
        starts = [s for s, _ in spans]
        results = self.run(audio, chunks.packed(spans, PACKED_SEC), language, cancel=cancel)
        for index in sorted(results):
            for seg in results[index]:
                for word in seg["words"]:
                    found[_nearest(spans, starts, (word["start"] + word["end"]) / 2)].append(word)
        return found

    def _one(self, pipe, audio: np.ndarray, chunk: Chunk, language: str) -> ChunkResult:
        """The chunk's words, one entry per whisper segment. Whisper may end a window
        early (an end-of-text token after the first sentences): the rest of the chunk is
        then decoded again from where the words stopped, so no speech in it is left out.
        So is a window that fell into a repetition loop, from where the loop began, with
        whisper kept from repeating itself (up to LOOP_PASSES passes more for loops)."""
        joined, where = _joined(audio, chunk.heard)
        length = len(joined) / SAMPLE_RATE
        found: list[list[dict]] = []
        start, looped = 0.0, False
        for passes in range(1, MAX_PASSES + LOOP_PASSES + 1):
            if passes > MAX_PASSES and not looped:
                break
            escaped = looped
            segments, looped = self._segments(pipe, joined, start, length, language, escape=looped)
            if passes > 1 and not escaped and not _sure([w for words in segments for w in words]):
                break
            found += segments
            if not segments:
                break
            stop = segments[-1][-1]["end"]
            if stop <= start + 0.1 or length - stop - 0.1 < REST_SEC:
                break
            start = stop
        out = []
        for words in found:
            words = [_in_recording(w, where) for w in words]
            text = "".join(w["word"] for w in words).strip()
            out.append({"start": words[0]["start"], "end": words[-1]["end"], "text": text, "words": words})
        return out

    def _segments(self, pipe, audio: np.ndarray, start: float, end: float, language: str, escape: bool = False):
        """Whisper's segments between `start` and `end`, each a list of words, up to the
        first repetition loop (one turn of it kept), and whether there was one: the
        caller hears the rest again with `escape`, in which no five tokens may come twice
        (a repetition penalty lost punctuation and capitals; evidence:
        docs/accuracy.md#evidence-behind-the-code)."""
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
            # twice: CTranslate2 4.8 stops at half of max_length (evidence: docs/accuracy.md#evidence-behind-the-code)
            max_new_tokens=2 * token_budget(end - start),
            no_repeat_ngram_size=ESCAPE_NGRAM if escape else 0,
        )
        grouped = [
            [
                {"start": round(w.start, 3), "end": round(w.end, 3), "word": w.word, "probability": round(w.probability, 4)}
                for w in seg.words or ()
            ]
            for seg in segments
        ]
        words, looped = loops.until_loop([w for words in grouped for w in words])
        kept = {id(w) for w in words}
        return [words for words in ([w for w in group if id(w) in kept] for group in grouped) if words], looped


def _sure(words: list[dict]) -> bool:
    return bool(words) and sum(w["probability"] for w in words) / len(words) >= REST_MIN_PROBABILITY


def token_budget(seconds: float) -> int:
    """The most tokens whisper may give for `seconds` of audio, half as much again as the
    densest speech needs, since a repetition loop runs to the limit: whisper's own (224
    tokens) cost seconds a window, and as much again for each stretch heard after it
    (evidence: docs/performance.md#evidence-behind-the-code). Speech that needs more than
    this is decoded again from its last word (_one)."""
    return int(min(220, TOKENS_BASE + TOKENS_PER_SEC * seconds))


def _model_class():
    """faster-whisper's model, keeping the last sentence of a window.

    The batched pipeline decodes each window once and drops a last segment that whisper
    left open (no closing timestamp: the speech runs on to the window's end), since its
    sequential loop would decode it again from there; here it is kept, so those words are
    not lost and cost no second decoding."""
    from faster_whisper import WhisperModel

    class Model(WhisperModel):
        # The encoder's output for the features the language was detected from, until the
        # chunk they belong to is transcribed (see Transcriber.detect_language).
        _keeping = False
        _kept: tuple[bytes, object] | None = None
        _lock = threading.Lock()

        def encode(self, features):
            if self._keeping:  # detecting the language
                output = super().encode(features)
                self._kept = (_digest(features), output)
                return output
            with self._lock:
                kept = self._kept
                if kept is not None and kept[0] == _digest(features):
                    self._kept = None
                    return kept[1]
            return super().encode(features)

        def detect_keeping_encoding(self, features):
            self._keeping = True
            try:
                return self.detect_language(features=features)
            finally:
                self._keeping = False

        def forget_encoding(self):
            self._kept = None

        def _split_segments_by_timestamps(self, tokenizer, tokens, time_offset, segment_size, segment_duration, seek):
            segments, seek, single_ending = super()._split_segments_by_timestamps(
                tokenizer, tokens, time_offset, segment_size, segment_duration, seek
            )
            used = sum(len(s["tokens"]) for s in segments)
            rest = tokens[used:]
            if any(t < tokenizer.eot for t in rest):  # words after the last closed segment
                first = rest[0] - tokenizer.timestamp_begin if rest[0] >= tokenizer.timestamp_begin else 0
                segments.append(
                    dict(seek=seek, start=time_offset + first * self.time_precision,
                         end=time_offset + segment_duration, tokens=rest)
                )
            return segments, seek, single_ending

    return Model


def _digest(features: np.ndarray) -> bytes:
    import hashlib

    return hashlib.blake2b(np.ascontiguousarray(features, np.float32).tobytes(), digest_size=16).digest()


def _joined(audio: np.ndarray, pieces) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """The pieces' audio one after the other, and where each lies in it: (from, to, shift),
    a time in the joined audio plus `shift` being that time in the recording."""
    parts, where, position = [], [], 0.0
    for start, end in pieces:
        part = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
        length = len(part) / SAMPLE_RATE
        where.append((position, position + length, start - position))
        parts.append(part)
        position += length
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), where


def _in_recording(word: dict, where: list[tuple[float, float, float]]) -> dict:
    """A word's times moved from the joined audio to the recording, by the piece it was
    said in (the nearest, for a word in a pause)."""
    middle = (word["start"] + word["end"]) / 2
    _, _, shift = min(where, key=lambda w: max(w[0] - middle, middle - w[1], 0.0))
    return dict(word, start=round(word["start"] + shift, 3), end=round(word["end"] + shift, 3))


def _nearest(spans: list[tuple[float, float]], starts: list[float], t: float) -> int:
    """The index of the (sorted, disjoint) span that holds time t, or the nearest one."""
    i = bisect.bisect_right(starts, t) - 1
    candidates = [k for k in (i, i + 1) if 0 <= k < len(spans)]
    return min(candidates, key=lambda k: max(spans[k][0] - t, t - spans[k][1], 0.0))
