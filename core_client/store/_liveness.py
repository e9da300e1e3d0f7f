"""Telling a crashed run from a running one: its process, else how long its log has been silent.

The one home of crash detection: the store marks crashed runs with it, readers check a
``running`` row with it, and edits refuse a run it says is alive.
"""

from __future__ import annotations

import os
import time

from .._ids import hostname, process_alive
from ._layout import log_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["STALE_AFTER", "looks_crashed", "pid_alive"]

# A run whose log has been silent this long, with no exit record, has crashed. Live runs
# write a heartbeat at least every 30 s.
STALE_AFTER = 120.0


def pid_alive(pid: int | None, host: str | None) -> bool | None:
    """True/False for a process on this host; None when it runs elsewhere (cannot tell)."""
    if pid is None or host != hostname():
        return None
    return process_alive(pid)


def looks_crashed(
    root: str, run_id: str, pid: Any, host: Any, heartbeat_at: float | None = None,
    is_alive: Callable[[Any, Any], bool | None] = pid_alive,
) -> bool:
    """Whether a run without an exit record has crashed: its process is gone, or (on another host,
    or where the OS will not say) its log has been silent for ``STALE_AFTER`` seconds."""
    alive = is_alive(pid, host)
    if alive:
        return False
    if alive is False:
        return True
    try:
        silent_for = time.time() - os.path.getmtime(log_path(root, run_id))
    except OSError:
        silent_for = time.time() - (heartbeat_at or 0.0)
    return silent_for > STALE_AFTER
