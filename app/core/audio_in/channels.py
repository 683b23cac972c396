"""A recording's channels: heard one by one when each carries its own party (a call
recorded one side a channel), mixed when they carry the same voices (music, a lecture, a
room recorded with spaced microphones).

The audio decides, 20 ms at a time: on a call recorded a side a channel nearly every
moment of speech belongs to one channel, the other holding at most its leakage (echo,
crosstalk 20-30 dB down); in a room recorded with two microphones every voice reaches
both, a few dB apart. Before a channel is heard on its own the other's leakage is taken
out of it (a short filter fitted where only the other side speaks), so an echo never
becomes words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
MODES = ("auto", "mix", "split")
FRAME = 320  # 20 ms
ACTIVE_DB = 12.0  # a frame this far above a channel's own quiet holds sound
APART_DB = 15.0  # a frame where one channel is this much louder is that channel's alone
SPLIT_SHARE = 0.6  # split when at least this share of the frames with sound is one channel's alone
EACH_SHARE = 0.03  # and each channel has at least this share to itself (two sides, not one)
FIT_SEC = 10.0  # of one side talking alone, to fit its leakage into the other channel
MAX_LAG = 480  # samples (30 ms): how late a leak may arrive
TAPS = 32
LEAK_GATE = 4.0  # a frame within this (energy) of the leak left after subtraction is silenced


@dataclass(frozen=True)
class Layout:
    """How a recording was heard: "mono" (one channel), "mixed" or "split"."""

    heard: str
    channels: int
    reason: str = ""

    def to_dict(self) -> dict:
        return {"heard": self.heard, "channels": self.channels, "reason": self.reason}


MONO = Layout("mono", 1)


def decide(channels: list[np.ndarray], asked: str = "auto", count: int = 0) -> Layout:
    """`channels`: each channel's samples, when kept; `count`: the file's channels (at
    least len(channels))."""
    count = max(count, len(channels))
    if count < 2:
        return Layout("mono", 1)
    if asked == "mix":
        return Layout("mixed", count, "mixed, as asked")
    if len(channels) < 2:
        return Layout("mixed", count, f"{count} channels are mixed")
    if asked == "split":
        return Layout("split", count, "each channel heard on its own, as asked")
    if count > 2:
        return Layout("mixed", count, f"{count} channels are mixed unless each is asked to be heard on its own")
    alone, each = separation(channels[0], channels[1])
    if alone >= SPLIT_SHARE and each >= EACH_SHARE:
        return Layout("split", 2, f"each channel carries its own speakers ({alone:.0%} of the sound is one channel's alone)")
    return Layout("mixed", 2, f"both channels carry the same voices ({alone:.0%} of the sound is one channel's alone)")


def separation(left: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """Of the frames with sound: the share that is one channel's alone, and the smaller of
    the two channels' shares."""
    a, b = frame_db(left), frame_db(right)
    sound = (a > _quiet(a) + ACTIVE_DB) | (b > _quiet(b) + ACTIVE_DB)
    if sound.sum() < 50:  # under a second of sound: nothing to tell apart
        return 0.0, 0.0
    d = (a - b)[sound]
    ours, theirs = float(np.mean(d >= APART_DB)), float(np.mean(d <= -APART_DB))
    return ours + theirs, min(ours, theirs)


def apart(channels: list[np.ndarray]) -> list[np.ndarray]:
    """Each channel with the other's leakage taken out (two channels; more are kept as they are)."""
    if len(channels) != 2:
        return [np.asarray(c, dtype=np.float32) for c in channels]
    left, right = channels
    da, db = frame_db(left), frame_db(right)
    return [_without_leak(left, right, da, db), _without_leak(right, left, db, da)]


def frame_db(samples: np.ndarray) -> np.ndarray:
    """Level of each 20-ms frame in dB, computed a block at a time (no float64 copy of an hour)."""
    frames = len(samples) // FRAME
    out = np.empty(frames, dtype=np.float32)
    block = 3000  # frames (60 s)
    for i in range(0, frames, block):
        piece = samples[i * FRAME : min(frames, i + block) * FRAME].astype(np.float64).reshape(-1, FRAME)
        out[i : i + len(piece)] = 10 * np.log10(np.mean(piece * piece, axis=1) + 1e-12)
    return out


def _quiet(db: np.ndarray) -> float:
    return float(np.percentile(db, 10)) if len(db) else 0.0


def _without_leak(mine: np.ndarray, other: np.ndarray, mine_db: np.ndarray, other_db: np.ndarray) -> np.ndarray:
    mine = np.asarray(mine, dtype=np.float32)
    theirs_alone = np.flatnonzero((other_db - mine_db >= APART_DB) & (other_db > _quiet(other_db) + ACTIVE_DB))
    if len(theirs_alone) < 50:
        return mine
    chosen = theirs_alone[np.linspace(0, len(theirs_alone) - 1, min(len(theirs_alone), int(FIT_SEC * 50))).astype(int)]
    chosen = chosen[(chosen * FRAME >= MAX_LAG + TAPS) & ((chosen + 1) * FRAME + MAX_LAG + TAPS <= len(mine))]
    if len(chosen) < 50:
        return mine
    at = (chosen[:, None] * FRAME + np.arange(FRAME)).reshape(-1)
    lag = _lag(mine, other, at[: 4 * SAMPLE_RATE])
    delays = np.arange(lag - 4, lag + TAPS - 4)
    x = np.stack([other[at - d] for d in delays], axis=1).astype(np.float64)
    y = mine[at].astype(np.float64)
    h, *_ = np.linalg.lstsq(x, y, rcond=None)
    left = float(np.sum((y - x @ h) ** 2) / (np.sum(y * y) + 1e-12))
    if left > 0.5:  # less than 3 dB of it explained: not a leak, the channel's own noise
        return mine
    leak = _filtered(other, h, delays[0])
    clean = mine - leak
    leak_db, clean_db = frame_db(leak), frame_db(clean)
    frames = min(len(leak_db), len(clean_db), len(other_db), len(mine_db))
    # what subtraction leaves of an echo (a real one is no exact copy) is silenced where the other side talks
    residue = (clean_db[:frames] < leak_db[:frames] + 10 * np.log10(max(left, 1e-6) * LEAK_GATE)) & (
        other_db[:frames] - mine_db[:frames] >= APART_DB)
    # brought down to the channel's own quiet, not to zero: a silence quieter than the room
    # would make the room's hiss sound like speech to what decides where a word begins (level.py)
    floor = _quiet(clean_db[:frames][~residue]) if (~residue).any() else -120.0
    for i in np.flatnonzero(residue & (clean_db[:frames] > floor)):
        clean[i * FRAME : (i + 1) * FRAME] *= np.float32(10 ** ((floor - clean_db[i]) / 20))
    return clean


def _lag(mine: np.ndarray, other: np.ndarray, at: np.ndarray) -> int:
    """The delay (samples, 0..MAX_LAG) at which `other` best explains `mine` at `at`:
    every 8th delay first, then each one around the best."""
    y = mine[at].astype(np.float64)
    yy = float(np.dot(y, y))

    def score(lag: int) -> float:
        x = other[at - lag].astype(np.float64)
        return abs(float(np.dot(x, y))) / (float(np.sqrt(np.dot(x, x) * yy)) + 1e-12)

    coarse = max(range(0, MAX_LAG + 1, 8), key=score)
    return max(range(max(0, coarse - 7), min(MAX_LAG, coarse + 7) + 1), key=score)


def _filtered(other: np.ndarray, h: np.ndarray, first_delay: int) -> np.ndarray:
    """`other` through the fitted filter: out[n] = sum_k h[k] * other[n - first_delay - k]
    (a block at a time: numpy's direct convolution, 32 taps, no scipy.signal to import)."""
    taps = h.astype(np.float32)
    full = np.zeros(len(other) + len(taps) - 1, dtype=np.float32)
    block = 1 << 20
    for i in range(0, len(other), block):
        piece = np.convolve(other[i : i + block].astype(np.float32), taps)
        full[i : i + len(piece)] += piece
    out = np.zeros(len(other), dtype=np.float32)
    if first_delay >= 0:
        out[first_delay:] = full[: len(other) - first_delay]
    else:
        out[: len(other) + first_delay] = full[-first_delay : len(other)]
    return out
