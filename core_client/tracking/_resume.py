"""Start a run, new or resumed: a resumed run reads its own WAL back to continue where it stopped."""

from __future__ import annotations

import os
import time
TYPE_CHECKING = False  # typing is not imported at run time: it costs ~2 ms of the first init()
if TYPE_CHECKING:
    from typing import Any

from .._errors import UsageError
from ..store._layout import log_path
from ..store._liveness import pid_alive
from ..wal._logfile import log_exists
from .._ids import check_run_id, new_run_id
from ._summary import MetricDef
from ..wal._wal import UNNAMED_KEY, RecordType, WalReader, decode_history, decode_key, log_identity

__all__ = ["ReplayState", "check_resume_request", "pid_alive", "prepare_run", "replay"]


class ReplayState:
    """What a run's WAL says about it, enough to continue it."""

    def __init__(self) -> None:
        self.run_id = ""
        self.name: str | None = None
        self.created_at = 0.0
        self.next_seq = 1
        self.end_offset = 0
        self.next_step = 0
        self.key_ids: dict[str, int] = {}
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.metric_defs: list[MetricDef] = []
        self.running = False
        self.pid: int | None = None
        self.host: str | None = None
        self.log_id: str | None = None
        self.skipped: list[tuple[int, int]] = []  # damaged bytes the replay stepped over


def replay(path: str) -> ReplayState:
    """Read a whole WAL (stopping at a torn tail) into a ``ReplayState``."""
    st = ReplayState()
    names: dict[int, str] = {}
    last_seq = 0
    reader = WalReader(path)
    for rec in reader.records():
        last_seq = rec.seq
        st.end_offset = rec.end
        rt = rec.type
        if rt == RecordType.HISTORY:
            step, _, pairs, tail = decode_history(rec.payload)
            if step + 1 > st.next_step:
                st.next_step = step + 1
            for kid, value in pairs:
                st.summary[names.get(kid) or _unnamed(kid, names, st)] = value
            if tail:
                for kid, value in tail.items():
                    st.summary[names.get(kid) or _unnamed(kid, names, st)] = value
        elif rt == RecordType.KEY:
            kid, name = decode_key(rec.payload)
            names[kid] = name
            st.key_ids[name] = kid
        elif rt == RecordType.RUN:
            obj = rec.json()
            if not st.run_id:
                st.run_id = obj["run_id"]
                st.created_at = obj["created_at"]
                st.log_id = log_identity(obj)
            st.name = obj.get("name") or st.name
            st.running, st.pid, st.host = True, obj.get("pid"), obj.get("host")
        elif rt == RecordType.CONFIG:
            obj = rec.json()
            if "replace" in obj:
                st.config = dict(obj["replace"])
            st.config.update(obj.get("set", {}))
        elif rt == RecordType.SUMMARY:
            obj = rec.json()
            if "replace" in obj:
                st.summary = dict(obj["replace"])
            st.summary.update(obj.get("set", {}))
            for key in obj.get("del", []):
                st.summary.pop(key, None)
        elif rt == RecordType.METRIC:
            obj = rec.json()
            st.metric_defs.append(
                MetricDef(obj["name"], obj.get("step_metric"), tuple(obj.get("summary") or ()), obj.get("goal"), bool(obj.get("hidden")))
            )
        elif rt == RecordType.UPDATE:
            st.name = rec.json().get("name", st.name)
        elif rt == RecordType.EXIT:
            st.running = False
    st.next_seq = last_seq + 1
    st.skipped = reader.skipped
    return st


def _unnamed(kid: int, names: dict[int, str], st: ReplayState) -> str:
    """The name of a key whose KEY record was damaged: the store's name for it, kept so its id is not reused."""
    names[kid] = UNNAMED_KEY.format(kid)
    st.key_ids[names[kid]] = kid
    return names[kid]


def check_resume_request(settings: Any) -> tuple[str, str, bool]:
    """The run id, its WAL's path and whether it exists; a ``UsageError`` for a bad id or resume request.

    Reads nothing but the file system: ``init()`` calls it before it ends the current run.
    """
    run_id = check_run_id(settings.id) if settings.id else new_run_id()
    path = log_path(settings.dir, run_id)
    exists = settings.id is not None and log_exists(path)
    if settings.resume == "must" and not exists:
        raise UsageError(
            f"resume='must' but there is no run {run_id!r} in {settings.dir}. "
            "Check the id and dir=, or use resume='allow' to start it fresh."
        )
    if exists and settings.resume in (None, "never"):
        raise UsageError(
            f"run {run_id!r} already exists in {settings.dir}. Pass resume='allow' to continue it, "
            "or leave id= out for a new run."
        )
    return run_id, path, exists


def prepare_run(settings: Any, config_values: dict[str, Any], request: tuple[str, str, bool] | None = None) -> Any:
    """Create the run's folder and WAL (or reopen them to resume), then start background capture.

    ``request`` is what ``check_resume_request(settings)`` answered, when the caller already asked.
    """
    from ._init import start_new_run

    run_id, path, exists = request or check_resume_request(settings)
    state = None
    created_at = time.time()
    if exists:
        state = replay(path)
        if state.skipped:
            from .._errors import warn_once

            lost = sum(e - s for s, e in state.skipped)
            warn_once(
                f"damaged-resume:{path}",
                f"tracklet: the log of run {run_id} ({path}) is damaged: {lost} bytes at offset {state.skipped[0][0]} "
                "could not be read; the run continues after its last whole record, and nothing in the log is removed.",
            )
        if state.running and state.pid != os.getpid() and pid_alive(state.pid, state.host):
            raise UsageError(
                f"run {run_id!r} is still running in process {state.pid} on {state.host}; "
                "a run can be continued only after that process ends."
            )
        created_at = state.created_at or created_at

    run = start_new_run(settings, run_id, created_at, resumed_from=state)
    if state is not None:
        run._key_ids.update(state.key_ids)
        run._resume_steps(state.next_step)
        run.config._items.update(state.config)
        for mdef in state.metric_defs:
            run._metric_defs.append(mdef)
            for key in state.key_ids:
                if mdef.matches(key):
                    run.summary.apply_def(key, mdef)
        run.summary.restore(state.summary)
    run.config.update(config_values, allow_val_change=state is not None)

    if settings.mode == "local":
        from ..store.sql import register_active_run

        register_active_run(settings.dir, run_id)
    elif settings.mode == "remote":
        from ..remote._uploader import Uploader  # stdlib only: the thread imports requests, not init()

        run._uploader = Uploader(settings.base_url, settings.api_key, run._writer.path, run_id, None, writer=run._writer)
        run._uploader.start()
    if not settings.silent:
        from ._messages import init_message

        init_message(run)
    from ._background import Background

    run._background = Background(run, settings.system_interval)
    run._background.start()
    if settings.console != "off":
        from ._console import ConsoleCapture

        run._console = ConsoleCapture(run)
        run._console.start()
    return run
