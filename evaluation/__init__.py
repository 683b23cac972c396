"""Measuring the app against real speech, for tests and benchmarks alike: where the
recordings are (`recordings`), the accuracy dev set built from them (`devset`), and the
scores (`scoring`). Not part of the app: nothing under app/ imports it."""
