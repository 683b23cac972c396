"""The review list against a ranking by word probability alone, on the dev set.

    .venv/bin/python bench/bench_review.py [--only ami,sample,call]

For each file with reference turns: our transcript, and the words it gives to the wrong
speaker (a word whose middle falls in reference speech of other people only, against
the reference identity its speaker mostly speaks for, evaluation.scoring.identities).
Then the share of those words inside the first 10 places of three rankings (0.25 s
around each place):

- the review list (app/core/document/review.py);
- sentences ranked by their least sure word;
- words ranked by probability (each word its own place).
"""

from __future__ import annotations

import argparse
import json
import os

from _root import ROOT

from evaluation import devset
from evaluation.scoring import identities

TOP = 10
MARGIN = 0.25


def wrong_words(item: dict, transcript) -> list[tuple[float, float]]:
    mine = identities(item["turns"], transcript)
    out = []
    for seg in transcript.segments:
        for w in seg.words:
            middle = (w.start + w.end) / 2
            talking = {who for s, e, who in item["turns"] if s - 0.1 <= middle <= e + 0.1}
            if talking and mine.get(seg.speaker) not in talking:
                out.append((w.start, w.end))
    return out


def caught(words, places) -> int:
    return sum(any(s - MARGIN <= (a + b) / 2 <= e + MARGIN for s, e in places) for a, b in words)


def rankings(transcript) -> dict[str, list[tuple[float, float]]]:
    from app.core.document import review

    by_sentence = sorted((min((w.probability for w in s.words), default=1.0), s.start, s.end)
                         for s in transcript.segments)
    by_word = sorted((w.probability, w.start, w.end) for s in transcript.segments for w in s.words)
    return {
        "review list": [(s.start, s.end) for s in review.spots(transcript)[:TOP]],
        "sentences by least sure word": [(a, b) for _, a, b in by_sentence[:TOP]],
        "words by probability": [(a, b) for _, a, b in by_word[:TOP]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="ami,sample,call")
    parser.add_argument("--kept", action="store_true",
                        help="rank the transcripts a run before kept (bench/out/review/), without transcribing")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from app.core import pipeline
    from app.core import settings as settings_module

    settings = settings_module.load(data_dir=ROOT / "bench" / "out" / "accuracy-data")
    resources = pipeline.Resources()
    from app.core.document import review
    from app.core.document.transcript import Transcript

    kinds: dict[str, list[int]] = {}  # kind: [places, places holding a word on the wrong speaker]
    totals: dict[str, int] = {}
    covered: dict[str, float] = {}
    speech_total = [0.0]
    wrong_total = 0
    print(f"| file | words on the wrong speaker | {' | '.join(rankings_names())} |")
    print("|---|---|" + "---|" * len(rankings_names()))
    for name in devset.build(args.only.split(",")):
        item = devset.load(devset.OUT, name)
        if not item["turns"] or name in devset.PARTIAL_REFERENCE:
            continue
        kept = ROOT / "bench" / "out" / "review" / f"{name}.json"
        if args.kept and kept.exists():
            transcript = Transcript.from_dict(json.loads(kept.read_text(encoding="utf-8")))
        else:
            transcript = pipeline.run(item["wav"], settings, resources=resources)
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(json.dumps(transcript.to_dict(), ensure_ascii=False), encoding="utf-8")
        wrong = wrong_words(item, transcript)
        for spot in review.spots(transcript):
            hit = caught(wrong, [(spot.start, spot.end)]) > 0
            kinds.setdefault(spot.kind, [0, 0])[0] += 1
            kinds[spot.kind][1] += hit
        ranked = rankings(transcript)
        found = {k: caught(wrong, v) for k, v in ranked.items()}
        speech = sum(e - s for s, e, _ in _union([(s.start, s.end, "") for s in transcript.segments])) or 1.0
        for k, v in ranked.items():
            covered[k] = covered.get(k, 0.0) + sum(e - s for s, e, _ in _union([(a - MARGIN, b + MARGIN, "") for a, b in v]))
        speech_total[0] += speech
        wrong_total += len(wrong)
        for k, v in found.items():
            totals[k] = totals.get(k, 0) + v
        print(f"| {name} | {len(wrong)} | " + " | ".join(str(found[k]) for k in rankings_names()) + " |", flush=True)
    print(f"| all | {wrong_total} | " + " | ".join(
        f"{totals.get(k, 0)} ({totals.get(k, 0) / max(wrong_total, 1):.0%})" for k in rankings_names()) + " |")
    print("\nplaces of each kind (all of them, not only the first 10) holding a word on the wrong speaker: " +
          ", ".join(f"{k} {h}/{n} ({h / max(n, 1):.0%})" for k, (n, h) in sorted(kinds.items())))
    print("| time the first 10 places cover (with 0.25 s each side), share of the transcript's sentences | | " +
          " | ".join(f"{covered.get(k, 0.0) / speech_total[0]:.0%}" for k in rankings_names()) + " |")


def _union(spans):
    out = []
    for s, e, _ in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e, ""])
    return out


def rankings_names() -> list[str]:
    return ["review list", "sentences by least sure word", "words by probability"]


if __name__ == "__main__":
    main()
