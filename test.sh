#!/usr/bin/env bash
# Sets everything up (Debian packages when root, the venv, pinned requirements), then runs
# every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/debian-packages.sh
scripts/setup.sh requirements-dev.txt
exec .venv/bin/python -m pytest "$@"
