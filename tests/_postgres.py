"""A private PostgreSQL cluster for tests and benchmarks: initdb into a temp folder, start on a free
loopback port with its socket in that folder, stop and delete at the end.

Uses Debian's binaries (``/usr/lib/postgresql/<version>/bin``) or whatever ``initdb`` is on PATH.
Running as root, the cluster runs as the ``postgres`` user (initdb refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

__all__ = ["PgCluster", "find_bin_dir"]


def find_bin_dir() -> str | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3]))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(os.path.realpath(initdb)) if initdb and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """``with PgCluster() as pg: url = pg.create_database()`` — a throwaway cluster, trust auth on loopback."""

    def __init__(self, bin_dir: str | None = None, settings: dict[str, str] | None = None) -> None:
        self.bin_dir = bin_dir or find_bin_dir()
        if self.bin_dir is None:
            raise RuntimeError("no PostgreSQL binaries (initdb, pg_ctl): apt-get install -y postgresql")
        self.settings = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", **(settings or {})}
        self.dir = ""
        self.port = 0
        self._as: list[str] = []

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> "PgCluster":
        self.dir = tempfile.mkdtemp(prefix="tracklet-pg-")
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        data = os.path.join(self.dir, "data")
        self._run(os.path.join(self.bin_dir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.port = _free_port()
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} " + " ".join(
            f"-c {k}={v}" for k, v in self.settings.items()
        )
        self._run(os.path.join(self.bin_dir, "pg_ctl"), "-D", data, "-o", opts, "-l", os.path.join(self.dir, "log"), "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = name or "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.port:
            try:
                self._run(os.path.join(self.bin_dir, "pg_ctl"), "-D", os.path.join(self.dir, "data"), "-m", "immediate", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
            self.port = 0
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = ""

    def __enter__(self) -> "PgCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
