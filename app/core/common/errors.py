"""Errors a user can cause. Each carries one message that says what to do next."""

from __future__ import annotations


class UserError(Exception):
    """A problem with the input or the machine, not a bug: shown to the user as is."""


class AudioError(UserError):
    """The file cannot be turned into audio."""


class ModelError(UserError):
    """The speech model is missing, damaged or cannot be loaded."""


class Cancelled(Exception):
    """The user cancelled the job."""
