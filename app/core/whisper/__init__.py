"""Words: faster-whisper over the chunks, loops escaped, the gaps it left heard again."""
