"""The window's HTTP API in a process of its own (app/ui/api_host.py starts it).

Served from the window's own interpreter, programs polling at once held the window up and
waited on it (evidence: docs/performance.md#evidence-behind-the-code). Here the server has
an interpreter to itself, on the window's history, through an engine that never runs jobs:
an upload becomes a pending job that the window (the queue's owner) picks up and runs like
a dropped file, a cancel is carried out by the window, and both processes read the same
stored states and results.

The window sends the settings new jobs take whenever they change, and closes the pipe to
stop it; a window that dies closes it too, so this process never outlives it.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

START_TIMEOUT_SEC = 20.0


def run(conn, history: str, settings, port: int, max_upload_mb: float) -> None:
    """In the child: serves until the pipe closes. Tells the window "" once listening, or
    the reason it could not listen."""
    try:
        server, engine, current = _server(history, settings, port, max_upload_mb)
    except Exception as exc:  # the history or the app could not be opened here
        conn.send(f"Other programs cannot send recordings: {exc}")
        return
    thread = threading.Thread(target=server.run, name="http-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SEC
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        conn.send(f"Other programs cannot send recordings: port {port} is taken or cannot be used; choose another.")
        engine.close()
        return
    conn.send("")
    while True:  # the window's settings, until it closes the pipe (or dies)
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is None:
            break
        current[0] = message
    server.should_exit = True
    thread.join(10)
    engine.close()


def _server(history: str, settings, port: int, max_upload_mb: float):
    import uvicorn

    from app import api
    from app.core.engine import Engine

    sys.setswitchinterval(0.001)  # the engine's watch thread never holds a request up for 5 ms
    current = [settings]
    engine = Engine.for_api_process(Path(history), lambda: current[0])
    engine.start()
    # the token: the data folder's, which the window shows its user (ApiHost.token)
    app = api.create_app(engine, lambda: current[0], port=port, max_upload_mb=max_upload_mb)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # stopped by the window, through the pipe
    return server, engine, current
