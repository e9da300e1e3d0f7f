"""Turning tracing on: ``init_tracing(project)``, the sampling rate, and the switch that keeps it off.

``TRACKLET_TRACING=off`` (or ``false``/``0``) keeps every op untraced whatever the code says;
``TRACKLET_TRACE_SAMPLE_RATE`` (0 to 1) keeps that fraction of traces (a trace is kept or dropped
whole, decided at its root call). Inside a run (``tracklet.init``), ops trace into the run's project
without ``init_tracing``, and every call records the run's id.
"""

from __future__ import annotations

import os

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._log import TraceLog

__all__ = ["TRACER", "active_tracer", "init_tracing", "stop_tracing", "tracing_disabled"]

TRACER: TraceLog | None = None
_patched = False


def tracing_disabled() -> bool:
    """Whether ``TRACKLET_TRACING`` switches tracing off."""
    return os.environ.get("TRACKLET_TRACING", "").strip().lower() in ("off", "false", "0", "no", "disabled")


def _sample_rate(value: float | None) -> float:
    source = "sample_rate"
    if value is None:
        env = os.environ.get("TRACKLET_TRACE_SAMPLE_RATE")
        if not env:
            return 1.0
        source = "TRACKLET_TRACE_SAMPLE_RATE"
        try:
            value = float(env)
        except ValueError:
            raise UsageError(f"TRACKLET_TRACE_SAMPLE_RATE={env!r} is not a number; set it between 0 and 1") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{source}={value!r}: the fraction of traces to keep must be a number from 0 to 1")
    return float(value)


def init_tracing(project: str, *, dir: str | None = None, entity: str | None = None, sample_rate: float | None = None, autopatch: bool = True) -> TraceLog | None:
    """Trace every ``@tracklet.op`` call from here on into ``project`` (in a run, the run's store and run).

    Args:
        project: the project calls belong to.
        dir: the store folder (default: the run's, else ``TRACKLET_DIR``, else ``./tracklet-runs``).
        sample_rate: the fraction of traces kept (default 1, or ``TRACKLET_TRACE_SAMPLE_RATE``).
        autopatch: trace the installed LLM SDKs' calls (OpenAI, Anthropic) too.

    Returns the trace log, or None when ``TRACKLET_TRACING`` switches tracing off.

    >>> tracklet.init_tracing("my-llm-project")
    """
    global TRACER
    if not isinstance(project, str) or not project.strip() or "/" in project.strip("/") and project.count("/") > 1:
        raise UsageError(f"init_tracing() needs a project name such as 'my-llm-project', got {project!r}")
    if "/" in project:
        entity, project = project.split("/", 1)
    rate = _sample_rate(sample_rate)
    if tracing_disabled():
        stop_tracing()
        return None
    from .._settings import resolve_settings
    from ._log import TraceLog

    run = _current_run()
    if dir is None and run is not None and run.dir:
        dir = _store_of(run)
    settings = resolve_settings({"project": project, "dir": dir, "entity": entity})
    if settings.mode == "disabled":
        stop_tracing()
        return None
    old = TRACER
    server = (settings.base_url, settings.api_key) if settings.mode == "remote" else None
    TRACER = TraceLog(
        os.path.abspath(settings.dir), project, entity=settings.entity, sample_rate=rate, server=server,
        finish_timeout=settings.finish_timeout,
    )
    if old is not None:
        old.close()
    if autopatch:
        _autopatch()
    return TRACER


def stop_tracing() -> None:
    """Stop tracing (ops run untraced until the next ``init_tracing``); what was recorded stays."""
    global TRACER
    old, TRACER = TRACER, None
    if old is not None:
        old.close()


def _current_run() -> Any:
    from ..tracking import _init

    return _init._current


def _store_of(run: Any) -> str:
    """The store folder of a run (its folder is ``<store>/runs/<id>``)."""
    return os.path.dirname(os.path.dirname(run.dir))


def active_tracer() -> TraceLog | None:
    """The trace log calls go to now: ``init_tracing``'s, else one made for the active run's project."""
    if TRACER is not None:
        return TRACER
    run = _current_run()
    if run is None or tracing_disabled() or getattr(run, "disabled", False):
        return None
    try:
        return init_tracing(run.project, dir=_store_of(run) if run.dir else None)
    except Exception:
        return None


def _autopatch() -> None:
    """Apply the tracing patches that installed integrations register (entry points ``tracklet.tracing``).

    ``core_client`` never imports ``integrations``: they register here, as Lightning's callbacks do.
    """
    global _patched
    if _patched:
        return
    _patched = True
    from importlib.metadata import entry_points

    from .._errors import warn_once

    for ep in entry_points(group="tracklet.tracing"):
        try:
            ep.load()()
        except Exception as e:
            warn_once(f"autopatch:{ep.name}", f"tracklet: tracing of {ep.name} calls could not be set up ({type(e).__name__}: {e})")
