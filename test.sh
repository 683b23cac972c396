#!/usr/bin/env bash
# Sets everything up (Debian packages when root, the venv, pinned requirements), then runs
# every test. Extra arguments go to pytest: ./test.sh -m "not slow" is the fast tier
# (docs/testing.md).
set -euo pipefail
cd "$(dirname "$0")"
scripts/debian-packages.sh
scripts/setup.sh requirements-dev.txt
exec .venv/bin/python -m pytest "$@"
