"""``tracklet sync PATH... --to URL``: send run logs to a server from the offset it holds, with a summary."""

from __future__ import annotations

import os
import sys

from .._errors import SyncError
from ..remote._http import Client, RemoteError
from ..remote._sender import LogSender
from ..store._layout import TRACE_LOG_SUFFIX
from ._sync import is_trace_log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["key_for_url", "sync_to"]


def key_for_url(base_url: str) -> str | None:
    """The key to send to ``base_url``: the configured one for the configured server (TRACKLET_API_KEY wins),
    else the credentials file's for that URL, else TRACKLET_API_KEY."""
    from .._settings import resolve_settings
    from ..remote._credentials import key_for

    settings = resolve_settings({})
    if settings.base_url == base_url:
        return settings.api_key
    return key_for(base_url) or os.environ.get("TRACKLET_API_KEY") or None


def _sent_as(wal: str, base_url: str) -> str | None:
    """The run id a log was sent under to ``base_url`` (``--new-id`` gives one), if the ``.sent`` file says."""
    import json

    from ..remote._uploader import SENT_SUFFIX

    try:
        with open(wal + SENT_SUFFIX, encoding="utf-8") as f:
            sent = json.load(f)
        return sent.get("run_id") if sent.get("url") == base_url else None
    except (OSError, ValueError, AttributeError):
        return None


def sync_to(wals: list[str], base_url: str, api_key: str | None, new_id: bool = False, out: TextIO | None = None) -> int:
    """Send each log; print what was sent, what the server already held, and what failed and why. Returns the exit status."""
    from .._ids import new_run_id
    from ._progress import Progress
    from ._sync import log_bytes

    out = out or sys.stdout
    client = Client(base_url, api_key)
    sizes = {wal: log_bytes(wal) for wal in wals}
    bar = Progress(sum(sizes.values()), f"sending to {client.base_url}")
    done = 0
    sent: list[tuple[str, int]] = []
    already: list[str] = []
    failed: list[tuple[str, str]] = []
    renamed: list[tuple[str, str]] = []
    try:
        for wal in wals:
            base = done
            if is_trace_log(wal):  # a tracing process's calls: their own route, no run id to clash
                log_id = os.path.basename(wal)[: -len(TRACE_LOG_SUFFIX)]
                sender = LogSender(client, wal, f"trace-{log_id}", log_id=log_id, route=f"/traces/{log_id}/log")
                try:
                    new_bytes, _ = sender.send_all(lambda pos, base=base: bar.update(base + pos))
                    (sent.append((f"trace log {log_id}", new_bytes)) if new_bytes else already.append(log_id))
                except (RemoteError, SyncError, ValueError, OSError) as e:
                    failed.append((wal, str(e)))
                done = base + sizes[wal]
                continue
            run_id = os.path.basename(os.path.dirname(wal))
            target = _sent_as(wal, client.base_url) or run_id
            while True:
                sender = LogSender(client, wal, target)
                try:
                    new_bytes, _ = sender.send_all(lambda pos, base=base: bar.update(base + pos))
                except RemoteError as e:
                    if e.status == 409 and new_id and target == run_id:
                        target = f"{run_id[:55]}-{new_run_id()[:6]}"
                        continue
                    failed.append((wal, str(e)))
                except (SyncError, ValueError, OSError) as e:
                    failed.append((wal, f"cannot read the log: {e}"))
                else:
                    if target != run_id:
                        renamed.append((run_id, target))
                        sender.record_run_id(target)
                    (sent.append((target, new_bytes)) if new_bytes else already.append(target))
                break
            done = base + sizes[wal]
            bar.update(done)
    finally:
        bar.close()
        client.close()
    total = sum(n for _, n in sent)
    print(
        f"sent {len(sent)} run(s) ({total:,} bytes of log) to {client.base_url}; "
        f"{len(already)} already there; {len(failed)} failed",
        file=out,
    )
    for old, new in renamed:
        print(f"  run {old} is stored as {new}: its id was taken by another run on the server", file=out)
    for wal, why in failed:
        print(f"  NOT SENT {wal}: {why}", file=sys.stderr)
    return 1 if failed else 0
