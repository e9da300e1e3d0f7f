"""Settings, read at call time by one resolver: arguments, then environment, then file, then defaults.

The environment is ``TRACKLET_*`` first, then the ``WANDB_*`` variable of the same setting, so a
wandb script (``import tracklet as wandb``) and its CI switches (``WANDB_MODE=disabled``) run
unchanged; ``sources`` names the variable that won.

The settings file is INI, ``$TRACKLET_CONFIG_FILE`` or ``~/.config/tracklet/settings.ini``,
with the same names as the ``init`` arguments in a ``[default]`` section::

    [default]
    project = llm-finetuning
    dir = /data/tracklet
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Mapping

from ._errors import UsageError

__all__ = ["DEFAULT_DIR", "LEGACY_DIR", "MODES", "Settings", "default_dir", "resolve_settings"]

# Not "tracklet": a folder of that name in the working folder is a namespace package that hides an
# editable install of tracklet from `import tracklet` (the second run of any script would fail).
DEFAULT_DIR = "tracklet-runs"
LEGACY_DIR = "tracklet"  # the default of tracklet 0.1; a store found there is still used

MODES = ("local", "offline", "remote", "disabled")
RESUME = ("allow", "must", "never", "auto")
# wandb's mode names -> tracklet's ("run" and "shared" are wandb's other words for online); "online"
# is the default mode: remote once a server is configured, local otherwise
MODE_ALIASES = {"online": "online", "run": "online", "shared": "online", "dryrun": "offline"}

# setting name -> environment variable
ENV = {
    "project": "TRACKLET_PROJECT",
    "entity": "TRACKLET_ENTITY",
    "name": "TRACKLET_RUN_NAME",
    "id": "TRACKLET_RUN_ID",
    "resume": "TRACKLET_RESUME",
    "tags": "TRACKLET_TAGS",
    "notes": "TRACKLET_NOTES",
    "group": "TRACKLET_RUN_GROUP",
    "job_type": "TRACKLET_JOB_TYPE",
    "mode": "TRACKLET_MODE",
    "dir": "TRACKLET_DIR",
    "console": "TRACKLET_CONSOLE",
    "system_interval": "TRACKLET_SYSTEM_INTERVAL",
    "silent": "TRACKLET_SILENT",
    "private": "TRACKLET_PRIVATE",
    "base_url": "TRACKLET_BASE_URL",
    "api_key": "TRACKLET_API_KEY",
    "finish_timeout": "TRACKLET_FINISH_TIMEOUT",
}
# Never read from the settings file: a key belongs in the credentials file (0600, `tracklet login`),
# and a server becomes the default only by TRACKLET_BASE_URL or a login.
NOT_IN_FILE = frozenset(("base_url", "api_key"))

# setting name -> the wandb variable read when the TRACKLET_* one is unset
WANDB_ENV = {
    "project": "WANDB_PROJECT",
    "entity": "WANDB_ENTITY",
    "name": "WANDB_NAME",
    "id": "WANDB_RUN_ID",
    "resume": "WANDB_RESUME",
    "tags": "WANDB_TAGS",
    "notes": "WANDB_NOTES",
    "group": "WANDB_RUN_GROUP",
    "job_type": "WANDB_JOB_TYPE",
    "mode": "WANDB_MODE",
    "dir": "WANDB_DIR",
    "console": "WANDB_CONSOLE",
    "silent": "WANDB_SILENT",
    # not WANDB_BASE_URL nor WANDB_API_KEY: a wandb user's variables point at wandb's servers, and a
    # wandb key must never be sent to a tracklet server
}

# WANDB_DIR names the folder wandb makes its ``wandb/`` folder in; the store goes beside it, in
# this subfolder (not the folder itself, which is often "." or a shared scratch folder, and not
# "tracklet", which would hide an editable install of the package from `import tracklet`).
WANDB_DIR_STORE = "tracklet-runs"

DEFAULTS: dict[str, Any] = {
    "project": "uncategorized",
    "entity": None,
    "name": None,
    "id": None,
    "resume": None,
    "tags": (),
    "notes": None,
    "group": None,
    "job_type": None,
    "mode": "local",
    "dir": None,  # default_dir(): ./tracklet-runs, or a store left at ./tracklet by an earlier tracklet
    "console": "auto",
    "system_interval": 10.0,
    "silent": False,
    "private": True,  # a new store folder is the user's alone (0700); false: the umask decides (a store shared with a group)
    "base_url": None,  # the tracklet server of remote mode: TRACKLET_BASE_URL, else the one `tracklet login` chose
    "api_key": None,  # TRACKLET_API_KEY, else the credentials file's key for base_url
    "finish_timeout": 60.0,  # seconds finish() waits for the server to take what is left to send
}


class Settings:
    """Everything a run needs to know about where and how to record; ``sources`` says where each came from."""

    __slots__ = (
        "api_key", "base_url", "console", "dir", "entity", "finish_timeout", "group", "id", "job_type", "mode", "name",
        "notes", "private", "project", "resume", "silent", "sources", "system_interval", "tags",
    )

    def __init__(self, **values: Any) -> None:
        values.setdefault("sources", {})
        missing = set(self.__slots__) - set(values)
        if missing:
            raise TypeError(f"Settings is missing {sorted(missing)}")
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings are read-only; resolve new ones with resolve_settings()")

    # read-only, so a copy is the object itself; a pickle (Lightning's ddp_spawn) carries the values
    def __copy__(self) -> "Settings":
        return self

    def __deepcopy__(self, memo: dict) -> "Settings":
        return self

    def __reduce__(self) -> tuple:
        return _settings_from, ({name: getattr(self, name) for name in self.__slots__},)

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` applied (each change's source becomes ``"argument"``)."""
        values = {n: getattr(self, n) for n in self.__slots__}
        values["sources"] = {**self.sources, **{n: "argument" for n in changes}}
        values.update(changes)
        return Settings(**values)

    def __repr__(self) -> str:
        def shown(n: str) -> str:
            return "'***'" if n == "api_key" and self.api_key else repr(getattr(self, n))  # a key is never printed

        return "Settings(" + ", ".join(f"{n}={shown(n)}" for n in self.__slots__ if n != "sources") + ")"


def _settings_from(values: dict[str, Any]) -> Settings:
    return Settings(**values)


def settings_file() -> str:
    return os.environ.get("TRACKLET_CONFIG_FILE") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config"),
        "tracklet",
        "settings.ini",
    )


def _read_file() -> dict[str, str]:
    path = settings_file()
    if not os.path.isfile(path):
        return {}
    import configparser

    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as e:
        raise UsageError(f"Cannot read tracklet settings file {path}: {e}. Fix or remove it.") from None
    return dict(parser["default"]) if parser.has_section("default") else {}


def _as_bool(name: str, value: Any, source: str = "argument") -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    where = "" if source == "argument" else f" (from {source})"
    raise UsageError(f"{name}={value!r}{where} is not a yes/no value; use true or false")


def _as_tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    from .tracking._values import check_text, describe

    if isinstance(value, str):
        return tuple(t.strip() for t in check_text(value, "tags").split(",") if t.strip())
    try:
        tags = tuple(value)
    except Exception:
        raise UsageError(f"tags must be a list of strings; got {describe(value)}") from None
    return tuple(check_text(t, "each tag") for t in tags)


_TEXT = ("project", "entity", "name", "id", "notes", "group", "job_type", "mode", "console")


def _check_types(values: dict[str, Any], sources: dict[str, str]) -> None:
    """Refuse a setting of the wrong type (``name=5``, ``dir=3``) before anything reads it; ``_as_tags`` checks tags."""
    from .tracking._values import check_text, describe

    for name in _TEXT:
        value = values[name]
        if type(value) is int and name in ("name", "id", "group", "job_type"):  # Lightning's versions are ints
            values[name] = str(value)
        elif value is not None:
            values[name] = check_text(value, f"{name}= (from {sources[name]})")
    if not isinstance(values["resume"], (bool, str, type(None))):
        raise UsageError(f"resume= takes 'allow', 'must', 'never' or True/False; got {describe(values['resume'])}")
    if not isinstance(values["silent"], (bool, str)):
        raise UsageError(f"silent= takes True or False; got {describe(values['silent'])}")
    folder = values["dir"]
    if folder is None:
        return  # default_dir() decides
    try:
        folder = os.fspath(folder)
    except Exception:
        raise UsageError(f"dir= takes a folder path; got {describe(folder)}") from None
    if isinstance(folder, bytes):
        folder = os.fsdecode(folder)
    if "\0" in folder:
        raise UsageError(f"dir={folder!r} (from {sources['dir']}) holds a NUL character, which no folder name can")
    values["dir"] = folder


def default_dir(cwd: str | None = None) -> str:
    """Where runs go when no setting names a folder: ``./tracklet-runs``, unless only ``./tracklet`` holds a store.

    A store an earlier tracklet made at ``./tracklet`` keeps being read and written where it is
    (``tracklet doctor`` suggests renaming it); a new store is never made there.
    """
    cwd = os.getcwd() if cwd is None else cwd
    new = os.path.join(cwd, DEFAULT_DIR)
    if not os.path.isdir(new) and is_legacy_store(os.path.join(cwd, LEGACY_DIR)):
        return os.path.join(cwd, LEGACY_DIR)
    return new


def is_legacy_store(path: str) -> bool:
    """Whether ``path`` is a store folder (a database or run logs), not a Python package."""
    from .store._layout import db_path, runs_dir

    return (
        (os.path.isfile(db_path(path)) or os.path.isdir(runs_dir(path)))
        and not os.path.exists(os.path.join(path, "__init__.py"))
    )


def resolve_settings(args: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve every setting from ``args`` (None means not given), the environment, the file, defaults."""
    args = args or {}
    environ = os.environ if environ is None else environ
    from_file: dict[str, str] | None = None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, default in DEFAULTS.items():
        if args.get(name) is not None:
            values[name], sources[name] = args[name], "argument"
        elif environ.get(ENV[name]):
            values[name], sources[name] = environ[ENV[name]], ENV[name]
        elif name in WANDB_ENV and environ.get(WANDB_ENV[name]):
            values[name], sources[name] = environ[WANDB_ENV[name]], WANDB_ENV[name]
            if name == "dir":
                values[name] = os.path.join(values[name], WANDB_DIR_STORE)
        else:
            if from_file is None:
                from_file = _read_file()
            if from_file.get(name) and name not in NOT_IN_FILE:
                values[name], sources[name] = from_file[name], settings_file()
            else:
                values[name], sources[name] = default, "default"
    _check_types(values, sources)

    base_url, api_key = _server(values, sources)
    mode = str(values["mode"]).strip().lower()
    mode = MODE_ALIASES.get(mode, mode)
    if mode == "online" or (mode == "local" and sources["mode"] == "default"):
        mode = "remote" if base_url is not None else "local"
    if mode not in MODES:
        raise UsageError(
            f"mode={values['mode']!r} (from {sources['mode']}) is not one of {', '.join(MODES)} "
            f"(or wandb's {', '.join(MODE_ALIASES)})"
        )
    if mode == "remote" and base_url is None:
        raise UsageError(
            f"mode='remote' (from {sources['mode']}) needs a tracklet server: run `tracklet login URL`, "
            "or set TRACKLET_BASE_URL (and TRACKLET_API_KEY)"
        )
    resume = values["resume"]
    if resume is True or (isinstance(resume, str) and resume.lower() in ("true", "1", "yes")):
        resume = "allow"
    elif resume is False or (isinstance(resume, str) and resume.lower() in ("false", "0", "no", "")):
        resume = None
    elif resume is not None:
        resume = str(resume).strip().lower()
        if resume not in RESUME:
            raise UsageError(
                f"resume={values['resume']!r} (from {sources['resume']}) is not one of {', '.join(RESUME)} (or True)"
            )
    project = str(values["project"])
    if not project or project.count("/") > 1 or project.startswith("/") or project.endswith("/"):
        raise UsageError(f"project={project!r} must be a name, or entity/name")
    entity = values["entity"]
    if "/" in project:
        entity, project = project.split("/", 1)
    console = str(values["console"]).strip().lower()
    if console in ("redirect", "wrap_raw", "wrap_emu"):  # wandb's other capture methods: tracklet wraps
        console = "wrap"
    if console not in ("auto", "off", "wrap"):
        raise UsageError(f"console={values['console']!r} (from {sources['console']}) is not one of auto, wrap, off")
    try:
        interval = float(values["system_interval"])
    except (TypeError, ValueError, OverflowError):
        raise UsageError(f"system_interval={values['system_interval']!r} is not a number of seconds") from None
    try:
        finish_timeout = float(values["finish_timeout"])
        if not finish_timeout >= 0:
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        raise UsageError(
            f"finish_timeout={values['finish_timeout']!r} (from {sources['finish_timeout']}) is not a number of seconds >= 0"
        ) from None
    return Settings(
        project=project,
        entity=entity,
        name=None if values["name"] is None else str(values["name"]),
        id=None if values["id"] is None else str(values["id"]),
        resume=resume,
        tags=_as_tags(values["tags"]),
        notes=values["notes"],
        group=values["group"],
        job_type=values["job_type"],
        mode=mode,
        dir=default_dir() if values["dir"] is None else os.path.abspath(os.path.expanduser(str(values["dir"]))),
        console=console,
        system_interval=interval,
        silent=_as_bool("silent", values["silent"], sources["silent"]),
        private=_as_bool("private", values["private"], sources["private"]),
        base_url=base_url,
        api_key=api_key,
        finish_timeout=finish_timeout,
        sources=sources,
    )


def is_silent(environ: Mapping[str, str] | None = None) -> bool:
    """Whether settings say tracklet is silent (``TRACKLET_SILENT``, ``WANDB_SILENT``, the settings file).

    Settings that do not resolve count as not silent: ``init()`` says what is wrong with them, not a log line."""
    try:
        return resolve_settings(environ=environ).silent
    except Exception:
        return False


def _server(values: dict[str, Any], sources: dict[str, str]) -> tuple[str | None, str | None]:
    """The server (normalised) and its key: given, or from the credentials file ``tracklet login`` wrote."""
    from .remote._credentials import credentials_file, default_base_url, key_for, normalize_url

    url = values["base_url"]
    if url is None:
        url = default_base_url()
        if url is not None:
            sources["base_url"] = credentials_file()
    if url is not None:
        url = normalize_url(url, f"base URL (from {sources['base_url']})")
    key = values["api_key"]
    if key is not None:
        key = str(key).strip() or None
    if key is None and url is not None:
        key = key_for(url)
        if key is not None:
            sources["api_key"] = credentials_file()
    return url, key
