#!/usr/bin/env bash
# Builds the one-folder Linux bundle from the same spec as macOS:
#   dist/diarization-studio/diarization-studio   (run it; --self-test checks it)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh requirements-build.txt
if ! command -v espeak-ng >/dev/null; then
  echo "The self-test recording needs espeak-ng: sudo apt-get install espeak-ng" >&2
  exit 1
fi
start=$(date +%s)
.venv/bin/pyinstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/diarization_studio.spec
# torch's own libraries carry their symbol tables (about 75 MB): nothing needs them at run
# time. Only these: libraries that auditwheel patched (in *.libs folders) break if stripped.
find dist/diarization-studio/_internal/torch/lib -name '*.so*' -exec strip --strip-unneeded {} +
# Debugging information only (sections no program loads), from every other library outside
# the *.libs folders: ctranslate2's binding carries 66 MB of it, libpython 16 MB.
find dist/diarization-studio/_internal -name '*.so*' -not -path '*/torch/lib/*' -not -path '*.libs/*' \
  -exec sh -c 'for f; do readelf -S "$f" 2>/dev/null | grep -q "\.debug_info" && strip --strip-debug "$f"; done; true' sh {} +
echo "Built dist/diarization-studio in $(( $(date +%s) - start )) s," \
  "$(du -sh dist/diarization-studio | cut -f1) on disk."
