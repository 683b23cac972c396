"""The transcript: the data model every part shares, its exports, corrections."""
