"""A real local HTTP server speaking the parts of Ollama's API the app uses (/api/tags,
/api/chat), with a switch for how it misbehaves. No Ollama runs on these machines."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "qwen2.5:7b"
ROLES = ("Doctor", "Patient", "Nurse", "Relative")


class FakeOllama:
    def __init__(self, mode: str = "valid", delay: float = 0.0, answer=None):
        """`answer(request body) -> str`: the model's reply (notes' tests); else roles by `mode`."""
        self.mode, self.delay, self.answer = mode, delay, answer
        self.requests: list[dict] = []
        self.headers: list[dict] = []  # each request's headers, lower-cased names
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path == "/api/tags":
                    models = [] if server.mode == "missing" else [{"name": MODEL, "model": MODEL, "size": 4_700_000_000}]
                    self._send(200, {"models": models})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append(body)
                server.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/api/chat":
                    return self._send(404, {"error": "not found"})
                if server.mode == "missing":
                    return self._send(404, {"error": f"model '{body.get('model')}' not found, try pulling it first"})
                if server.mode == "slow":
                    time.sleep(server.delay)
                if server.mode == "drip":  # a byte now and then: each read is quick, the whole never ends
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.end_headers()
                    try:
                        for _ in range(600):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(0.2)
                    except OSError:
                        pass
                    return
                if server.mode == "huge":  # an endless stream of chunks
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-ndjson")
                    self.end_headers()
                    chunk = json.dumps({"model": body.get("model"), "message": {"role": "assistant",
                                        "content": "x" * 4096}, "done": False}).encode() + b"\n"
                    try:
                        for _ in range(10_000):
                            self.wfile.write(chunk)
                    except OSError:
                        pass
                    return
                if server.answer is not None:
                    return self._send(200, {"model": body.get("model"), "created_at": "2026-12-03T00:00:00Z",
                                            "message": {"role": "assistant", "content": server.answer(body)},
                                            "done": True})
                ids = body["format"]["properties"]["speakers"]["items"]["properties"]["id"]["enum"]
                if server.mode == "invalid":
                    content = "Sure! SPEAKER_00 sounds like the doctor and the other one is the patient."
                elif server.mode == "unknown":
                    content = json.dumps({"speakers": [{"id": "SPEAKER_09", "role": "Doctor"}]})
                else:
                    content = json.dumps({"speakers": [{"id": i, "role": ROLES[n % len(ROLES)]} for n, i in enumerate(ids)]})
                self._send(200, {"model": body.get("model"), "created_at": "2026-11-24T00:00:00Z",
                                 "message": {"role": "assistant", "content": content}, "done": True})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port_host() -> str:
    """An address where nothing listens: connection refused."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
