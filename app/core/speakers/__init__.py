"""Voices: the diarizer, our clustering, voice signatures, words given to speakers."""
