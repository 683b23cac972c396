"""The HTTP API served from the window (Preferences: "Allow other programs to send
recordings"): uvicorn on this computer's loopback address only, in a thread of its own,
on the window's engine, so jobs sent this way join the one queue like dropped files."""

from __future__ import annotations

import threading
import time


class ApiHost:
    def __init__(self, engine, settings):
        self.engine, self.settings = engine, settings  # settings(): the window's, kept current
        self.server = None
        self.thread = None
        self.port = None

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.started

    def start(self, port: int, max_upload_mb: float) -> str:
        """Starts it (stopping any other first); "" or the reason it could not."""
        import uvicorn

        from app import api

        self.stop()
        app = api.create_app(self.engine, self.settings, max_upload_mb=max_upload_mb)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # the window's, not uvicorn's
        self.thread = threading.Thread(target=self.server.run, name="http-api", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            self.stop()
            return f"Other programs cannot send recordings: port {port} is taken or cannot be used; choose another."
        self.port = port
        return ""

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
            if self.thread is not None:
                self.thread.join(5)
        self.server = self.thread = self.port = None
