"""The two lines a run prints: where it records at start, and what it recorded at the end."""

from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # typing is not imported at run time: it costs ~2 ms of the first init()
if TYPE_CHECKING:
    from typing import Any

__all__ = ["finish_message", "init_message"]


def _where(run: Any) -> str:
    root = os.path.dirname(os.path.dirname(run.dir))
    rel = os.path.relpath(root)
    return rel if not rel.startswith("..") else root


def _say(text: str) -> None:
    stream = sys.stderr
    try:
        stream.write(text + "\n")
        stream.flush()
    except Exception:
        pass


def init_message(run: Any) -> None:
    if run.mode == "remote":
        url = run._settings.base_url
        _say(f"tracklet: run {run.name} ({run.id}) in project {run.project} -> {url} (remote; backlog in {_where(run)})")
        return
    mode = "offline: write-ahead log only" if run.offline else "local store"
    _say(f"tracklet: run {run.name} ({run.id}) in project {run.project} -> {_where(run)} ({mode})")


def finish_message(run: Any, state: str) -> None:
    if run.offline:
        hint = f"sync it with: tracklet sync {run.dir}"
    elif run.mode == "remote":
        hint = f"it is on {run._settings.base_url}"
    else:
        hint = f"see it with: tracklet show {run.id} --dir {_where(run)}"
    _say(f"tracklet: run {run.name} ({run.id}) {state}; {hint}")
