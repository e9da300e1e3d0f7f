"""A small stand-in for ``tracklet server``'s log routes (docs/http-api.md), for the client's tests.

It keeps each run's log as the bytes it was sent (in memory, or in ``DIR/runs/<id>/run.tlog`` when a
folder is given, so that a killed and restarted process keeps what it acknowledged), idempotent by
offset as the contract says: a batch that starts before what is held adds only its new bytes; one
that starts past it gets 409 with the held offset; bytes that are not whole records get 400.

In a test: ``with ContractServer(key="k") as srv: srv.url``; ``srv.fail_next(503, retry_after=1)``
makes the next requests fail; ``srv.requests`` lists what came. As a process (for SIGKILL tests):
``python tests/contract_server.py PORT DIR [KEY]``.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HEADER = b"TRKLWAL\x00"


def whole_records(data: bytes, at_start: bool) -> bool:
    pos = 0
    if at_start:
        if data[:8] != HEADER:
            return False
        pos = 16
    while pos < len(data):
        if len(data) - pos < 8:
            return False
        length, crc = struct.unpack_from("<II", data, pos)
        end = pos + 8 + length
        if length < 9 or end > len(data) or zlib.crc32(data[pos + 8 : end]) != crc:
            return False
        pos = end
    return True


class _Handler(BaseHTTPRequestHandler):
    server: "_Http"
    protocol_version = "HTTP/1.1"  # keep-alive, as the real server

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        self.server.owner.connections.add(self.connection)

    def _send(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, error: str, **extra) -> None:
        self._send(status, {"ok": False, "error": error, "status": status, **extra})

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _handle(self, method: str) -> None:
        owner = self.server.owner
        body = self._body() if method in ("POST", "PUT") else b""
        owner.requests.append((method, self.path, dict(self.headers), len(body)))
        path = self.path.split("?", 1)[0]
        if path in ("/api/v1/health", "/api/v1/ready"):
            return self._send(200, {"ok": True})
        with owner.lock:
            fault = owner.faults.pop(0) if owner.faults else None
        if fault is not None:
            status, retry_after = fault
            if status == 0:  # drop the connection without an answer
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            return self._error(status, f"injected {status}", headers={"Retry-After": str(retry_after)} if retry_after is not None else None)
        if owner.key is not None and self.headers.get("Authorization") != f"Bearer {owner.key}":
            return self._error(401, "a valid API key is required")
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "projects"] and method == "GET":
            return self._send(200, [])
        if len(parts) == 5 and parts[:3] == ["api", "v1", "runs"] and parts[4] == "log":
            run_id = parts[3]
            if method == "GET":
                held = owner.held(run_id)
                return self._send(200, {"ok": True, "offset": len(held), "log_id": owner.log_ids.get(run_id)})
            if method == "POST":
                return self._post_log(run_id, body)
        return self._error(404, f"no route {method} {path}")

    def _post_log(self, run_id: str, body: bytes) -> None:
        owner = self.server.owner
        if self.headers.get("Content-Encoding") == "gzip":
            try:
                body = gzip.decompress(body)
            except Exception:
                return self._error(400, "the body is not gzip")
        try:
            offset = int(self.headers["X-Tracklet-Offset"])
        except (KeyError, ValueError):
            return self._error(400, "X-Tracklet-Offset is required")
        log_id = self.headers.get("X-Tracklet-Log-Id")
        with owner.lock:
            held = owner.held(run_id)
            known = owner.log_ids.get(run_id)
            if known and log_id and known != log_id:
                return self._error(409, "this run id belongs to a different log", offset=len(held))
            if offset > len(held):
                return self._error(409, "a gap: resend from offset", offset=len(held))
            if not whole_records(body, offset == 0):
                return self._error(400, "the body is not whole log records")
            new = body[len(held) - offset :]
            if new:
                owner.append(run_id, new)
            if log_id and not known:
                owner.log_ids[run_id] = log_id
                if owner.folder:
                    with open(owner._path(run_id) + ".id", "w") as f:
                        f.write(log_id)
            return self._send(200, {"ok": True, "offset": len(held) + len(new)})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_PUT(self):
        self._handle("PUT")


class _Http(ThreadingHTTPServer):
    daemon_threads = True
    owner: "ContractServer"


class ContractServer:
    def __init__(self, key: str | None = None, folder: str | None = None, port: int = 0) -> None:
        self.key = key
        self.folder = folder
        self.lock = threading.Lock()
        self.logs: dict[str, bytearray] = {}
        self.log_ids: dict[str, str] = {}
        self.faults: list[tuple[int, float | None]] = []
        self.requests: list[tuple[str, str, dict, int]] = []
        self.connections: set = set()
        self.httpd = _Http(("127.0.0.1", port), _Handler)
        self.httpd.owner = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        if folder:
            self._load()

    def _path(self, run_id: str) -> str:
        return os.path.join(self.folder, "runs", run_id, "run.tlog")

    def _load(self) -> None:
        runs = os.path.join(self.folder, "runs")
        for run_id in os.listdir(runs) if os.path.isdir(runs) else []:
            if not os.path.exists(self._path(run_id)):
                continue
            with open(self._path(run_id), "rb") as f:
                self.logs[run_id] = bytearray(f.read())
            try:
                with open(self._path(run_id) + ".id") as f:
                    self.log_ids[run_id] = f.read()
            except OSError:
                pass

    def held(self, run_id: str) -> bytes:
        return bytes(self.logs.get(run_id, b""))

    def append(self, run_id: str, data: bytes) -> None:
        if self.folder:  # on disk before the answer: what is acknowledged survives a SIGKILL
            os.makedirs(os.path.dirname(self._path(run_id)), exist_ok=True)
            with open(self._path(run_id), "ab") as f:
                f.write(data)
        self.logs.setdefault(run_id, bytearray()).extend(data)

    def fail_next(self, status: int, times: int = 1, retry_after: float | None = None) -> None:
        with self.lock:
            self.faults.extend([(status, retry_after)] * times)

    def log_posts(self) -> list[tuple[str, dict, int]]:
        return [(p, h, n) for m, p, h, n in self.requests if m == "POST" and p.endswith("/log")]

    def start(self) -> "ContractServer":
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop as a killed server does: the open keep-alive connections go too."""
        import socket

        self.httpd.shutdown()
        self.httpd.server_close()
        for conn in list(self.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> "ContractServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":
    port, folder = int(sys.argv[1]), sys.argv[2]
    srv = ContractServer(key=sys.argv[3] if len(sys.argv) > 3 else None, folder=folder, port=port)
    print(srv.url, flush=True)
    srv.httpd.serve_forever(poll_interval=0.05)
