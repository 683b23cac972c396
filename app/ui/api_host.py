"""The HTTP API served for the window (Preferences: "Allow other programs to send
recordings"): uvicorn on this computer's loopback address only, in a process of its own
(app/api_process.py) on the window's history, so jobs sent this way join the one queue
like dropped files while the window's own thread never answers a request. Programs send
the token kept in the data folder (`token`, `token_file`), which the user copies to them.

Started and stopped off the window's thread's way: `start` returns at once and `changed`
says when it listens (or why it cannot); the process ends with the window."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal



class ApiHost(QObject):
    changed = Signal(str)  # "" once listening (or stopped), else the reason it cannot listen

    def __init__(self, history, settings):
        super().__init__()
        self.history, self.settings = history, settings  # settings(): the window's, kept current
        self._process = self._conn = None
        self._started = False
        self.port = None
        self.max_upload_mb = None
        self._lock = threading.Lock()

    @property
    def token(self) -> str:
        """What other programs send as `Authorization: Bearer TOKEN` (made on first use; a
        few bytes read from the data folder)."""
        from app import api

        return api.load_or_create_token(self.settings().data_dir)

    @property
    def token_file(self) -> Path:
        from app import api

        return api.token_file(self.settings().data_dir)

    @property
    def running(self) -> bool:
        return self._started and self._process is not None and self._process.is_alive()

    @property
    def alive(self) -> bool:
        """Starting or running (False once stopped, or if the server's process died)."""
        process = self._process
        return process is not None and (process.pid is None or process.is_alive())

    def start(self, port: int, max_upload_mb: float) -> None:
        """Starts it (stopping any other first); `changed` follows."""
        self.stop()
        import multiprocessing

        from app import api_process

        context = multiprocessing.get_context("spawn")
        conn, child = context.Pipe()
        process = context.Process(
            target=api_process.run, name="http-api", daemon=True,
            args=(child, str(self.history), self.settings(), port, max_upload_mb),
        )
        with self._lock:
            self._process, self._conn, self._started = process, conn, False
            self.port, self.max_upload_mb = port, max_upload_mb
        threading.Thread(target=self._launch, args=(process, conn, child), daemon=True, name="http-api-start").start()

    def _launch(self, process, conn, child) -> None:
        process.start()  # a spawn: tens of milliseconds, not on the window's thread
        child.close()  # so that the server's death reads as end-of-file here
        try:
            problem = conn.recv() if conn.poll(60) else "Other programs cannot send recordings: the server did not start."
        except (EOFError, OSError):
            problem = "Other programs cannot send recordings: the server stopped as it started."
        with self._lock:
            current = self._process is process
            if current:
                self._started = not problem
        if current:
            if problem:
                self.stop()
            self.changed.emit(problem)

    def update_settings(self) -> None:
        """The settings new jobs take, sent to the server after Preferences change them."""
        with self._lock:
            conn = self._conn if self._started else None
        if conn is not None:
            try:
                conn.send(self.settings())
            except (OSError, ValueError):
                pass

    def stop(self) -> None:
        with self._lock:
            process, conn = self._process, self._conn
            self._process = self._conn = self.port = self.max_upload_mb = None
            self._started = False
        if conn is not None:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
            conn.close()
        if process is not None and process.pid is not None:
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)
