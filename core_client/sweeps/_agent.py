"""``tracklet.agent``: claim a trial, run it (a function in this process, or the sweep's program), repeat.

While a trial runs, a monitor thread watches it through the store every ``TRACKLET_SWEEP_POLL``
seconds (default 1; a run shorter than that is never stopped early, but the rungs it reached are recorded when
it ends, for the runs after it): it records the run's hyperband rung values in the trial and stops the run when
a rung says so (a function's run is finished as ``stopped`` and its next ``log()`` raises
``RunStopped``; a program gets SIGTERM, which its ``tracklet.init()`` turns into the same), and it
stops the run when the sweep is cancelled.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from .._errors import RunStopped, UsageError, warn_once

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

    from ..store import Store

__all__ = ["agent", "build_command"]

_TERM_GRACE = 30.0  # seconds a stopped program has to end after SIGTERM, before SIGKILL
# As wandb's agent (WANDB_AGENT_MAX_INITIAL_FAILURES): an agent whose first trials all fail stops, rather than
# spend the whole sweep on a program that cannot run
_MAX_INITIAL_FAILURES = int(os.environ.get("TRACKLET_AGENT_MAX_INITIAL_FAILURES", "3"))


def agent(
    sweep_id: str, function: Callable[[], Any] | None = None, entity: str | None = None, project: str | None = None,
    count: int | None = None, dir: str | None = None,
) -> int:
    """Run trials of sweep ``sweep_id`` until ``count`` are done or the sweep has none left; returns how many ran.

    ``function`` is called with no arguments for each trial and calls ``tracklet.init()``, which takes
    the trial's config; without it, the sweep config's ``program``/``command`` is run. Many agents,
    in many processes and on many machines (through a tracklet server), may share one sweep.

    Example:
        >>> tracklet.agent(sweep_id, function=train, count=20)
    """
    from ._sweep import find_sweep, open_store

    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise UsageError(f"agent(count=...) is a whole number of runs >= 1, or None for no limit; got {count!r}")
    if function is not None and not callable(function):
        raise UsageError(f"agent(function=...) takes a function that calls tracklet.init(); got {type(function).__name__}")
    store = open_store(dir)
    doc = find_sweep(store, sweep_id, project, entity)
    if function is None and not doc["config"].get("program") and not doc["config"].get("command"):
        raise UsageError(f"sweep {doc['id']} has no program or command: pass agent(function=...) or add program: train.py")
    program = doc["config"].get("program")
    if function is None and program and "${program}" in (doc["config"].get("command") or ["${program}"]) and not os.path.isfile(program):
        raise UsageError(f"sweep {doc['id']}'s program {program!r} is not in {os.getcwd()}: start the agent in the folder that holds it")
    return _Agent(store, doc["id"], function, count, dir).run()



def _say(message: str) -> None:
    """A line about the agent's progress on stderr, unless settings say silent (``TRACKLET_SILENT``, ``WANDB_SILENT``).

    What changes a run (a hyperband stop, a cancel) or fails is said even then."""
    from .._settings import is_silent

    if not is_silent():
        print(message, file=sys.stderr, flush=True)

class _Agent:
    def __init__(self, store: Store, sweep_id: str, function: Callable[[], Any] | None, count: int | None, dir: str | None) -> None:
        import secrets

        from .._ids import hostname

        self.store, self.sweep_id, self.function, self.count, self.dir = store, sweep_id, function, count, dir
        self.name = f"{hostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        self.poll = float(os.environ.get("TRACKLET_SWEEP_POLL", "1"))

    def run(self) -> int:
        from ._controller import next_trial

        done, failed, said_paused = 0, 0, False
        while self.count is None or done < self.count:
            trial, why = next_trial(self.store, self.sweep_id, self.name)
            if trial is None:
                if why == "paused":
                    if not said_paused:
                        _say(f"tracklet agent: sweep {self.sweep_id} is paused; waiting for `tracklet sweep resume`")
                        said_paused = True
                    time.sleep(self.poll)
                    continue
                _say(f"tracklet agent: sweep {self.sweep_id} is {why}; {done} runs done by this agent")
                break
            said_paused = False
            state = self._run_trial(trial)
            done += 1
            if failed == done - 1 and state in (None, "failed", "crashed"):
                failed += 1  # every trial of this agent so far failed
            if failed == done >= _MAX_INITIAL_FAILURES > 0:
                raise UsageError(
                    f"the first {failed} trials of this agent failed (see their output above; `tracklet show RUN_ID`): "
                    f"the agent stops rather than fail every trial of sweep {self.sweep_id}. Fix the program and start it again"
                )
        return done

    def _run_trial(self, trial: dict[str, Any]) -> str | None:
        """Run one trial; returns its run's state (None when no run was recorded)."""
        from ._trial_env import trial_env

        _say(f"tracklet agent: trial {trial['number']} of sweep {self.sweep_id}: run {trial['run_id']} with "
             + " ".join(f"{k}={v!r}" for k, v in trial["flat"].items()))
        env = trial_env(trial["sweep"], trial["run_id"], trial["params"], trial["flat"], stop_on_sigterm=self.function is None)
        monitor = _Monitor(self, trial)
        if self.function is not None:
            self._call(trial, env, monitor)
        else:
            self._spawn(trial, env, monitor)
        from ._controller import check_metric_logged

        run = self.store.run(trial["run_id"])
        check_metric_logged(trial["config"], self.sweep_id, run)
        return None if run is None else run["state"]

    def _call(self, trial: dict[str, Any], env: dict[str, str], monitor: _Monitor) -> None:
        from ..tracking import _init

        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        monitor.stop_run = lambda: _stop_current(trial["run_id"])
        monitor.start()
        try:
            self.function()
        except RunStopped:
            pass
        except Exception:  # as wandb's agent: the trial failed, the agent goes on
            import traceback

            traceback.print_exc()
            run = _init._current
            if run is not None and run.id == trial["run_id"] and not run.finished:
                run.finish(exit_code=1)
        finally:
            monitor.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        run = _init._current
        if run is not None and run.id == trial["run_id"] and not run.finished:
            run.finish()
        from ._trial_env import started_here

        if not started_here(trial["run_id"]):
            warn_once(f"agent-no-init:{self.sweep_id}", f"tracklet agent: the function given to agent() did not call "
                      f"tracklet.init(), so trial {trial['number']} recorded nothing; call tracklet.init() in it")

    def _spawn(self, trial: dict[str, Any], env: dict[str, str], monitor: _Monitor) -> None:
        config = trial["sweep"]["config"]
        json_file = None
        if "${args_json_file}" in (config.get("command") or []):
            import tempfile

            fd, json_file = tempfile.mkstemp(prefix=f"tracklet-sweep-{trial['run_id']}-", suffix=".json")
            os.close(fd)
        try:
            self._run_program(build_command(config, trial["params"], trial["flat"], json_file), env, monitor)
        finally:
            if json_file is not None:
                os.unlink(json_file)

    def _run_program(self, command: list[str], env: dict[str, str], monitor: _Monitor) -> None:
        import signal
        import subprocess

        child_env = {**os.environ, **env}
        if getattr(self.store, "root", ""):
            child_env["TRACKLET_DIR"] = self.store.root  # the program's runs go to this agent's store
        proc = subprocess.Popen(command, env=child_env)

        def stop_run() -> None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

        monitor.stop_run = stop_run
        monitor.start()
        try:
            try:
                proc.wait()
            except KeyboardInterrupt:
                proc.send_signal(signal.SIGINT)
                proc.wait()
                raise
        finally:
            monitor.stop()
        if monitor.stopped and proc.returncode not in (0, None):
            return
        if proc.returncode:
            print(f"tracklet agent: {' '.join(command)} exited with {proc.returncode}", file=sys.stderr)  # said even when silent


def _stop_current(run_id: str) -> None:
    from ..tracking import _init

    run = _init._current
    if run is not None and run.id == run_id and not run.finished:
        run.stop_for_sweep()


def build_command(config: dict[str, Any], params: dict[str, Any], flat: dict[str, Any], json_file: str | None = None) -> list[str]:
    """The sweep's ``command`` with its macros expanded (wandb's default: ``${env} ${interpreter} ${program} ${args}``).

    ``json_file``: where ``${args_json_file}`` writes the parameters (the agent makes it and removes it after the run).

    Raises:
        UsageError: ``${envvar:NAME}`` names a variable this agent's environment does not have.
    """
    import json

    from ._config import envvar_name

    def arg(value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return str(value)  # True/False, as wandb passes them (HfArgumentParser and argparse's bools read them)
        return json.dumps(value)

    command = config.get("command") or ["${env}", "${interpreter}", "${program}", "${args}"]
    macros = {
        "${env}": ["/usr/bin/env"] if os.name != "nt" else [],
        "${interpreter}": [sys.executable],
        "${program}": [config.get("program", "")],
        "${args}": [f"--{k}={arg(v)}" for k, v in flat.items()],
        "${args_no_hyphens}": [f"{k}={arg(v)}" for k, v in flat.items()],
        "${args_no_boolean_flags}": [f"--{k}" if v is True else f"--{k}={arg(v)}" for k, v in flat.items() if v is not False],
        "${args_json}": [json.dumps(params)],
    }
    if json_file is not None:
        with open(json_file, "w") as f:
            json.dump(params, f)
        macros["${args_json_file}"] = [json_file]
    out: list[str] = []
    for part in command:
        name = envvar_name(part)
        if name is not None:
            if name not in os.environ:
                raise UsageError(f"the sweep's command uses {part}, but {name} is not set in this agent's environment: "
                                 f"set it (export {name}=...) and start the agent again")
            out.append(os.environ[name])
            continue
        out.extend(macros.get(part, [part]))
    return out


class _Monitor:
    """Watches one trial's run while it runs: hyperband rungs and a cancelled sweep stop it."""

    def __init__(self, agent: _Agent, trial: dict[str, Any]) -> None:
        from ._hyperband import rungs

        self.agent, self.trial, self.cfg = agent, trial, trial["config"]
        et = self.cfg.early_terminate
        self.rungs = rungs(et) if et else []
        self.eta = int(et.get("eta", 3)) if et else 3
        self.strict = bool(et.get("strict", False)) if et else False  # compare the value at the rung, not the best so far
        # the run's metric read so far: each look reads only the steps after ``next_step`` (a long run's whole
        # history at every look cost 99-120 ms at 100,000 values, 1.4 ms for the last 10); ``reached``: rungs not yet recorded
        self.next_step, self.count, self.best = 0, 0, None
        self.reached: dict[int, float] = {}
        self.stop_run: Callable[[], None] = lambda: None
        self.stopped = False
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tracklet-sweep-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        from ._sweep import open_store

        store = open_store(self.agent.dir)  # its own: the agent's thread uses the other
        try:
            while not self._halt.wait(self.agent.poll):
                try:
                    if self._check(store):
                        self.stopped = True
                        self.stop_run()
                        return
                except Exception as e:  # the store is busy or unreachable: the run goes on; look again later
                    warn_once(f"sweep-monitor:{type(e).__name__}", f"tracklet agent: watching run {self.trial['run_id']} failed ({e!r}); trying again")
            # the run has ended: the rungs it reached since the last look are recorded, so the runs after it are
            # compared with its values there (a run shorter than the poll would otherwise leave no rung at all)
            try:
                self._check(store, ended=True)
            except Exception as e:
                warn_once(f"sweep-monitor:{type(e).__name__}",
                          f"tracklet agent: recording the rungs of run {self.trial['run_id']} failed ({e!r}); later runs are compared without them")
        finally:
            store.close()

    def _check(self, store: Store, ended: bool = False) -> bool:
        """Whether the run must stop now; records the rungs it has reached. ``ended``: only record them."""
        from ._hyperband import should_stop

        if not ended:
            sweep = store.sweep(self.agent.sweep_id)
            if sweep is None or sweep["state"] == "cancelled":
                print(f"tracklet agent: sweep {self.agent.sweep_id} was cancelled; stopping run {self.trial['run_id']}", file=sys.stderr)
                return True
        if not self.rungs or store.run(self.trial["run_id"]) is None:
            return False
        self._read_metric(store)
        if ended:
            if self.reached:
                store.update_trial(self.agent.sweep_id, self.trial["number"], {str(r): v for r, v in self.reached.items()})
                self.reached.clear()
            return False
        maximize = self.cfg.goal == "maximize"
        while self.reached:
            rung = min(self.reached)
            value = self.reached[rung]
            store.update_trial(self.agent.sweep_id, self.trial["number"], {str(rung): value})
            del self.reached[rung]
            others = [
                t["rungs"][str(rung)] for t in store.sweep(self.agent.sweep_id)["trials"]
                if str(rung) in t["rungs"] and t["number"] != self.trial["number"]
            ]
            if should_stop(value, [*others, value], self.eta, maximize):
                print(f"tracklet agent: hyperband stops run {self.trial['run_id']} at rung {rung} "
                      f"({self.cfg.metric}={value:g}, outside the best 1/{self.eta} of {len(others) + 1} runs there)", file=sys.stderr)
                return True
        return False

    def _read_metric(self, store: Store) -> None:
        """Read the metric's values logged since the last look; note each rung reached with the best value so far
        (with ``strict``, the value logged there).

        A value logged later at a step below one already read is not counted (steps are read in order, once)."""
        metric, maximize, rungs = self.cfg.metric, self.cfg.goal == "maximize", set(self.rungs)
        for row in store.history(self.trial["run_id"], keys=[metric], min_step=self.next_step):
            if metric not in row:
                continue
            self.next_step = row["_step"] + 1
            value = row[metric]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                continue
            self.count += 1
            self.best = value if self.best is None else (max if maximize else min)(self.best, value)
            if self.count in rungs:
                self.reached[self.count] = value if self.strict else self.best
