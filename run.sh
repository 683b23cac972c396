#!/usr/bin/env bash
# Sets everything up, then runs Diarization Studio. With no arguments it transcribes a
# short two-speaker sample; with arguments they go to the command line:
#   ./run.sh transcribe interview.mp3 --language es --format srt -o interview.srt
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh requirements.txt
if [ $# -eq 0 ]; then
  sample=$(.venv/bin/python -c 'from tests.fixtures import pyannote_sample; print(pyannote_sample().wav)')
  set -- transcribe "$sample" --format txt
fi
exec .venv/bin/python -m app "$@"
