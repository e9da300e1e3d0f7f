"""Shared helpers for tests: polling and running Python snippets in real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from typing import Callable

__all__ = ["run_python", "spawn_python", "user_records", "wait_until"]


def wait_until(condition: Callable[[], object], timeout: float = 20.0, interval: float = 0.05) -> object:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra or {})
    return env


def run_python(code: str, env: dict[str, str] | None = None, timeout: float = 60, cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter and wait for it."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=_env(env), capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def spawn_python(code: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    """Start ``code`` in a fresh interpreter with piped stdout (line-buffered text)."""
    return subprocess.Popen(
        [sys.executable, "-u", "-c", textwrap.dedent(code)],
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def user_records(run) -> list[tuple[int, bytes]]:
    """``(type, payload)`` of each record in ``run``'s WAL that holds what the user gave, in order.

    Leaves out what background threads write at any moment (environment, output, system metrics,
    heartbeats), so a test can compare before and after a call without a race.
    """
    from tracklet.wal._wal import RecordType, WalReader

    background = {RecordType.ENVIRONMENT, RecordType.OUTPUT, RecordType.SYSTEM, RecordType.HEARTBEAT}
    wal = WalReader(os.path.join(run.dir, "run.tlog"))
    return [(r.type, r.payload) for r in wal.records() if r.type not in background]
