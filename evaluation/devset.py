"""The accuracy dev set, built from the real speech we have (nothing here is committed audio).

    .venv/bin/python -m evaluation.devset [--only NAME,...]   # writes bench/out/devset/

Every item is a 16 kHz WAV with its truth beside it: `NAME.rttm` (who speaks when) and
`NAME.json` (the true speaker count, the language, and where a text reference exists, the
reference text of each speaker and the spans of each utterance).

- `ami-*`: the fifteen AMI excerpts of ../shared/audio/ami with their human turns.
- `sample`: the two-speaker pyannote sample.
- `fleurs-*`: the FLEURS clips (one reader each; text reference).
- `call-*`: constructed two-party phone calls: two FLEURS readers cut at their own pauses
  into utterances that alternate, 0.3-2 s apart, band-limited to telephone speech (8 kHz,
  300-3400 Hz, mu-law), one party quiet and one loud.
- `long-2spk-30`/`-60`: the pyannote sample over and over (each repeat at another level,
  with a little noise), 30 and 60 minutes of the same two people.
- `long-10spk-30`/`-60`: AMI excerpts whose references are complete (dev00, tst00, trn08:
  ten people) in a new order and at a new level each round, 30 and 60 minutes.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evaluation import recordings
from evaluation.recordings import ROOT, write_wav
from evaluation.scoring import read_rttm, read_stm_text

SR = 16000
OUT = ROOT / "bench" / "out" / "devset"
AMI = recordings.SHARED_AUDIO / "ami"
MIN_TALK_SEC = 2.0  # a speaker counts as present from this much speech
CALLS = {  # name: (party A clip, party B clip, seed)
    "call-es-1": ("fleurs-es-001", "fleurs-es-000", 1),
    "call-es-2": ("fleurs-es-002", "fleurs-es-003", 2),
    "call-en-1": ("fleurs-en-000", "fleurs-en-002", 3),
    "call-en-2": ("fleurs-en-001", "fleurs-en-003", 4),
}
LONG_AMI = ("dev00", "tst00", "trn08")
# References that mark only part of the speech heard (tst01: 6 s of 30; trn01, trn02:
# under 2 s of any speaker): shown, but left out of the means.
PARTIAL_REFERENCE = {"ami-tst01", "ami-trn01", "ami-trn02"}


@dataclass
class Item:
    name: str
    samples: np.ndarray
    turns: list[tuple[float, float, str]]
    language: str | None = None
    texts: dict[str, str] = field(default_factory=dict)  # speaker -> reference text
    utterances: list[tuple[float, float, str]] = field(default_factory=list)
    parties: dict[str, int] = field(default_factory=dict)  # speaker -> channel (stereo items)

    @property
    def true_speakers(self) -> int:
        talk: dict[str, float] = {}
        for start, end, speaker in self.turns:
            talk[speaker] = talk.get(speaker, 0.0) + end - start
        return sum(1 for t in talk.values() if t >= MIN_TALK_SEC)

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        stereo = self.samples.ndim == 2  # (channels, samples)
        wav = write_wav(folder / f"{self.name}.wav", self.samples.T if stereo else self.samples,
                        channels=len(self.samples) if stereo else 1)
        lines = [
            f"SPEAKER {self.name} 1 {s:.3f} {e - s:.3f} <NA> <NA> {spk} <NA> <NA>" for s, e, spk in self.turns
        ]
        (folder / f"{self.name}.rttm").write_text("\n".join(lines) + "\n", encoding="utf-8")
        meta = {
            "speakers": self.true_speakers,
            "language": self.language,
            "texts": self.texts,
            "utterances": self.utterances,
            "duration": round(self.samples.shape[-1] / SR, 3),
        }
        if self.parties:
            meta["parties"] = self.parties
        (folder / f"{self.name}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        return wav


def load(folder: Path, name: str) -> dict:
    """An item as written: its wav path, turns and metadata."""
    meta = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    meta.update(name=name, wav=folder / f"{name}.wav", turns=read_rttm(folder / f"{name}.rttm"))
    return meta


def _decode(path: Path) -> np.ndarray:
    from app.core.audio_in import decode as audio

    return audio.decode(path).samples


def _ami_turns() -> dict[str, list[tuple[float, float, str]]]:
    turns: dict[str, list] = {}
    for rttm in sorted(AMI.glob("debug.*.rttm")):
        for line in rttm.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if parts and parts[0] == "SPEAKER":
                start = float(parts[3])
                turns.setdefault(parts[1], []).append((start, start + float(parts[4]), parts[7]))
    return turns


def ami_items() -> list[Item]:
    if not AMI.is_dir():
        raise recordings.Missing(f"{AMI} is absent")
    truth = _ami_turns()
    items = []
    for wav in sorted(AMI.glob("*.wav")):
        if wav.stem == "empty":
            continue
        key = wav.stem.replace("ñ", "n")
        items.append(Item(f"ami-{key}", _decode(wav), sorted(truth.get(key, []))))
    return items


def sample_item() -> Item:
    s = recordings.pyannote_sample()
    return Item("sample", _decode(s.wav), read_rttm(s.rttm), "en", {"*": read_stm_text(s.stm)})


def fleurs_items() -> list[Item]:
    items = []
    for clip in recordings.fleurs_clips(more=True):
        samples = _decode(clip.audio)
        regions = _speech(samples)
        turns = [(regions[0][0], regions[-1][1], "reader")] if regions else []
        items.append(Item(clip.audio.stem, samples, turns, clip.language, {"reader": clip.reference}, turns))
    return items


def _speech(samples: np.ndarray, min_silence_ms: int = 250) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=30, threshold=0.5)
    return [(s["start"] / SR, s["end"] / SR) for s in get_speech_timestamps(samples, options)]


def _utterances(samples: np.ndarray) -> list[np.ndarray]:
    """A reader's clip cut at its own pauses into pieces of speech of at least ~1.5 s."""
    regions = _speech(samples, min_silence_ms=100)
    pieces: list[list[float]] = []
    for start, end in regions:
        if pieces and (pieces[-1][1] - pieces[-1][0] < 1.2 or end - start < 0.5):
            pieces[-1][1] = end
        else:
            pieces.append([start, end])
    return [samples[int(s * SR) : int(e * SR)] for s, e in pieces]


def telephone(samples: np.ndarray) -> np.ndarray:
    """8 kHz narrow-band telephone speech (300-3400 Hz, G.711 mu-law), back at 16 kHz."""
    from scipy.signal import butter, resample_poly, sosfilt

    narrow = resample_poly(samples, 1, 2)
    narrow = sosfilt(butter(6, [300, 3400], btype="bandpass", fs=8000, output="sos"), narrow)
    mu = 255.0
    peak = 1.0
    coded = np.sign(narrow) * np.log1p(mu * np.minimum(np.abs(narrow) / peak, 1.0)) / np.log1p(mu)
    coded = np.round(coded * 127) / 127
    narrow = np.sign(coded) * (np.expm1(np.abs(coded) * np.log1p(mu)) / mu) * peak
    return resample_poly(narrow, 2, 1).astype(np.float32)


def call_item(name: str, a: str, b: str, seed: int) -> Item:
    rng = np.random.default_rng(seed)
    clips = {c.audio.stem: c for c in recordings.fleurs_clips()}
    parties = {}
    for label, clip_name, level in (("A", a, 0.03), ("B", b, 0.7)):  # one quiet party, one loud
        clip = clips[clip_name]
        pieces = [p / (np.abs(p).max() + 1e-9) * level for p in _utterances(_decode(clip.audio))]
        parties[label] = (pieces, clip.reference, clip.language)
    # interleaved evenly: each party's pieces spread over the whole call
    spread = [((i + 0.5) / len(parties[label][0]), label, p) for label in "AB" for i, p in enumerate(parties[label][0])]
    order = [(label, p) for _, label, p in sorted(spread, key=lambda t: (t[0], t[1]))]
    out = [np.zeros(int(0.5 * SR), np.float32)]
    position = 0.5
    utterances = []
    for speaker, piece in order:
        utterances.append((round(position, 3), round(position + len(piece) / SR, 3), speaker))
        out.append(piece.astype(np.float32))
        gap = float(rng.uniform(0.3, 2.0))
        out.append(np.zeros(int(gap * SR), np.float32))
        position += len(piece) / SR + int(gap * SR) / SR
    samples = np.concatenate(out)
    samples = telephone(samples + rng.normal(0, 2e-4, len(samples)).astype(np.float32))
    turns = []
    for start, end, speaker in utterances:  # the speech inside each utterance
        piece = samples[int(start * SR) : int(end * SR)]
        inner = _speech(piece, min_silence_ms=300) or [(0.0, end - start)]
        turns.extend((round(start + s, 3), round(start + e, 3), speaker) for s, e in inner)
    texts = {"A": parties["A"][1], "B": parties["B"][1]}
    return Item(name, samples, turns, parties["A"][2], texts, utterances)


def _rounds(pieces: list[tuple[np.ndarray, list]], minutes: float, seed: int, shuffle: bool) -> Item:
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * SR)
    out, turns, position = [], [], 0
    while position < total:
        order = rng.permutation(len(pieces)) if shuffle else range(len(pieces))
        for index in order:
            samples, piece_turns = pieces[index]
            gain = float(10 ** (rng.uniform(-6, 3) / 20))
            noisy = samples * gain + rng.normal(0, 1e-3, len(samples)).astype(np.float32)
            out.append(np.clip(noisy, -1, 1).astype(np.float32))
            offset = position / SR
            turns.extend((round(s + offset, 3), round(e + offset, 3), spk) for s, e, spk in piece_turns)
            position += len(samples)
    return Item("", np.concatenate(out), turns)


def long_items(which: set[str]) -> list[Item]:
    """`long-2spk-M` and `long-10spk-M`: M minutes (30 and 60 in the dev set)."""
    items = []
    sample = sample_item() if any(n.startswith("long-2spk") for n in which) else None
    ami = {i.name: i for i in ami_items()} if any(n.startswith("long-10spk") for n in which) else {}
    for name in sorted(which):
        kind, minutes = name.split("-")[1], int(name.split("-")[2])
        if kind == "2spk":
            item = _rounds([(sample.samples, sample.turns)], minutes, seed=minutes, shuffle=False)
        else:
            pieces = [(ami[f"ami-{k}"].samples, ami[f"ami-{k}"].turns) for k in LONG_AMI]
            item = _rounds(pieces, minutes, seed=100 + minutes, shuffle=True)
        item.name, item.language = name, "en"
        items.append(item)
    return items


SHORT = ["ami", "sample", "fleurs", "call"]
LONG = ["long-2spk-30", "long-2spk-60", "long-10spk-30", "long-10spk-60"]


def build(names: list[str], folder: Path = OUT) -> list[str]:
    """Writes the items named (or every item of a family: ami, fleurs, call) unless present."""
    written = []

    def keep(item: Item) -> None:
        if not (folder / f"{item.name}.json").exists():
            item.write(folder)
        written.append(item.name)

    for name in names:
        if name == "ami":
            for item in ami_items():
                keep(item)
        elif name == "sample":
            keep(sample_item())
        elif name == "fleurs":
            for item in fleurs_items():
                keep(item)
        elif name == "call":
            for call, (a, b, seed) in CALLS.items():
                keep(call_item(call, a, b, seed))
        elif name in CALLS:
            keep(call_item(name, *CALLS[name]))
        elif name.startswith("long-"):
            if (folder / f"{name}.json").exists():
                written.append(name)
            else:
                for item in long_items({name}):
                    keep(item)
        else:
            raise SystemExit(f"unknown dev-set item {name}")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SHORT + LONG))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    for name in build(args.only.split(","), args.out):
        meta = load(args.out, name)
        print(f"{name:16s} {meta['duration']:8.1f} s  {meta['speakers']} speakers")


if __name__ == "__main__":
    main()
