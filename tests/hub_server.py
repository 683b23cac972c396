"""A real local HTTP server speaking the Hugging Face hub's download protocol
(`/{repo}/resolve/{revision}/{file}`), redirecting large files to a second local address
as the hub does to its storage, which answers range requests; with switches for how the
storage misbehaves. Nothing here reaches the internet."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

LARGE = 1 << 20  # files from this size are redirected to the storage address


class FakeHub:
    def __init__(self, repo: str, revision: str, files: dict[str, bytes]):
        self.repo, self.revision, self.files = repo, revision, files
        self.mode = "ok"  # "drop": storage drops the connection half-way, once; "stall": never answers;
        # "corrupt": one byte changed; "slow": 64 KB every 50 ms
        self.sent = 0  # bytes of file content sent by either address
        self.requests: list[tuple[str, str]] = []  # (address, range header)
        self.dropped = False
        hub = self

        class Storage(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.requests.append(("storage", self.headers.get("Range", "")))
                name = self.path.rsplit("/", 1)[-1].split("?")[0]
                data = hub._content(name)
                if hub.mode == "stall":
                    time.sleep(120)
                    return
                start = 0
                if self.headers.get("Range", "").startswith("bytes="):
                    start = int(self.headers["Range"][6:].split("-")[0])
                body = data[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if hub.mode == "drop" and not hub.dropped:
                    hub.dropped = True
                    half = body[: len(body) // 2]
                    self.wfile.write(half)
                    hub.sent += len(half)
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                if hub.mode == "slow":  # a slow line: 64 KB every 50 ms
                    for at in range(0, len(body), 1 << 16):
                        self.wfile.write(body[at:at + (1 << 16)])
                        hub.sent += len(body[at:at + (1 << 16)])
                        time.sleep(0.05)
                    return
                self.wfile.write(body)
                hub.sent += len(body)

        self.storage = ThreadingHTTPServer(("127.0.0.1", 0), Storage)
        storage_url = f"http://127.0.0.1:{self.storage.server_address[1]}"

        class Hub(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.requests.append(("hub", self.headers.get("Range", "")))
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) != 5 or parts[2] != "resolve" or "/".join(parts[:2]) != hub.repo:
                    return self._error(404, "RepoNotFound", "Repository not found")
                if parts[3] != hub.revision or parts[4] not in hub.files:
                    return self._error(404, "EntryNotFound", "Entry not found")
                name = parts[4]
                data = hub._content(name)
                if len(data) >= LARGE:  # as the hub sends LFS files to its storage
                    self.send_response(302)
                    self.send_header("Location", f"{storage_url}/blobs/{name}?X-Amz-Signature=test")
                    self.send_header("X-Linked-Size", str(len(data)))
                    self.send_header("X-Linked-Etag", f'"{hashlib.sha256(data).hexdigest()}"')
                    self.send_header("X-Repo-Commit", hub.revision)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int(self.headers["Range"][6:].split("-")[0]) if self.headers.get("Range") else 0
                body = data[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Repo-Commit", hub.revision)
                self.end_headers()
                self.wfile.write(body)
                hub.sent += len(body)

            def _error(self, status: int, code: str, message: str) -> None:
                body = json.dumps({"error": message}).encode()
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.hub = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
        self.endpoint = f"http://127.0.0.1:{self.hub.server_address[1]}"
        for server in (self.storage, self.hub):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def _content(self, name: str) -> bytes:
        data = self.files[name]
        if self.mode == "corrupt" and len(data) >= LARGE:
            return data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]
        return data

    def catalogue(self, path: Path, name: str = "test-base", languages: str = "test") -> Path:
        """A catalogue file naming this repository, with every file's size and sha256."""
        files = [{"name": n, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in self.files.items()]
        path.write_text(json.dumps({"models": [{"name": name, "repo": self.repo, "revision": self.revision,
                                                "files": files, "languages": languages}]}))
        return path

    def close(self) -> None:
        for server in (self.hub, self.storage):
            server.shutdown()
            server.server_close()
