"""``tracklet server`` as a real process on a free loopback port, for tests that kill and restart it.

    srv = ServerProcess(folder, key=True).start()   # key=True: a write key on '*' is made first (srv.key)
    srv.url; srv.kill(); srv.start()                 # SIGKILL, then the same port and store again
    srv.stop()                                       # SIGINT, waited for
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from typing import Any

import httpx

from helpers import wait_until

__all__ = ["ServerProcess", "free_port", "make_key", "rss_kib"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_key(folder: str, user: str = "tester", project: str = "*", access: str = "write") -> str:
    """A new API key for the store folder (``tracklet server key create``); the server then requires keys."""
    out = subprocess.run(
        [sys.executable, "-m", "tracklet", "server", "key", "create", "--dir", folder, "--user", user,
         "--project", project, "--access", access],
        capture_output=True, text=True, check=True,
    ).stdout
    return re.search(r"^\s+(tkl_\S+)$", out, re.M).group(1)


class ServerProcess:
    """One ``tracklet server --dir folder`` process; ``start()`` again after ``kill()`` reuses port and store."""

    def __init__(self, folder: str, key: bool = False, port: int | None = None, args: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = args
        self.key = make_key(folder) if key else None
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30) -> "ServerProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracklet", "server", "--dir", self.folder, "--port", str(self.port), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.url in self.proc.stdout.readline()

        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=timeout)
        return self

    def client(self, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, **kwargs)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; what it acknowledged must already be on disk."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()
            self.proc = None

    def stop(self) -> str:
        """SIGINT and wait; returns what it wrote to stderr."""
        if self.proc is None:
            return ""
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self.proc = None
        return err

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory (``VmRSS``) or its peak (``VmHWM``), KiB."""
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith(field + ":")).split()[1])
