"""One file in, one speaker-attributed transcript out.

decode -> channels (a stereo call heard a side at a time: channels.py, sides.py) -> voice
activity -> chunks -> language -> transcription and diarization (hearing.py) -> gaps ->
alignment (short sentences heard again by their own voice)

The compute-thread budget (`Settings.cpu_threads`) is explicit: whisper's chunk workers
share it, then the diarizer uses it, one stage at a time, so a job never has more busy
threads than the budget allows.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from app.core import hearing, sides
from app.core.audio_in import channels, chunks, level, vad
from app.core.audio_in import decode as audio
from app.core.common import devices
from app.core.common.errors import Cancelled
from app.core.document.text import shown
from app.core.document.transcript import Source, Transcript
from app.core.hearing import whisper_options  # noqa: F401 - callers size a transcriber as the pipeline does
from app.core.resources import Resources  # noqa: F401 - the pipeline's models, passed in by callers
from app.core.settings import Settings
from app.core.speakers import align
from app.core.speakers import signatures as voices
from app.core.whisper import coverage
from app.core.whisper.transcriber import ChunkResult

ReportProgress = Callable[[float, str], None]


@dataclass(frozen=True)
class Hooks:
    progress: ReportProgress = lambda fraction, stage: None
    cancel: Callable[[], bool] = lambda: False
    # from checkpoints: {index: [chunk dict, result]}, used where the chunk matches the plan
    done_chunks: dict[int, list] = field(default_factory=dict)
    on_chunk: Callable[[chunks.Chunk, ChunkResult], None] = lambda chunk, result: None
    diarization: dict | None = None  # a checkpointed diarization (see hearing.Hearing._diarize)
    on_diarization: Callable[[dict], None] = lambda data: None
    # Work done so far by an earlier run of this job: PLAN_PART (the chunk plan and the
    # language, JSON), diarize.VAD_PART and embedding batches k >= 0 (the diarizer's).
    parts: dict[int, bytes] = field(default_factory=dict)
    on_part: Callable[[int, bytes], None] = lambda part, data: None
    # each speaker's voice signature ({speaker id: float32 bytes}; see voices.py), once known
    on_voices: Callable[[dict[str, bytes]], None] = lambda signatures: None
    # the diarizer's windows and their embeddings (recluster.pack), to find speakers again
    on_windows: Callable[[bytes], None] = lambda data: None


log = logging.getLogger("app")
_logged: set[str] = set()


def _log_once(message: str) -> None:
    if message not in _logged:
        _logged.add(message)
        log.info(message)


def run(
    path: Path, settings: Settings, hooks: Hooks = Hooks(), resources: Resources | None = None, sha256: str = "",
    decoded: audio.Audio | None = None,
) -> Transcript:
    """`sha256`: the file's content hash when the caller already has it (the engine does).
    `decoded`: the audio itself, when it came from elsewhere (a remote worker is sent the
    decoded audio, never the file); `path` then only names it."""
    resources = resources or Resources()
    path = Path(path)
    hooks = replace(hooks, progress=_monotonic(hooks.progress))
    timer = _Timer(hooks)
    plan = devices.plan(settings.device, settings.compute_type)
    _log_once(f"Device: {plan.label}. {plan.note}".strip())
    hooks.progress(0.0, "decode")
    if decoded is None:
        sha256 = sha256 or (audio.file_sha256(path) if path.is_file() else "")
        decoded = audio.decode(path, max_seconds=settings.max_hours * 3600,
                               keep_channels=settings.channels if settings.channels != "mix" else False)
    timer.stage("decode")
    source = Source(shown(str(path)), sha256, round(decoded.duration, 3))
    warnings = list(decoded.warnings)
    layout = channels.decide(list(decoded.channels), settings.channels, decoded.channel_count)
    kept = list(decoded.channels) if layout.heard == "split" else [decoded.samples]
    del decoded  # the mix of a call heard a channel at a time goes before its channels are cleaned
    signals = channels.apart(kept) if layout.heard == "split" else kept
    del kept
    each = sides.settings_for(settings, len(signals))
    heard = []
    for samples, channel_hooks in zip(signals, sides.hooks_apart(hooks, len(signals))):
        heard.append(_listen(samples, each, plan, channel_hooks, resources, timer, path.name, alone=len(signals) > 1))
        each = sides.language_heard(each, heard[-1].language, sum(len(s.words) for s in heard[-1].segments))
    for one in heard:
        warnings += one.warnings
    spoken = [one for one in heard if one.segments or one.turns]
    languages = [one.language for one in sorted(spoken, key=lambda one: -len(one.segments))]
    language = languages[0] if languages else (settings.language or "")
    if len(signals) > 1:
        aligned, turns, found_voices = sides.together([(c, one.segments, one.turns, one.voices)
                                                       for c, one in enumerate(heard)])
        windows = b""  # finding speakers again works within one channel's voices, not across two
    else:
        aligned, turns, found_voices, windows = heard[0].segments, heard[0].turns, heard[0].voices, heard[0].windows
    ids = align.speaker_ids(aligned)
    segments, speakers = align.name_speakers(aligned, turns)
    if len(signals) > 1:
        speakers = [replace(s, channel=sides.channel_of(old)) for s, old in zip(speakers, ids)]
    hooks.on_voices({ids[label]: voices.to_bytes(vector) for label, vector in found_voices.items() if label in ids})
    hooks.on_windows(windows)
    timer.stage("align")
    if not any(one.turns or one.segments for one in heard):
        warnings.append(f"{path.name}: no speech was found in this recording.")
    elif not segments:
        warnings.append(f"{path.name}: speech was found but no words could be recognised.")
    return Transcript(
        source, language, settings.model, plan.label, tuple(speakers), tuple(segments), timer.done(), tuple(warnings),
        layout.to_dict(),
    )


@dataclass
class _Heard:
    """One signal (the recording, or one of its channels) heard: sentences with the
    diarizer's labels, its turns and voices."""

    segments: list = field(default_factory=list)
    turns: list = field(default_factory=list)
    language: str = ""
    warnings: list = field(default_factory=list)
    voices: dict = field(default_factory=dict)
    windows: bytes = b""


def _listen(samples, settings: Settings, plan, hooks: Hooks, resources, timer, name: str, alone: bool = False) -> _Heard:
    """`alone`: one channel of a call heard a side at a time (silent between its turns)."""
    from threadpoolctl import threadpool_limits

    heard = None
    try:
        with threadpool_limits(limits=settings.cpu_threads):
            saved = hearing.saved_plan(hooks.parts)
            if saved is not None:  # an earlier run of this job got this far
                regions = [tuple(r) for r in saved["regions"]]
            else:
                # the voice detector below keeps one core busy; the diarizer's libraries
                # load on another meanwhile
                hearing.import_diarizer_beside(hearing.diarizer_threads(settings, plan))
                regions = vad.speech_regions(samples, max_region_sec=settings.chunk_sec)
                if not regions:  # all of it quiet: heard again with its level evened out
                    regions = vad.speech_regions(level.even(samples), max_region_sec=settings.chunk_sec)
            # a side of a call is silent while the other talks: its speech is heard packed, the silences shortened
            planned = (chunks.packed(regions, settings.chunk_sec, sides.PAUSE_SEC) if alone
                       else chunks.plan(regions, settings.chunk_sec))
            timer.stage("vad")
            if not planned:
                return _Heard(language=settings.language or "")
            # Models load only once the file is known to hold speech.
            heard = hearing.Hearing(samples, settings, plan, hearing.whisper_options(settings, plan), hooks, resources, timer)
            results, language, turns = heard.transcribe_and_diarize(planned, regions)
            extra, missed = heard.fill_gaps(results, language)
            timer.stage("gaps")
    except BaseException:
        if heard:
            heard.stop()
        raise
    warnings = [f"{name}: speech was heard but no words recognised at {coverage.ranges_text(missed)}."] if missed else []
    whisper_segments = coverage.merge([seg for index in sorted(results) for seg in results[index]], extra)
    loudness = level.Loudness(samples)
    whisper_segments = coverage.trim_to_speech(whisper_segments, heard.speech, loudness.sound_from, loudness.quiet,
                                               alone=alone)
    aligned = align.align(whisper_segments, turns, heard.speech, heard.hearing())
    return _Heard(aligned, list(turns), language, warnings, dict(heard.voices), heard.windows)


def _monotonic(progress: ReportProgress) -> ReportProgress:
    """Progress reported from two threads, never going backwards."""
    lock = threading.Lock()
    highest = [0.0]

    def report(fraction: float, stage: str) -> None:
        with lock:
            highest[0] = max(highest[0], fraction)
            progress(highest[0], stage)

    return report


class _Timer:
    def __init__(self, hooks: Hooks):
        self.hooks = hooks
        self.timings: dict[str, float] = {}
        self._staged: set[str] = set()
        self.started = self.last = time.perf_counter()

    def stage(self, name: str) -> None:
        if self.hooks.cancel():
            raise Cancelled()
        now = time.perf_counter()
        # a channel at a time adds up; a stage the diarizer timed itself is not counted twice
        earlier = self.timings.get(name, 0.0) if name in self._staged else 0.0
        self._staged.add(name)
        self.timings[name] = round(earlier + now - self.last, 3)
        self.last = now
        if name in hearing.STAGE_END:
            self.hooks.progress(hearing.STAGE_END[name], name)

    def done(self) -> dict[str, float]:
        self.timings["total"] = round(time.perf_counter() - self.started, 3)
        self.hooks.progress(1.0, "done")
        return dict(self.timings)
