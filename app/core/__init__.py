"""The engine: everything that works without a window. Never imports Qt."""
