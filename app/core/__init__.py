"""The core: no Qt, cheap to import. A recording passes through the packages in this order:
audio_in (decode, speech regions, chunks) -> whisper (words) -> speakers (who said them) ->
document (the transcript and its exports) -> jobs (run here or on a Redis worker) -> store
(the history) -> llm (roles, optional); common holds what they all lean on. Front ends
reach it only through `engine.Engine` (docs/architecture.md)."""
