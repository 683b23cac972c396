"""Two-channel recordings: heard as the channel decision says (auto) against the same file
mixed to mono, in the same run.

    .venv/bin/python bench/bench_stereo.py [--only stereo-call-1,...]

The files are evaluation/stereo.py's (constructed calls a party a channel, and negatives
that must be mixed). Per file and mode: how it was heard, DER at collar 0.25 with its
parts (the hypothesis: each sentence of the transcript, so two people at once are two
overlapping turns), WER per party (the words said inside that party's utterances),
words given to the wrong party (a word inside another party's utterance only, against the
party its speaker mostly speaks for), the shortest share of an overlapped utterance its
party's words reach, speakers found against true, seconds, and the ratio of the seconds
to the mixed run's.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

from _root import ROOT

from evaluation import devset, stereo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(stereo.NAMES))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from app.core import pipeline
    from app.core import settings as settings_module

    names = stereo.build(args.only.split(","))
    settings = settings_module.load(data_dir=ROOT / "bench" / "out" / "accuracy-data")
    resources = pipeline.Resources()
    pipeline.run(devset.OUT / f"{names[0]}.wav", replace(settings, channels="mix"), resources=resources)  # models loaded
    print("| file | mode | heard | DER c0.25 | miss | FA | conf. | WER per party | words on the wrong party | "
          "overlapped utterance reached (least) | speakers found / true | s | s / mixed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        item = devset.load(devset.OUT, name)
        seconds = {}
        for mode in ("mix", "auto"):
            started = time.perf_counter()
            transcript = pipeline.run(item["wav"], replace(settings, channels=mode), resources=resources)
            seconds[mode] = time.perf_counter() - started
            r = stereo.score(item, transcript)
            print(f"| {name} | {mode} | {transcript.channels.get('heard')} | {r['der']:.3f} | {r['miss']:.3f} | "
                  f"{r['false_alarm']:.3f} | {r['confusion']:.3f} | {_f(r.get('wer'))} | {r.get('wrong', '-')} | "
                  f"{_f(r.get('overlap_reach'))} | {r['found']} / {r['true']} | {seconds[mode]:.1f} | "
                  f"{seconds[mode] / seconds['mix']:.2f} |", flush=True)


def _f(value) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


if __name__ == "__main__":
    main()
