"""wandb names a script calls that map onto tracklet's: ``login`` (a tracklet server's key), ``Settings``, ``AlertLevel``,
``termlog``/``termwarn``/``termerror``, and ``setup``/``teardown``/``require`` (what wandb's service needs)."""

from __future__ import annotations

import enum
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from ._errors import UsageError

__all__ = ["AlertLevel", "Settings", "login", "require", "setup", "teardown", "termerror", "termlog", "termwarn"]


class AlertLevel(enum.Enum):
    """The level of ``run.alert()``: ``tracklet.AlertLevel.WARN`` or the string ``"WARN"``."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def login(
    key: str | None = None,
    relogin: bool | None = None,
    host: str | None = None,
    force: bool | None = None,
    timeout: int | None = None,
    verify: bool = False,
    referrer: str | None = None,
    anonymous: Any = None,
) -> bool:
    """Log in to a tracklet server (``host``), or, as in a wandb script, accept a key where none is needed.

    ``login(host="http://server:8080", key=...)`` checks the key against the server and stores it in
    the credentials file as ``tracklet login`` does, making the server the default (remote mode).
    ``login(key=...)`` without ``host`` does the same for the server already configured
    (``TRACKLET_BASE_URL`` or an earlier login), warning instead of raising when it is refused (unless
    ``verify=True``); with no server configured it keeps wandb's call working and stores nothing: the
    local store needs no account, and the key (often a wandb key) is sent nowhere. A ``host`` of wandb's
    cloud (``https://api.wandb.ai``) is a wandb script's: nothing is sent or stored.

    Example:
        >>> tracklet.login(host="http://server:8080", key=os.environ["TRACKLET_API_KEY"])
        True

    Returns:
        True when a key is stored (or none is needed); False when a configured server refused ``key``.
    Raises:
        UsageError: ``key`` or ``host`` is not a string; ``host`` is given and refuses the key.
    """
    for name, value in (("key", key), ("host", host)):
        if value is not None and not isinstance(value, str):
            raise UsageError(f"login({name}=...) takes a string; got {type(value).__name__}")
    if host is None and key is None:
        return True
    if host is not None and _is_wandb_host(host):
        return True  # a wandb script's login to wandb's cloud: the key is wandb's and goes nowhere
    if host is None:
        from ._settings import resolve_settings

        host = resolve_settings({}).base_url
        if host is None:
            return True  # wandb's call in a local-store script: nothing to log in to
        explicit = False
    else:
        explicit = True
        if key is None:
            key = os.environ.get("TRACKLET_API_KEY")
            if key is None:
                from .remote._credentials import key_for

                key = key_for(host)
    from .remote._login import login as store_login

    try:
        store_login(host, key)
    except UsageError as e:
        if explicit or verify:
            raise
        from ._errors import warn_once

        warn_once(f"login:{host}", f"tracklet: login() stored nothing: {e}")
        return False
    return True


def _is_wandb_host(host: str) -> bool:
    from urllib.parse import urlsplit

    name = (urlsplit(host if "://" in host else "https://" + host).hostname or "").lower()
    return name == "wandb.ai" or name.endswith(".wandb.ai")


# wandb.Settings field -> tracklet setting (the init() argument it stands for)
_MAPPED = {
    "mode": "mode",
    "silent": "silent",
    "console": "console",
    "project": "project",
    "entity": "entity",
    "run_name": "name",
    "run_id": "id",
    "run_tags": "tags",
    "run_notes": "notes",
    "run_group": "group",
    "run_job_type": "job_type",
    "resume": "resume",
    "root_dir": "dir",
    "x_stats_sampling_interval": "system_interval",
}


class Settings:
    """wandb's ``Settings`` for ``init(settings=...)``: what maps onto tracklet is applied, the rest is kept and ignored.

    Applied: ``mode``, ``silent``, ``console``, ``project``, ``entity``, ``run_name``, ``run_id``,
    ``run_tags``, ``run_notes``, ``run_group``, ``run_job_type``, ``resume``, ``root_dir`` (the store
    goes in its ``tracklet-runs`` folder, as wandb puts ``wandb/`` there), ``x_stats_sampling_interval``
    and ``x_disable_stats``. Any other wandb field (``start_method``, ``init_timeout``, ...) is accepted
    and has no effect. An argument of ``init()`` wins over the same setting here.

    Example:
        >>> run = tracklet.init(settings=tracklet.Settings(mode="offline", console="off"))
    """

    def __init__(self, **values: Any) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        _check(name, value)
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return None  # a wandb field not set here: wandb's default, which tracklet leaves to its own settings

    def update(self, settings: Any = None, **values: Any) -> None:
        """Set fields from another ``Settings``, a dict, or keywords."""
        if isinstance(settings, Settings):
            values = {**vars(settings), **values}
        elif settings is not None:
            values = {**dict(settings), **values}
        for name, value in values.items():
            setattr(self, name, value)

    def init_args(self) -> dict[str, Any]:
        """The tracklet settings these fields give, by ``init()`` argument name."""
        out = {arg: getattr(self, field) for field, arg in _MAPPED.items() if getattr(self, field) is not None}
        if "dir" in out:
            from ._settings import WANDB_DIR_STORE

            out["dir"] = os.path.join(os.fspath(out["dir"]), WANDB_DIR_STORE)
        if vars(self).get("x_disable_stats") or vars(self).get("_disable_stats"):
            out["system_interval"] = 0
        return out

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in sorted(vars(self).items())) + ")"


def _check(name: str, value: Any) -> None:
    """The mapped fields are checked when set, as wandb's are: the error points at the Settings call."""
    if value is None or name not in _MAPPED:
        return
    from ._settings import resolve_settings

    arg = _MAPPED[name]
    if arg in ("mode", "console", "resume", "silent", "system_interval"):
        try:
            resolve_settings({arg: value}, environ={})
        except UsageError as e:
            raise UsageError(f"Settings({name}={value!r}): {e}") from None
    elif arg == "tags":
        from ._settings import _as_tags

        _as_tags(value)


def termlog(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """A line on stderr as tracklet's own (``tracklet: ...``), unless settings say silent: wandb's ``termlog``."""
    from ._settings import is_silent

    if not is_silent():
        _say(string, "", newline, prefix)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """A warning line on stderr (``tracklet: WARNING ...``), said even when silent: wandb's ``termwarn``."""
    _say(string, "WARNING ", newline, prefix)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """An error line on stderr (``tracklet: ERROR ...``), said even when silent: wandb's ``termerror``."""
    _say(string, "ERROR ", newline, prefix)


def _say(string: str, level: str, newline: bool, prefix: bool) -> None:
    import sys

    head = f"tracklet: {level}" if prefix else ""
    text = "\n".join(head + line for line in str(string).split("\n"))
    print(text, end="\n" if newline else "", file=sys.stderr, flush=True)


def setup(settings: Any = None) -> None:
    """wandb's ``setup()`` starts its service process before runs or child processes need it; tracklet has no
    service (each process writes its run's log itself), so there is nothing to start. Settings are given to
    ``init(settings=...)``: given here, they are said to be unused rather than dropped quietly."""
    if settings is not None:
        from ._errors import warn_once

        warn_once("setup-settings", "tracklet: setup(settings=...) applies nothing (tracklet has no service to set "
                  "up); pass the settings to tracklet.init(settings=...)")


def teardown(exit_code: int | None = None) -> None:
    """Finish the current run, if any, with ``exit_code``: what wandb's ``teardown()`` does before stopping its service."""
    from .tracking import _init

    if _init._current is not None:
        _init._current.finish(exit_code=exit_code)


def require(requirement: str | list[str] | None = None, experiment: Any = None) -> None:
    """wandb's ``require("service")`` (or ``"core"``) switches on a feature of its client; tracklet's client has
    no such switches (each is what tracklet always does), so there is nothing to switch on."""
    names = [requirement] if not isinstance(requirement, (list, tuple)) else list(requirement)
    for name in names:
        if name is not None and not isinstance(name, str):
            raise UsageError(f"require() takes feature names (strings); got {type(name).__name__}")
