"""A recording heard a channel at a time (a call recorded a side a channel, channels.py):
each channel's own hooks, so its checkpoints never mix with the other's, and the channels'
speakers and sentences put together in time.

Channel c's chunks and parts are numbered from `(c + 1) * SPAN` (around 0 stays a mixed
job's: one killed before the app heard calls apart never lends its work to a channel); its
diarization is kept under its number in one saved dict, so a job killed half-way resumes
each channel where it stopped.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import replace

from app.core.document.transcript import Segment

SPAN = 1_000_000  # chunk indices and part numbers a channel may use
# A side's speech is heard with the silences while the other side talks shortened to this
PAUSE_SEC = 2.0


def hooks_apart(hooks, count: int) -> list:
    """`hooks` (pipeline.Hooks) as each of `count` channels sees them."""
    if count < 2:
        return [hooks]
    saved = dict((hooks.diarization or {}).get("channels", {}))  # every channel's, saved together
    lock = threading.Lock()
    return [_hooks_for(hooks, channel, count, saved, lock) for channel in range(count)]


def _hooks_for(hooks, channel: int, count: int, saved: dict, lock):
    low = (channel + 1) * SPAN
    mine = range(low - SPAN // 2, low + SPAN // 2)

    def on_chunk(chunk, result):
        hooks.on_chunk(replace(chunk, index=chunk.index + low), result)

    def on_diarization(data):
        with lock:
            saved[str(channel)] = data
            hooks.on_diarization({"channels": dict(saved)})

    return replace(
        hooks,
        progress=lambda fraction, stage: hooks.progress((channel + fraction) / count, stage),
        done_chunks={i - low: [dict(chunk, index=i - low), result]
                     for i, (chunk, result) in hooks.done_chunks.items() if i in mine},
        on_chunk=on_chunk,
        diarization=saved.get(str(channel)),
        on_diarization=on_diarization,
        parts={k - low: v for k, v in hooks.parts.items() if k in mine},
        on_part=lambda part, data: hooks.on_part(part + low, data),
    )


def settings_for(settings, count: int):
    """A channel's settings: the user's speaker count is the whole call's, so a channel has
    at most that many less one for each other channel (which holds someone too)."""
    hint = settings.num_speakers or settings.max_speakers
    if count < 2 or not hint:
        return settings
    return replace(settings, num_speakers=None, max_speakers=max(1, hint - (count - 1)))


def language_heard(settings, language: str, words: int):
    """The next channel's settings once one side was heard: the two sides of a call speak
    one language, detected on the first side that says enough to tell (a few words can
    be taken for another language), and detecting it again costs a second."""
    if settings.language or not language or words < ENOUGH_WORDS:
        return settings
    return replace(settings, language=language)


ENOUGH_WORDS = 20


def label(channel: int, speaker: str) -> str:
    return f"{channel}:{speaker}"


def together(heard: list) -> tuple[list[Segment], list, dict]:
    """The channels' aligned sentences, turns and voices ((channel, segments, turns, voices)
    each) as one recording's: every speaker named by its channel too, sentences in time order
    (two people talking at once give two overlapping sentences)."""
    segments, turns, voices = [], [], {}
    for channel, segs, channel_turns, channel_voices in heard:
        segments += [replace(s, speaker=label(channel, s.speaker)) for s in segs]
        turns += [replace(t, speaker=label(channel, t.speaker)) for t in channel_turns]
        voices.update({label(channel, k): v for k, v in channel_voices.items()})
    segments = _cut_where_others_speak(segments)
    segments.sort(key=lambda s: (s.start, s.end))
    turns.sort(key=lambda t: (t.start, t.end))
    return segments, turns, voices


def _cut_where_others_speak(segments: list[Segment]) -> list[Segment]:
    """A sentence is cut at a pause in which someone on another channel starts speaking:
    each channel alone never sees the other side's turn between its words."""
    starts: dict[str, list[float]] = {}
    for seg in segments:
        starts.setdefault(_channel_label(seg.speaker), []).append(seg.start)
    for values in starts.values():
        values.sort()
    out = []
    for seg in segments:
        mine = _channel_label(seg.speaker)
        others = [values for channel, values in starts.items() if channel != mine]
        piece: list = []
        for word in seg.words:
            if piece and any(_any_in(values, piece[-1].end, word.start) for values in others):
                out.append(_segment(seg.speaker, piece))
                piece = []
            piece.append(word)
        out.append(_segment(seg.speaker, piece) if seg.words else seg)
    return out


def _any_in(sorted_values: list[float], low: float, high: float) -> bool:
    i = bisect.bisect_left(sorted_values, low)
    return i < len(sorted_values) and sorted_values[i] < high


def _channel_label(speaker: str) -> str:
    return speaker.split(":", 1)[0]


def _segment(speaker: str, words: list) -> Segment:
    return Segment(words[0].start, words[-1].end, speaker, "".join(w.word for w in words).strip(), tuple(words))


def channel_of(speaker_label: str) -> int | None:
    head, _, rest = speaker_label.partition(":")
    return int(head) if rest and head.isdigit() else None
