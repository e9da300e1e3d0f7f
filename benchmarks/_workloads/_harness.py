"""What core_compare.py and artifact_compare.py share: child processes, their results, the report file.

Imports no tracker. Children run in their own session (so every helper a tool leaves behind is
killed with them), their output goes to a log file whose tail explains a failure, and the
measured numbers come back as a JSON file the child writes.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import threading
import time

__all__ = ["child_record", "cpu_and_memory", "killpg", "last_line", "run_logged", "temp_filesystem", "write_section"]


def killpg(pid: int) -> None:
    """Kill the process group (session) a child leads, helpers and all; gone already is fine."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def last_line(text: str) -> str:
    """The last non-empty line of a child's output (at most 400 characters): usually the error."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][-400:] if lines else "(no output)"


def run_logged(cmd: list[str], cwd: str, env: dict[str, str], log_path: str, timeout: float, keep_log: bool = True) -> dict:
    """Run ``cmd`` in its own session, output to ``log_path``; kill it (and its session) after ``timeout``.

    Returns ``rc``, ``wall_s``, ``timed_out``, ``timeout_s``, ``out_tail`` (last 3000 bytes of output) and
    ``cpu_s`` (user + system CPU of the child and whatever it waited for).
    """
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        # A blocking wait with a watchdog, not proc.wait(timeout=): that one polls with sleeps doubling up to
        # 50 ms, which rounded every short child to ~31.5 or ~63.5 ms (an import of 10 ms read as 0 or 32)
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            killpg(proc.pid)

        watchdog = threading.Timer(timeout, kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            rc = proc.wait()
        except BaseException:  # interrupted: take the child down with us
            killpg(proc.pid)
            proc.wait()
            raise
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - t0
        timed_out = expired.is_set()
    killpg(proc.pid)  # helpers a tool left behind in the child's session
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_path, "rb") as f:
        f.seek(max(0, os.path.getsize(log_path) - 3000))
        tail = f.read().decode("utf-8", "replace")
    if not keep_log:
        os.unlink(log_path)
    return {"rc": rc, "wall_s": wall, "timed_out": timed_out, "timeout_s": timeout, "out_tail": tail,
            "cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)}


def child_record(result_path: str, p: dict) -> dict:
    """What a child measured (the JSON it wrote at ``result_path``), or why it has nothing to say.

    ``p`` is :func:`run_logged`'s answer. A result written by a child that then exited non-zero is
    kept, with ``exit_code`` and ``exit_note``.
    """
    rec: dict = {}
    if os.path.exists(result_path):
        with open(result_path) as f:
            rec.update(json.load(f))
        os.unlink(result_path)
        if p["rc"] != 0 and rec.get("ok"):
            rec["exit_code"] = p["rc"]
            rec["exit_note"] = f"result written, but the process exited {p['rc']}: {last_line(p['out_tail'])}"
    elif p["timed_out"]:
        rec.update(ok=False, timed_out=True, error=f"timed out after {p['timeout_s']:.0f} s (killed)")
    else:
        rec.update(ok=False, error=f"exited {p['rc']} without a result: {last_line(p['out_tail'])}",
                   output=p["out_tail"][-1500:])
    return rec


def write_section(path: str, text: str, heading: str) -> None:
    """Replace the top-level section of ``path`` that starts with ``heading`` (up to the next top-level
    heading outside a code fence), or append it; every other byte of the file stays as it was."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        lines = []
    start = end = None
    fence = False
    for i, ln in enumerate(lines):
        if ln.startswith("```"):
            fence = not fence
            continue
        if fence or not ln.startswith("# "):
            continue
        if start is None and ln.startswith(heading):
            start = i
        elif start is not None:
            end = i
            break
    new = text.rstrip("\n").split("\n")
    if start is None:
        out = lines + ([""] if lines else []) + new + [""]
    else:
        tail = lines[end:] if end is not None else []
        out = lines[:start] + new + ([""] + tail if tail else [""])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    os.replace(path + ".tmp", path)  # a reader never sees half a report


def cpu_and_memory() -> tuple[str, float | None]:
    """The CPU's model name and the memory in GiB, from /proc ("unknown", None elsewhere)."""
    cpu, mem = "unknown", None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
        with open("/proc/meminfo") as f:
            mem = next((int(ln.split()[1]) / 1024 / 1024 for ln in f if ln.startswith("MemTotal")), None)
    except OSError:
        pass
    return cpu, mem


def temp_filesystem(tmp: str) -> str:
    """``/tmp on ext4 (/dev/vda)``: where the stores live, and on what."""
    try:
        row = subprocess.run(["df", "-PT", tmp], capture_output=True, text=True).stdout.splitlines()[-1].split()
        return f"{tmp} on {row[1]} ({row[0]})"
    except (OSError, IndexError):
        return tmp
