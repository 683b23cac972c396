#!/usr/bin/env bash
# Sets everything up, then runs Diarization Studio: with no arguments the window; with
# arguments the command line; `./run.sh sample` transcribes a two-speaker sample.
#   ./run.sh transcribe interview.mp3 --language es --format srt -o interview.srt
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh requirements.txt
if [ "$(uname -s)" = "Linux" ] && { [ $# -eq 0 ] || [ "${1:-}" = "gui" ]; } && [ "${QT_QPA_PLATFORM:-}" != "offscreen" ]; then
  # The window on a Linux desktop: the X11/xcb libraries Qt loads, installed or named
  # here, before Qt would abort with "could not load the Qt platform plugin".
  scripts/debian-packages.sh --required packaging/debian-packages-window.txt
fi
if [ "${1:-}" = "sample" ]; then
  sample=$(.venv/bin/python -c 'from evaluation.recordings import pyannote_sample; print(pyannote_sample().wav)')
  set -- transcribe "$sample" --format txt
fi
exec .venv/bin/python -m app "$@"
