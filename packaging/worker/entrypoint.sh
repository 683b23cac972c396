#!/bin/sh
# The worker, with the model built into the image seen from its data folder.
set -e
mkdir -p /data/models
[ -e /data/models/whisper-base ] || ln -s /opt/diarization/models/whisper-base /data/models/whisper-base
exec python -m app worker "$@"
