"""The one way a trial reaches the run it becomes: ``TRACKLET_SWEEP_*`` environment variables.

An agent sets them before it calls the training function (and restores them after) or starts the
program; ``tracklet.init()`` reads them, so the run takes the trial's id, project and config
(sweep values win over the config given to ``init``, as in wandb) and is linked to its sweep.

    TRACKLET_SWEEP_ID            the sweep
    TRACKLET_SWEEP_RUN_ID        the id the trial's run takes
    TRACKLET_SWEEP_PROJECT       the sweep's project (and TRACKLET_SWEEP_ENTITY)
    TRACKLET_SWEEP_PARAMS        the trial's config, JSON (nested groups as dicts)
    TRACKLET_SWEEP_PARAM_<NAME>  each parameter's value, JSON (name upper-cased, '.' and '-' as '_')
    TRACKLET_SWEEP_SIGTERM       "stop": SIGTERM ends the run as stopped (a program the agent started)
"""

from __future__ import annotations

import json
import os
import re
import sys

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping

__all__ = ["SweepTrial", "started_here", "trial_env", "trial_from_env"]

PREFIX = "TRACKLET_SWEEP_"
_used: set[str] = set()  # run ids already started in this process: a second init() in one trial is a new run


def trial_env(sweep: Mapping[str, Any], run_id: str, params: dict[str, Any], flat: dict[str, Any], stop_on_sigterm: bool) -> dict[str, str]:
    """The variables that make ``tracklet.init()`` start trial ``run_id`` of ``sweep`` with ``params``."""
    env = {
        PREFIX + "ID": sweep["id"],
        PREFIX + "RUN_ID": run_id,
        PREFIX + "PROJECT": sweep["project"],
        PREFIX + "ENTITY": sweep.get("entity") or "",
        PREFIX + "PARAMS": json.dumps(params),
    }
    for name, value in flat.items():
        env[PREFIX + "PARAM_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()] = json.dumps(value)
    if stop_on_sigterm:
        env[PREFIX + "SIGTERM"] = "stop"
    return env


class SweepTrial:
    """A trial found in the environment, applied to one ``init()``."""

    def __init__(self, sweep_id: str, run_id: str, params: dict[str, Any], stop_on_sigterm: bool) -> None:
        self.sweep_id, self.run_id, self.params, self.stop_on_sigterm = sweep_id, run_id, params, stop_on_sigterm

    def config(self, given: dict[str, Any]) -> dict[str, Any]:
        """The run's config: what ``init(config=...)`` gave, with the trial's values over it (groups merged)."""
        return _merge(dict(given), self.params)

    def attach(self, run: Any) -> None:
        """Link the started run to its sweep; a program the agent started stops as ``stopped`` on SIGTERM."""
        run.sweep_id = self.sweep_id
        if self.stop_on_sigterm:
            _stop_on_sigterm(run)


def trial_from_env(args: dict[str, Any]) -> SweepTrial | None:
    """The trial the environment names, its id and project put into ``args``; None once used in this process."""
    env = os.environ
    run_id = env.get(PREFIX + "RUN_ID")
    if not run_id or run_id in _used:
        return None
    try:
        params = json.loads(env.get(PREFIX + "PARAMS") or "{}")
    except ValueError:
        raise UsageError(f"{PREFIX}PARAMS is not JSON: {env.get(PREFIX + 'PARAMS')!r}") from None
    _used.add(run_id)
    if args.get("project") and args["project"] != env.get(PREFIX + "PROJECT"):
        from .._errors import warn_once

        warn_once(
            f"sweep-project:{args['project']}",
            f"tracklet: init(project={args['project']!r}) is ignored in a sweep: the run goes to the sweep's "
            f"project {env.get(PREFIX + 'PROJECT')!r}, as in wandb.",
        )
    args["id"], args["project"], args["resume"] = run_id, env.get(PREFIX + "PROJECT"), None
    args["entity"] = env.get(PREFIX + "ENTITY") or None
    return SweepTrial(env[PREFIX + "ID"], run_id, params, env.get(PREFIX + "SIGTERM") == "stop")


def started_here(run_id: str) -> bool:
    """Whether ``tracklet.init()`` in this process started the trial's run."""
    return run_id in _used


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            base[k] = _merge(dict(base[k]), v)
        else:
            base[k] = v
    return base


def _stop_on_sigterm(run: Any) -> None:
    """SIGTERM from the agent (hyperband) ends the run as ``stopped``: the handler raises ``RunStopped``
    in the main thread, and the exit finishes the run with that state. Left alone when the script has its own handler."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum: int, frame: Any) -> None:
        from .._errors import RunStopped

        run.stop_for_sweep(finish_now=False)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        print(f"tracklet: run {run.id} stopped by its sweep's early termination", file=sys.stderr, flush=True)
        raise RunStopped(f"run {run.id} was stopped by its sweep's early termination (hyperband)")

    signal.signal(signal.SIGTERM, handler)
