"""Audio in: a file decoded and checked, its loudness, where speech is, the chunks whisper hears."""
