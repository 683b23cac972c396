"""Diarization Studio: who said what and when, offline."""

__version__ = "0.1.0"
