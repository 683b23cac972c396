"""Makes the self-test recording at build time: two synthetic voices taking turns.

macOS speaks it with `say`, Linux with `espeak-ng`. The recording is not committed; the
build puts `selftest.wav` and `selftest.json` (turns and the words that must come back)
into the bundle, where `--self-test` finds them.

    python packaging/selftest_audio.py OUT_DIR
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.core.audio_in.decode import SAMPLE_RATE as RATE  # noqa: E402
from app.core.audio_in.decode import decode  # noqa: E402  (PyAV: any rate and channel count to 16 kHz mono)

GAP_S = 0.7
TURNS = (
    ("A", "Good morning. Thank you for coming in today. How have you been feeling this week?"),
    ("B", "Good morning, doctor. I have had a headache every evening, and I sleep badly."),
    ("A", "I see. Do you drink coffee in the afternoon, and how much water do you drink?"),
    ("B", "Two cups of coffee after lunch, and not much water at all, to be honest."),
    ("A", "Then let us try no coffee after noon, and two bottles of water every day."),
    ("B", "All right. I will try that, and I will call you again next Monday."),
)
EXPECTED = ("morning", "feeling", "headache", "evening", "coffee", "water", "lunch", "bottles", "monday")
# Two voices that a voice model tells apart as it would two people: the earlier pair
# (en-us and en-gb+f4) was 0.83 alike by their CAM++ centres, closer than some real
# speakers' halves are to each other; this pair is 0.51 alike.
ESPEAK = {"A": ["-v", "en-us+m3", "-p", "20", "-s", "140"], "B": ["-v", "en-gb-x-rp+f2", "-p", "90", "-s", "175"]}
SAY_VOICES = (("Samantha", "Daniel"), ("Samantha", "Alex"), ("Karen", "Daniel"), ("Moira", "Fred"))


def speak(text: str, who: str, out: Path) -> None:
    if platform.system() == "Darwin":
        voice = _say_voices()["AB".index(who)]
        subprocess.run(["say", "-v", voice, "-o", str(out), "--file-format=WAVE", "--data-format=LEI16@16000", text],
                       check=True)
    else:
        if shutil.which("espeak-ng") is None:
            sys.exit("espeak-ng is needed to make the self-test recording: apt-get install espeak-ng")
        subprocess.run(["espeak-ng", *ESPEAK[who], "-w", str(out), text], check=True)


def _say_voices() -> tuple[str, str]:
    """Two English voices: a known pair if installed, else the first two English ones listed."""
    listing = subprocess.run(["say", "-v", "?"], capture_output=True, text=True, check=True).stdout
    english = []  # lines look like "Samantha            en_US    # Hello, my name is Samantha."
    for line in listing.splitlines():
        match = re.match(r"(.+?)\s+(en[_-]\w+)\s+#", line)
        if match:
            english.append(match.group(1).strip())
    for pair in SAY_VOICES:
        if set(pair) <= set(english):
            return pair
    if len(english) >= 2:
        return english[0], english[-1]
    sys.exit(f"`say` needs two English voices (System Settings > Accessibility > Spoken Content); found {english}")


def make(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    pieces, turns, clock = [], [], 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (who, text) in enumerate(TURNS):
            part = Path(tmp) / f"{i}.wav"
            speak(text, who, part)
            audio = decode(part).samples
            turns.append({"speaker": who, "start": round(clock, 2), "end": round(clock + len(audio) / RATE, 2),
                          "text": text})
            pieces += [audio, np.zeros(int(GAP_S * RATE), np.float32)]
            clock += len(audio) / RATE + GAP_S
    audio = np.concatenate(pieces)
    audio = (np.clip(audio / max(1e-6, float(np.abs(audio).max())) * 0.8, -1, 1) * 32767).astype("<i2")
    wav = out_dir / "selftest.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(audio.tobytes())
    spec = {"language": "en", "speakers": 2, "expected_words": list(EXPECTED), "turns": turns}
    (out_dir / "selftest.json").write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return wav


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(make(Path(sys.argv[1])))
