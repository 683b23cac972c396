"""Two-channel recordings for the channel decision, built from the dev set's speech.

    .venv/bin/python -m evaluation.stereo   # writes bench/out/devset/stereo-*

- `stereo-call-*`: constructed calls a party a channel: FLEURS readers cut at their own
  pauses, one party quiet (-30 dBFS peaks) and one loud, a third of the changes of
  speaker talked over for 0.5-3 s, each channel's leakage into the other (a 3-ms echo
  through a low-pass, -20 or -30 dB); `stereo-call-3` carries two people on its second
  channel (a speakerphone side: a FLEURS reader and Sheila of the two-speaker sample),
  `stereo-call-wide` is full-band, the others telephone
  speech; `stereo-call-long` is stereo-call-1's people for three minutes (for speed).
- negatives, to be mixed: `stereo-same-call` (a constructed mono call in both channels),
  `stereo-dual-sample` (the two-speaker sample as dual mono), `stereo-spaced-ami` (an AMI
  excerpt as two spaced microphones would hear it: another gain and 4 ms later on one).

Written like the dev set: `NAME.wav` (stereo), `NAME.rttm`, `NAME.json` (parties: speaker
-> channel, texts, utterances).
"""

from __future__ import annotations

import argparse

import numpy as np

from evaluation import devset, recordings
from evaluation.devset import OUT, SR, Item
from evaluation.scoring import der_parts, identities, wer

CALLS = {  # name: ([(speaker, clip, peak, channel)], leak dB, telephone, seed)
    "stereo-call-1": ([("A", "fleurs-es-001", 0.03, 0), ("B", "fleurs-es-000", 0.7, 1)], -20, True, 11),
    "stereo-call-2": ([("A", "fleurs-en-000", 0.7, 0), ("B", "fleurs-en-002", 0.03, 1)], -30, True, 12),
    "stereo-call-3": ([("A", "fleurs-en-001", 0.3, 0), ("B", "fleurs-en-003", 0.5, 1), ("C", "sample", 0.3, 1)],
                      -20, True, 13),
    "stereo-call-wide": ([("A", "fleurs-es-002", 0.5, 0), ("B", "fleurs-es-003", 0.1, 1)], -25, False, 14),
    # stereo-call-1's two people for three minutes (their utterances six times over): for speed
    "stereo-call-long": ([("A", "fleurs-es-001", 0.03, 0), ("B", "fleurs-es-000", 0.7, 1)], -20, True, 15),
}
ROUNDS = {"stereo-call-long": 6}
# Sheila of the two-speaker sample, where she talks alone (seconds), and what she says there
SHEILA = ([(14.44, 17.77), (21.94, 23.98), (24.06, 27.8)],
          "And I'm Sheila in Texas, originally from Chicago. Well, there isn't that much difference. "
          "At least you know, they all call me a Yankee down here")
NEGATIVES = ("stereo-same-call", "stereo-dual-sample", "stereo-spaced-ami")
NAMES = [*CALLS, *NEGATIVES]


def _leak(samples: np.ndarray, db: float) -> np.ndarray:
    """What the other channel picks up: 3 ms late, low-passed, `db` down."""
    from scipy.signal import butter, sosfilt

    late = np.concatenate([np.zeros(48, np.float32), samples[:-48]])
    return (sosfilt(butter(2, 2500, fs=SR, output="sos"), late) * 10 ** (db / 20)).astype(np.float32)


def call(name: str) -> Item:
    parties, leak_db, phone, seed = CALLS[name]
    rng = np.random.default_rng(seed)
    clips = {c.audio.stem: c for c in recordings.fleurs_clips()}
    pieces, texts = {}, {}
    for speaker, clip_name, peak, _ in parties:
        if clip_name == "sample":  # a voice unlike every FLEURS reader's
            audio = devset._decode(recordings.pyannote_sample().wav)
            said = [audio[int(s * SR) : int(e * SR)] for s, e in SHEILA[0]]
            texts[speaker] = SHEILA[1]
        else:
            said = devset._utterances(devset._decode(clips[clip_name].audio))
            texts[speaker] = clips[clip_name].reference
        pieces[speaker] = [p / (np.abs(p).max() + 1e-9) * peak for p in said] * ROUNDS.get(name, 1)
        texts[speaker] = " ".join([texts[speaker]] * ROUNDS.get(name, 1))
    spread = [((i + 0.5) / len(pieces[s]), s, p) for s, *_ in parties for i, p in enumerate(pieces[s])]
    order = [(s, p) for _, s, p in sorted(spread, key=lambda t: (t[0], t[1]))]
    channel_of = {s: ch for s, _, _, ch in parties}
    placed, position, last = [], 0.5, None
    for speaker, piece in order:
        length = len(piece) / SR
        if last and channel_of[last[0]] != channel_of[speaker] and rng.random() < 0.34:
            position = max(last[1] + 0.2, last[2] - float(rng.uniform(0.5, 3.0)))  # talked over
        placed.append((speaker, position, piece))
        last = (speaker, position, position + length)
        position += length + float(rng.uniform(0.3, 1.5))
    total = int((position + 0.5) * SR)
    clean = np.zeros((2, total), np.float32)
    utterances, turns = [], []
    for speaker, start, piece in placed:
        at = int(start * SR)
        clean[channel_of[speaker], at : at + len(piece)] += piece
        utterances.append((round(start, 3), round(start + len(piece) / SR, 3), speaker))
        inner = devset._speech(piece.astype(np.float32), min_silence_ms=300) or [(0.0, len(piece) / SR)]
        turns.extend((round(start + s, 3), round(start + e, 3), speaker) for s, e in inner)
    for ch in range(2):
        clean[ch] += rng.normal(0, 2e-4, total).astype(np.float32)
        if phone:
            clean[ch] = devset.telephone(clean[ch])[:total]
    heard = np.stack([clean[0] + _leak(clean[1], leak_db), clean[1] + _leak(clean[0], leak_db)])
    return Item(name, np.clip(heard, -1, 1), sorted(turns), clips[parties[0][1]].language, texts, utterances,
                channel_of)


def negative(name: str) -> Item:
    if name == "stereo-same-call":
        mono = devset.call_item("call-es-1", *devset.CALLS["call-es-1"])
        mono.samples = np.stack([mono.samples, mono.samples])
    elif name == "stereo-dual-sample":
        mono = devset.sample_item()
        mono.samples = np.stack([mono.samples, mono.samples])
    else:
        mono = next(i for i in devset.ami_items() if i.name == "ami-dev01")
        late = np.concatenate([np.zeros(64, np.float32), mono.samples[:-64]])
        mono.samples = np.stack([mono.samples, late * 0.5])
    mono.name = name
    return mono


REACH = 0.15  # a word reaches this far around itself when covering an utterance


def score(item: dict, transcript) -> dict:
    """DER at collar 0.25 and its parts (each sentence a turn: two people at once are two
    overlapping turns), speakers found and true; for a call, WER per party (the words said
    inside that party's utterances), words given to the wrong party (inside another
    party's utterance only), and the least share of an overlapped utterance that its
    party's words reach."""
    hyp = [(s.start, s.end, s.speaker) for s in transcript.segments]
    row = {k: v for k, v in der_parts(item["turns"], hyp, 0.25).items()}
    words = [(w.start, w.end, w.word, seg.speaker) for seg in transcript.segments for w in seg.words]
    party_of = identities(item["turns"], transcript)
    row["found"], row["true"] = len(transcript.speakers), item["speakers"]
    utterances = item.get("utterances") or []
    if not item.get("parties"):
        return row
    errors, wrong = [], 0
    for party, reference in item["texts"].items():
        spans = [(s, e) for s, e, p in utterances if p == party]
        said = [w[2] for w in sorted(words) if party_of.get(w[3]) == party and _inside(w, spans, 0.3)]
        errors.append(wer(reference, " ".join(said)))
    row["wer"] = float(np.mean(errors))
    for w in words:
        mine = [(s, e) for s, e, p in utterances if p == party_of.get(w[3])]
        others = [(s, e) for s, e, p in utterances if p != party_of.get(w[3])]
        wrong += _inside(w, others, 0.0) and not _inside(w, mine, 0.3)
    row["wrong"] = wrong
    overlapped = [u for u in utterances if any(o is not u and o[2] != u[2] and o[0] < u[1] and u[0] < o[1] for o in utterances)]
    reach = []
    for s, e, party in overlapped:
        covered = np.zeros(int((e - s) * 100) + 1, bool)
        for w in words:
            if party_of.get(w[3]) == party:
                covered[max(0, int((w[0] - REACH - s) * 100)) : max(0, int((w[1] + REACH - s) * 100))] = True
        reach.append(float(covered.mean()))
    row["overlap_reach"] = min(reach) if reach else float("nan")
    return row


def _inside(word, spans, margin: float) -> bool:
    middle = (word[0] + word[1]) / 2
    return any(s - margin <= middle <= e + margin for s, e in spans)


def build(names: list[str] | None = None, folder=OUT) -> list[str]:
    written = []
    for name in names or NAMES:
        if not (folder / f"{name}.json").exists():
            (call(name) if name in CALLS else negative(name)).write(folder)
        written.append(name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(NAMES))
    args = parser.parse_args()
    for name in build(args.only.split(",")):
        meta = devset.load(OUT, name)
        print(f"{name:20s} {meta['duration']:6.1f} s  {meta['speakers']} speakers")


if __name__ == "__main__":
    main()
