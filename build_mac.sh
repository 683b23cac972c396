#!/usr/bin/env bash
# Builds "Diarization Studio.app" with PyInstaller. Placeholder until the packaging issue.
echo "Packaging is not built yet; see packaging/README.md." >&2
exit 1
