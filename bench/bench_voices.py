"""Known voices, calibrated: precision and recall of automatic naming over a sweep of
thresholds, on the AMI excerpts (their speaker labels are real identities that recur
across files), and the time matching takes with 100 known voices.

    .venv/bin/python bench/bench_voices.py [--fresh]

Each excerpt runs through the pipeline once (signatures kept in bench/out/voices-ami.json;
--fresh computes them again). Each of our speakers is given the reference identity that
says most of its words' time (none when no identity has half of it). Then for every
ordered pair of excerpts (A, B): every speaker of A is remembered under its identity,
and B's speakers are matched. A name given to a speaker of another identity (or of none)
is a wrong name; a speaker whose identity was remembered but who gets no name (or a wrong
one) is a miss. precision = right / (right + wrong), recall = right / (right + missed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from _root import ROOT
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from evaluation import devset  # noqa: E402
from evaluation.scoring import identities  # noqa: E402

CACHE = ROOT / "bench" / "out" / "voices-ami.json"
THRESHOLDS = [round(0.40 + 0.02 * i, 2) for i in range(26)]
TARGET_PRECISION = 0.95


def compute() -> dict:
    from app.core import pipeline
    from app.core import settings as settings_mod

    settings = settings_mod.load(data_dir=ROOT / "bench" / "out" / "accuracy-data")
    resources = pipeline.Resources()
    files = sorted(p.stem for p in devset.OUT.glob("ami-*.json"))  # evaluation/devset.py writes them
    found = {}
    for name in files:
        item = devset.load(devset.OUT, name)
        signatures: dict[str, bytes] = {}
        transcript = pipeline.run(item["wav"], settings, pipeline.Hooks(on_voices=signatures.update), resources)
        who = identities(item["turns"], transcript)
        found[name] = {sid: {"identity": who.get(sid), "signature": np.frombuffer(blob, "<f4").round(6).tolist()}
                       for sid, blob in signatures.items()}
        print(f"  {name}: {len(signatures)} speakers with a signature, identities {sorted(set(filter(None, who.values())))}",
              file=sys.stderr)
    CACHE.write_text(json.dumps(found))
    return found


def sweep(found: dict) -> list[dict]:
    from app.core.speakers import signatures as voices

    rows = []
    for threshold in THRESHOLDS:
        right = wrong = missed = 0
        for a, speakers_a in found.items():
            enrolled = [(i, s["identity"], [np.asarray(s["signature"], np.float32)])
                        for i, s in enumerate(speakers_a.values()) if s["identity"]]
            known_names = {name for _, name, _ in enrolled}
            for b, speakers_b in found.items():
                if a == b:
                    continue
                heard = {sid: np.asarray(s["signature"], np.float32) for sid, s in speakers_b.items()}
                named = {m.speaker_id: m.name for m in voices.match(heard, enrolled, threshold)}
                for sid, s in speakers_b.items():
                    truth = s["identity"]
                    if sid in named:
                        if named[sid] == truth:
                            right += 1
                        else:
                            wrong += 1
                    if truth in known_names and named.get(sid) != truth:
                        missed += 1
        precision = right / (right + wrong) if right + wrong else 1.0
        recall = right / (right + missed) if right + missed else 0.0
        rows.append({"threshold": threshold, "right": right, "wrong": wrong, "missed": missed,
                     "precision": precision, "recall": recall})
    return rows


def matching_time() -> float:
    """Milliseconds to match 6 speakers against 100 known voices of 3 samples each."""
    from app.core.speakers import signatures as voices

    rng = np.random.default_rng(0)
    known = [(i, f"voice {i}", [voices.unit(rng.normal(size=192)) for _ in range(3)]) for i in range(100)]
    speakers = {f"SPEAKER_{k:02d}": voices.unit(rng.normal(size=192)) for k in range(6)}
    voices.match(speakers, known)  # scipy imported once
    started = time.perf_counter()
    for _ in range(20):
        voices.match(speakers, known)
    return (time.perf_counter() - started) / 20 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    found = json.loads(CACHE.read_text()) if CACHE.exists() and not args.fresh else compute()
    total = sum(len(v) for v in found.values())
    known = sum(1 for v in found.values() for s in v.values() if s["identity"])
    print(f"{len(found)} AMI excerpts, {total} speakers with a signature ({known} with one reference identity)")
    rows = sweep(found)
    print("\n| threshold | right | wrong | missed | precision | recall |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['threshold']:.2f} | {r['right']} | {r['wrong']} | {r['missed']} | {r['precision']:.3f} | {r['recall']:.3f} |")
    good = [r for r in rows if r["precision"] >= TARGET_PRECISION and r["right"]]
    from app.core.speakers import signatures as voices

    if good:
        print(f"\nprecision >= {TARGET_PRECISION:.0%} from threshold {good[0]['threshold']:.2f} "
              f"(recall {good[0]['recall']:.1%} there)")
    else:
        print(f"\nno threshold reaches precision {TARGET_PRECISION:.0%}")
    at = min(rows, key=lambda r: abs(r["threshold"] - voices.THRESHOLD))
    print(f"the default, {voices.THRESHOLD:.2f}: precision {at['precision']:.1%} (target >= 95%), "
          f"recall {at['recall']:.1%} (target >= 70%), {at['right'] + at['missed']} pairs where the voice was known")
    print(f"matching 6 speakers against 100 known voices: {matching_time():.2f} ms (target <= 50 ms)")


if __name__ == "__main__":
    main()
