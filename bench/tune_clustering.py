"""How the clustering thresholds were chosen: the dev set's voice embeddings are computed
once, then the clustering runs over them with each setting asked for (a second each).

    .venv/bin/python bench/tune_clustering.py                       # the defaults
    .venv/bin/python bench/tune_clustering.py '{"threshold": 0.6}' '{"centre_merge": 0.8}'

Per setting: files whose speaker count is exact, within one, the summed miss of the
count, the mean DER of the diarizer's own turns (collar 0.25), and the files it missed as
found/true. FLEURS (one reader each) and the AMI excerpts whose references mark under 2 s
of any speaker (trn01, trn02) are left out of the summary. Embeddings are kept in
bench/out/embeddings/ (delete it after changing the diarizer).
"""

from __future__ import annotations

import json
import sys

import numpy as np

from _root import ROOT

from evaluation import devset
from evaluation.scoring import der

CACHE = ROOT / "bench" / "out" / "embeddings"
NAMES = ["ami", "sample", "call"] + [f"long-{k}-{m}" for k in ("2spk", "10spk") for m in (5, 12, 30, 60)]
LEFT_OUT = ("fleurs-", "ami-trn01", "ami-trn02")


def embeddings(name: str, diarizer) -> tuple[np.ndarray, np.ndarray]:
    path = CACHE / f"{name}.npz"
    if not path.exists():
        from app.core.audio_in import decode as audio

        CACHE.mkdir(parents=True, exist_ok=True)
        diarizer.run(audio.decode(devset.OUT / f"{name}.wav").samples)
        np.savez(path, embeddings=diarizer.last_embeddings, windows=np.array(diarizer.last_subsegments))
    data = np.load(path)
    return data["embeddings"], data["windows"]


def turns_of(windows, labels) -> list[tuple[float, float, str]]:
    """Windows to turns as senko does: overlapping windows of two speakers meet halfway."""
    turns: list[list] = []
    for (start, end), label in zip(windows, labels):
        if turns and turns[-1][2] == label and start <= turns[-1][1]:
            turns[-1][1] = end
        elif turns and start < turns[-1][1]:
            middle = (turns[-1][1] + start) / 2
            turns[-1][1] = middle
            turns.append([middle, end, label])
        else:
            turns.append([start, end, label])
    return [(s, e, str(label)) for s, e, label in turns]


def main() -> None:
    from app.core.speakers import cluster
    from app.core.speakers.diarizer import Diarizer

    settings = [json.loads(a) for a in sys.argv[1:]] or [{}]
    names = [n for n in devset.build(NAMES) if not n.startswith(LEFT_OUT)]
    diarizer = None
    data = {}
    for name in names:
        if not (CACHE / f"{name}.npz").exists() and diarizer is None:
            diarizer = Diarizer("cpu", 2)
        data[name] = (embeddings(name, diarizer), devset.load(devset.OUT, name))
    for options in settings:
        rows = []
        for name, ((x, windows), item) in data.items():
            labels = cluster.cluster(x, cluster.Options(**options)) if len(x) else np.zeros(0, int)
            found = len(set(labels.tolist()))
            rows.append((name, found, item["speakers"], der(item["turns"], turns_of(windows, labels), 0.25)))
        exact = sum(f == t for _, f, t, _ in rows)
        near = sum(abs(f - t) <= 1 for _, f, t, _ in rows)
        missed = " ".join(f"{n}:{f}/{t}" for n, f, t, _ in rows if f != t)
        print(f"{json.dumps(options)}: exact {exact}/{len(rows)}, within one {near}, "
              f"count off by {sum(abs(f - t) for _, f, t, _ in rows)}, "
              f"mean DER {np.mean([d for *_, d in rows]):.3f}; missed: {missed}")


if __name__ == "__main__":
    main()
