"""Moved to evaluation.recordings; run.sh and docs/screenshots.py still import it from here."""

from evaluation.recordings import Missing, fleurs_clips, pyannote_sample  # noqa: F401
