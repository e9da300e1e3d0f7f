"""``tracklet.init`` and the module-level ``log``/``finish``/``config``/``summary`` that follow the current run."""

from __future__ import annotations

import atexit
import os
import sys
import time

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Sequence
from collections.abc import Mapping

from .._errors import UsageError
from .._ids import hostname, new_run_id, run_name_for
from ._run import Run, _NullWriter
from .._settings import resolve_settings
from ..wal._logfile import reserve_loss_report
from ..wal._wal import RecordType, WalWriter, new_log_id

__all__ = [
    "alert", "define_metric", "finish", "init", "link_model", "log", "log_artifact", "log_model", "mark_preempting",
    "save", "unwatch", "use_artifact", "use_model", "watch",
]

_current: Run | None = None


class _PreInit:
    """Stands in for ``tracklet.config`` / ``tracklet.summary`` before ``init``: any use says what to do."""

    def __init__(self, name: str) -> None:
        self._name = name

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise UsageError(f"tracklet.{self._name} is used before tracklet.init(); call tracklet.init() first")

    __getitem__ = __setitem__ = __contains__ = __iter__ = __len__ = _fail

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        self._fail()

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr == "_name":
            object.__setattr__(self, attr, value)
        else:
            self._fail()

    def __repr__(self) -> str:
        return f"<tracklet.{self._name} before tracklet.init()>"


def _publish(run: Run | None) -> None:
    """Point ``tracklet.run``, ``tracklet.config`` and ``tracklet.summary`` at ``run``."""
    global _current
    _current = run
    package = sys.modules.get("tracklet")
    if package is not None:
        package.run = run
        package.config = run.config if run is not None else _PreInit("config")
        package.summary = run.summary if run is not None else _PreInit("summary")


def init(
    project: str | None = None,
    name: str | None = None,
    config: Any = None,
    tags: Sequence[str] | None = None,
    notes: str | None = None,
    group: str | None = None,
    job_type: str | None = None,
    dir: str | None = None,
    mode: str | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    entity: str | None = None,
    reinit: bool | None = None,
    console: str | None = None,
    config_exclude_keys: Sequence[str] | None = None,
    config_include_keys: Sequence[str] | None = None,
    allow_val_change: bool | None = None,
    silent: bool | None = None,
    **unsupported: Any,
) -> Run:
    """Start a run and make it the current one; arguments fall back to ``TRACKLET_*`` variables.

    Example:
        >>> run = tracklet.init(project="llm-finetuning", config={"lora_r": 16})

    Args:
        project: the project the run belongs to (``entity/project`` also works).
        dir: where the store lives (default ``./tracklet-runs``, or ``TRACKLET_DIR``).
        mode: ``local`` (default), ``offline`` (write-ahead log only) or ``disabled``.
        id, resume: continue run ``id``; resume is ``"allow"``, ``"must"``, ``"never"`` or True.
    Raises:
        UsageError: bad arguments, or a resume request that cannot be met.
    """
    wandb_settings = unsupported.pop("settings", None)
    _check_unsupported(unsupported)
    args = {
        "project": project,
        "entity": entity,
        "name": name,
        "id": id,
        "resume": resume,
        "tags": tags,
        "notes": notes,
        "group": group,
        "job_type": job_type,
        "mode": mode,
        "dir": dir,
        "console": console,
        "silent": silent,
    }
    if wandb_settings is not None:
        for key, value in _from_wandb_settings(wandb_settings).items():
            if args.get(key) is None:  # an init() argument wins, as in wandb
                args[key] = value
    trial = None
    if os.environ.get("TRACKLET_SWEEP_ID"):  # started by a sweep agent: this run is the agent's trial
        from ..sweeps._trial_env import trial_from_env

        trial = trial_from_env(args)
    settings = resolve_settings(args)
    auto_resume = settings.resume == "auto" and settings.mode != "disabled"
    if auto_resume:
        settings = _auto_resume(settings)
    config_values = _select_config(config, config_include_keys, config_exclude_keys)  # bad config: nothing started
    if trial is not None:
        config_values = trial.config(config_values)
    request = None
    if settings.mode != "disabled":
        from ._resume import check_resume_request

        request = check_resume_request(settings)  # a bad id or resume request leaves the current run alone
    if _current is not None and not _current.finished:
        _current.finish()  # as wandb does by default: one current run per process

    if settings.mode == "disabled":
        run_id = settings.id or new_run_id()
        run = Run(settings, run_id, settings.name or run_name_for(run_id), None, _NullWriter(), time.time())
        run.config.update(config_values, allow_val_change=True)
        run.sweep_id = None if trial is None else trial.sweep_id
        _publish(run)
        return run

    from ._resume import prepare_run

    run = prepare_run(settings, config_values, request)
    if trial is not None:
        trial.attach(run)
    _publish(run)
    if auto_resume:
        run._on_finish.append(_forget_auto_resume)
    _install_exit_hooks()
    global _exit_status
    _exit_status = None  # a sys.exit() someone caught before this run began is not this run's end
    return run


# wandb.init arguments that have no meaning for a local store; accepted so wandb scripts run unchanged
_WANDB_ONLY = frozenset(
    ("save_code", "sync_tensorboard", "monitor_gym", "anonymous", "magic", "force", "tensorboard")
)


def _check_unsupported(args: dict[str, Any]) -> None:
    unknown = sorted(set(args) - _WANDB_ONLY)
    if unknown:
        raise TypeError(f"tracklet.init() got unexpected keyword arguments: {', '.join(unknown)}")
    if args:
        from .._errors import warn_once

        names = ", ".join(sorted(args))
        warn_once(f"init-ignored:{names}", f"tracklet: init() ignores the wandb-only arguments {names}.")


def _from_wandb_settings(value: Any) -> dict[str, Any]:
    """``init(settings=...)``: a ``tracklet.Settings`` (wandb's) or a dict of its fields, as init() arguments."""
    from .._compat import Settings

    if isinstance(value, Mapping):
        value = Settings(**value)
    if not isinstance(value, Settings):
        raise UsageError(f"init(settings=...) takes tracklet.Settings(...) or a dict; got {type(value).__name__}")
    return value.init_args()


# resume="auto" (wandb's): the id of the last run started with it in a store, until that run ends well
AUTO_RESUME_FILE = "auto-resume.json"


def _auto_resume(settings: Any) -> Any:
    """Continue the run that the last ``resume="auto"`` start in this store left unfinished, else start one.

    As wandb's ``resume="auto"`` does with its ``wandb-resume.json``: the id is kept in the store
    folder from the start of the run, and dropped when it finishes with exit code 0.
    """
    import json

    path = os.path.join(settings.dir, AUTO_RESUME_FILE)
    run_id, id_source = settings.id, settings.sources["id"]
    if run_id is None:
        try:
            with open(path, encoding="utf-8") as f:
                run_id, id_source = json.load(f).get("run_id"), path
        except (OSError, ValueError, AttributeError):
            run_id = None
    if run_id is None:
        run_id, id_source = new_run_id(), "default"
    try:
        from ..store.sql import make_store_dir

        make_store_dir(settings.dir, settings.private)
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"run_id": run_id}, f)
    except OSError as e:
        from .._errors import warn_once

        warn_once(f"auto-resume:{path}", f"tracklet: cannot write {path} ({e}); resume='auto' will not find this run.")
    s = settings.replace(id=run_id, resume="allow")
    s.sources.update(id=id_source, resume=settings.sources["resume"])
    return s


def _forget_auto_resume(run: Run) -> None:
    if getattr(run, "_exit_code", None) != 0:
        return  # a run that failed is continued by the next resume="auto" start
    import json

    path = os.path.join(run._settings.dir, AUTO_RESUME_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            if json.load(f).get("run_id") != run.id:
                return
        os.remove(path)
    except (OSError, ValueError, AttributeError):
        pass


def _select_config(config: Any, include: Sequence[str] | None, exclude: Sequence[str] | None) -> dict[str, Any]:
    from ._config import clean_config, config_items
    from ._values import check_key

    values = config_items(config)
    if include:
        keep = {check_key(k, "config_include_keys") for k in _as_list(include, "config_include_keys")}
        values = {k: v for k, v in values.items() if k in keep}
    if exclude:
        drop = {check_key(k, "config_exclude_keys") for k in _as_list(exclude, "config_exclude_keys")}
        values = {k: v for k, v in values.items() if k not in drop}
    return clean_config(values)


def _as_list(value: Any, what: str) -> list:
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except Exception:
        from ._values import describe

        raise UsageError(f"{what} takes a list of config keys; got {describe(value)}") from None


def start_new_run(settings: Any, run_id: str, created_at: float, resumed_from: Any = None) -> Run:
    """Open the WAL, write the RUN record, and start background capture (used by ``prepare_run``)."""
    from ..store._layout import runs_dir as runs_folder

    runs_dir = runs_folder(settings.dir)
    run_dir = os.path.join(runs_dir, run_id)
    from ..store.sql import make_store_dir

    try:
        make_store_dir(settings.dir, settings.private)
        os.makedirs(run_dir, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the run folder {run_dir}: {e}. Pass dir= or set TRACKLET_DIR to a writable folder.") from None
    path = os.path.join(run_dir, "run.tlog")
    mode = 0o600 if settings.private else 0o666
    if resumed_from is None:
        writer = WalWriter(path, mode=mode)
    else:
        writer = WalWriter(path, next_seq=resumed_from.next_seq, offset=resumed_from.end_offset, mode=mode)
    reserve_loss_report(run_dir)
    name = settings.name or (resumed_from.name if resumed_from else None) or run_name_for(run_id)
    run = Run(settings, run_id, name, run_dir, writer, created_at)
    record = {
        "run_id": run_id,
        "project": settings.project,
        "entity": settings.entity,
        "name": name,
        "tags": list(settings.tags),
        "notes": settings.notes,
        "group": settings.group,
        "job_type": settings.job_type,
        "mode": settings.mode,
        "created_at": created_at,
        "t": time.time(),
        "host": hostname(),
        "pid": os.getpid(),
        "resumed": resumed_from is not None,
        "log_id": resumed_from.log_id if resumed_from is not None and resumed_from.log_id else new_log_id(),
    }
    writer.append_json(RecordType.RUN, record)
    return run


_hooks_installed = False


def _install_exit_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    previous = sys.excepthook

    def excepthook(exc_type: Any, exc: Any, tb: Any) -> None:
        from .._errors import RunStopped

        if issubclass(exc_type, RunStopped):  # a sweep stopped the run: said already, no traceback
            return
        run = _current
        if run is not None and not run.finished:
            run._error = f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    sys.exit = _recording_exit(sys.exit)
    atexit.register(_finish_at_exit)


_exit_status: int | None = None  # what the script passed to sys.exit(), for the run's final state


def _recording_exit(real_exit: Any) -> Any:
    """``sys.exit`` that remembers its status: atexit handlers cannot see the code a script exits with.

    ``sys.exit(n)`` (also through argparse, click, typer...) then ends the run as failed with exit
    code n when n is not 0; ``raise SystemExit(n)`` written out bypasses it and ends as finished.
    """

    def exit(status: Any = None) -> None:  # noqa: A001 - it is sys.exit
        global _exit_status
        _exit_status = 0 if status is None else status if isinstance(status, int) else 1
        real_exit(status)

    exit.__doc__ = real_exit.__doc__
    exit.__wrapped__ = real_exit  # type: ignore[attr-defined]
    return exit


def _finish_at_exit() -> None:
    run = _current
    if run is not None and not run.finished:
        code = _exit_status if _exit_status else (1 if run._error else 0)
        run.finish(exit_code=code)
    ops = sys.modules.get("tracklet.artifacts._ops")  # loaded only if an artifact was logged
    if ops is not None:
        ops.settle_uploads()


# -- module-level functions that follow the current run ------------------------------------------
def _require_run(what: str) -> Run:
    if _current is None:
        raise UsageError(f"tracklet.{what}() needs a run: call tracklet.init() first")
    return _current


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """``log`` on the current run (see ``Run.log``)."""
    run = _current
    if run is None:
        _require_run("log")
    run.log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if there is one."""
    run = _current
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)
        _publish(None)


def define_metric(
    name: str,
    step_metric: str | None = None,
    summary: str | None = None,
    goal: str | None = None,
    hidden: bool = False,
) -> Any:
    """``define_metric`` on the current run (see ``Run.define_metric``)."""
    return _require_run("define_metric").define_metric(name, step_metric, summary, goal, hidden)


def watch(model: Any, log: str = "gradients", log_freq: int = 100, **kwargs: Any) -> Any:
    """Record per-layer gradient (and/or parameter) statistics and the total grad norm of a torch model.

    ``log`` is ``"gradients"``, ``"parameters"`` or ``"all"``; statistics are taken every
    ``log_freq`` training steps with hooks. The implementation lives in
    ``tracklet.integrations.torch`` and is imported here on first use, so ``import tracklet``
    never imports torch.
    """
    from ..integrations.torch import watch as watch_model

    return watch_model(model, log=log, log_freq=log_freq, **kwargs)


def unwatch(model: Any = None) -> None:
    """Remove the hooks ``watch`` put on ``model`` (on every watched model when None)."""
    from ..integrations.torch import unwatch as unwatch_model

    unwatch_model(model)


# -- more of wandb's module-level calls: each follows the current run ---------------------------------
def save(glob_str: Any, base_path: Any = None, policy: str = "live", glob: bool = True) -> list[str]:
    """``save`` on the current run (see ``Run.save``)."""
    return _require_run("save").save(glob_str, base_path, policy, glob)


def alert(title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
    """``alert`` on the current run (see ``Run.alert``)."""
    _require_run("alert").alert(title, text, level, wait_duration)


def mark_preempting() -> None:
    """``mark_preempting`` on the current run (see ``Run.mark_preempting``)."""
    _require_run("mark_preempting").mark_preempting()


def log_artifact(
    artifact_or_path: Any, name: str | None = None, type: str | None = None, aliases: list[str] | None = None
) -> Any:
    """``log_artifact`` on the current run (see ``Run.log_artifact``)."""
    return _require_run("log_artifact").log_artifact(artifact_or_path, name=name, type=type, aliases=aliases)


def use_artifact(artifact_or_name: Any, type: str | None = None, aliases: list[str] | None = None) -> Any:
    """``use_artifact`` on the current run (see ``Run.use_artifact``)."""
    return _require_run("use_artifact").use_artifact(artifact_or_name, type=type, aliases=aliases)


def log_model(path: Any, name: str | None = None, aliases: list[str] | None = None) -> Any:
    """``log_model`` on the current run (see ``Run.log_model``)."""
    return _require_run("log_model").log_model(path, name, aliases)


def use_model(name: str) -> str:
    """``use_model`` on the current run (see ``Run.use_model``)."""
    return _require_run("use_model").use_model(name)


def link_model(path: Any, registered_model_name: str, name: str | None = None, aliases: list[str] | None = None) -> Any:
    """``link_model`` on the current run (see ``Run.link_model``)."""
    return _require_run("link_model").link_model(path, registered_model_name, name, aliases)
