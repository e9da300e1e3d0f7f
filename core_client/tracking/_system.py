"""What a run records about its machine: the environment once at start, system metrics periodically."""

from __future__ import annotations

import os
import sys
import time

from .._ids import hostname

TYPE_CHECKING = False  # typing is not imported at run time: a short run's finish() waits for this module
if TYPE_CHECKING:
    from typing import Any

__all__ = ["SystemSampler", "capture_environment", "redact_argv"]

_MB = 1 << 20
_GB = 1 << 30


def _git(args: list[str], cwd: str) -> str | None:
    import subprocess

    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=5,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.decode("utf-8", "replace").strip() if out.returncode == 0 else None


def _strip_credentials(url: str) -> str:
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return url


def _in_repository(cwd: str) -> bool:
    """Whether ``cwd`` is inside a git work tree, by looking for ``.git`` upwards (no process started).

    Starting ``git`` costs several milliseconds even to hear "not a repository", and a short
    run's ``finish()`` waits for this. ``GIT_DIR`` set means the user points git elsewhere: ask git.
    """
    if os.environ.get("GIT_DIR"):
        return True
    folder = os.path.abspath(cwd)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


# The uncommitted diff travels in the environment record (so a store, a server and the dashboard have it) up to
# this size; the run folder's diff.patch keeps up to max_diff of it.
_INLINE_DIFF = 256 << 10


def git_info(cwd: str, run_dir: str | None, max_diff: int = 10 * _MB) -> dict[str, Any] | None:
    """Commit, branch, remote and dirtiness of the repository around ``cwd``; a dirty tree's diff against HEAD as
    ``diff`` (its first 256 KiB, cut at a line) and, up to ``max_diff``, in the run folder's ``diff.patch``."""
    if not _in_repository(cwd):
        return None
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) or ""
    info: dict[str, Any] = {
        "commit": commit,
        "branch": _git(["rev-parse", "--abbrev-ref", "HEAD"], cwd),
        "remote": _strip_credentials(_git(["remote", "get-url", "origin"], cwd) or "") or None,
        "dirty": bool(status),
    }
    if status and run_dir:
        diff = _git(["diff", "HEAD"], cwd)
        if diff:
            path = os.path.join(run_dir, "diff.patch")
            data = diff.encode() + b"\n"  # _git strips it; without the last newline git apply calls the patch corrupt
            with open(path, "wb") as f:
                f.write(data[:max_diff])
            inline = data[:_INLINE_DIFF]
            if len(data) > _INLINE_DIFF:
                inline = inline[: inline.rfind(b"\n") + 1] or inline
            info["diff"] = inline.decode("utf-8", "replace")
            info["diff_bytes"] = len(data)
            info["diff_truncated"] = len(inline) < len(data)
            info["diff_file"] = "diff.patch"
    return info


def _packages() -> dict[str, str]:
    """Installed distributions by name, read from ``*.dist-info`` folder names (no metadata parsing).

    Reading each package's METADATA costs about a millisecond per package; the folder name
    already holds the normalised name and version, so a large ML environment lists in ~2 ms.
    """
    out: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                stem = name[: -len(".dist-info")]
                dist, _, version = stem.partition("-")
                if dist and version and dist not in out:
                    out[dist.replace("_", "-")] = version
            elif name.endswith(".egg-link"):
                out.setdefault(name[: -len(".egg-link")], "develop")
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


def _memory_gb() -> float | None:
    try:
        return round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / _GB, 2)
    except (ValueError, OSError, AttributeError):
        return None


def _user() -> str | None:
    """The login name, as ``getpass.getuser()`` finds it, without importing getpass (and termios)."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return None


def _os_name() -> str:
    """``Linux 6.8.0 x86_64``: what ``platform`` reports, without importing it (a few ms)."""
    if hasattr(os, "uname"):
        u = os.uname()
        return f"{u.sysname} {u.release} {u.machine}"
    import platform

    return f"{platform.system()} {platform.release()} {platform.machine()}"


# option names that hold secrets: one of these words as a part of the name (``--hf_token``, ``--api-key``)
_SECRET_WORDS = frozenset(("token", "key", "apikey", "password", "passwd", "pwd", "secret", "auth", "credential", "credentials"))
# values that are secrets whatever their option is called: OpenAI, Hugging Face, GitHub, Slack, AWS key prefixes
_SECRET_PREFIXES = ("sk-", "hf_", "ghp_", "gho_", "github_pat_", "xoxb-", "xoxp-", "AKIA")
REDACTED = "***"


def _secret_name(name: str) -> bool:
    parts = name.lstrip("-").lower().replace("-", "_").replace(".", "_").split("_")
    return any(p in _SECRET_WORDS for p in parts)


def _secret_value(value: str) -> bool:
    return len(value) >= 16 and value.startswith(_SECRET_PREFIXES)


def redact_argv(argv: list[str]) -> list[str]:
    """The command line with the values of secret-looking options replaced by ``***``.

    ``--token=sk-...``, ``--api-key VALUE``, ``db.password=VALUE`` (Hydra style), and any value
    shaped like a known key (``sk-...``, ``hf_...``), so that no secret reaches the run's log or store.
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next and not arg.startswith("-"):
            out.append(REDACTED)
            hide_next = False
            continue
        hide_next = False
        name, eq, value = arg.partition("=")
        if eq and _secret_name(name) and value:
            out.append(f"{name}={REDACTED}")
        elif arg.startswith("-") and not eq and _secret_name(arg):
            out.append(arg)
            hide_next = True
        elif _secret_value(value if eq else arg):
            out.append(f"{name}={REDACTED}" if eq else REDACTED)
        else:
            out.append(arg)
    return out


def capture_environment(run_dir: str | None) -> dict[str, Any]:
    """Host, Python, command line, git state, installed packages and GPUs: run on a background thread."""
    from .._version import __version__

    env: dict[str, Any] = {
        "host": hostname(),
        "os": _os_name(),
        "python": sys.version.split()[0],
        "python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(sys.implementation.name, sys.implementation.name),
        "executable": sys.executable,
        "argv": redact_argv(sys.argv),
        "program": sys.argv[0] if sys.argv else None,
        "cwd": os.getcwd(),
        "cpu_count": os.cpu_count(),
        "tracklet": __version__,
        "started_at": time.time(),
    }
    env["user"] = _user()
    env["memory_gb"] = _memory_gb()
    env["git"] = git_info(os.getcwd(), run_dir)
    env["packages"] = _packages()
    gpus = _nvml_devices()
    if gpus is not None:
        env["gpus"] = gpus
    return env


def _nvml():  # noqa: ANN202
    """The initialised ``pynvml`` module, or None without the package or a GPU."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    return pynvml


def _nvml_devices() -> list[dict[str, Any]] | None:
    nv = _nvml()
    if nv is None:
        return None
    out = []
    try:
        driver = nv.nvmlSystemGetDriverVersion()
        for i in range(nv.nvmlDeviceGetCount()):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            name = nv.nvmlDeviceGetName(h)
            mem = nv.nvmlDeviceGetMemoryInfo(h)
            out.append(
                {
                    "index": i,
                    "name": name.decode() if isinstance(name, bytes) else name,
                    "memory_gb": round(mem.total / _GB, 2),
                    "driver": driver.decode() if isinstance(driver, bytes) else driver,
                }
            )
    except Exception:
        return out or None
    return out


class SystemSampler:
    """Reads CPU, memory, disk, network and (through NVML) GPU figures as ``system/*`` values."""

    def __init__(self, disk_path: str) -> None:
        import psutil

        self._psutil = psutil
        self._proc = psutil.Process()
        self._disk_path = disk_path
        psutil.cpu_percent(interval=None)  # primes the counters: the first reading is since now
        self._proc.cpu_percent(interval=None)
        self._net0 = self._net()
        self._io0 = self._io()
        self._nv = _nvml()
        self._gpus: list[Any] = []
        if self._nv is not None:
            try:
                self._gpus = [self._nv.nvmlDeviceGetHandleByIndex(i) for i in range(self._nv.nvmlDeviceGetCount())]
            except Exception:
                self._gpus = []

    def _net(self) -> tuple[int, int] | None:
        try:
            n = self._psutil.net_io_counters()
            return n.bytes_sent, n.bytes_recv
        except Exception:
            return None

    def _io(self) -> tuple[int, int] | None:
        try:
            d = self._psutil.disk_io_counters()
            return (d.read_bytes, d.write_bytes) if d else None
        except Exception:
            return None

    def sample(self) -> dict[str, float]:
        ps = self._psutil
        out: dict[str, float] = {}
        out["system/cpu_percent"] = ps.cpu_percent(interval=None)
        vm = ps.virtual_memory()
        out["system/memory_percent"] = vm.percent
        out["system/memory_available_gb"] = vm.available / _GB
        try:
            with self._proc.oneshot():
                out["system/proc_memory_rss_mb"] = self._proc.memory_info().rss / _MB
                out["system/proc_cpu_percent"] = self._proc.cpu_percent(interval=None)
                out["system/proc_threads"] = float(self._proc.num_threads())
        except Exception:
            pass
        try:
            out["system/disk_percent"] = ps.disk_usage(self._disk_path).percent
        except Exception:
            pass
        net = self._net()
        if net and self._net0:
            out["system/network_sent_mb"] = (net[0] - self._net0[0]) / _MB
            out["system/network_recv_mb"] = (net[1] - self._net0[1]) / _MB
        io = self._io()
        if io and self._io0:
            out["system/disk_read_mb"] = (io[0] - self._io0[0]) / _MB
            out["system/disk_write_mb"] = (io[1] - self._io0[1]) / _MB
        out.update(self._gpu_sample())
        return out

    def _gpu_sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, handle in enumerate(self._gpus):
            out.update(_gpu_figures(self._nv, handle, f"system/gpu.{i}."))
        return out


def _gpu_figures(nv: Any, handle: Any, prefix: str) -> dict[str, float]:
    """One GPU's figures through NVML; not every GPU reports every figure (power on some laptops)."""
    out: dict[str, float] = {}
    try:
        out[prefix + "utilization_percent"] = float(nv.nvmlDeviceGetUtilizationRates(handle).gpu)
    except Exception:
        pass
    try:
        mem = nv.nvmlDeviceGetMemoryInfo(handle)
        out[prefix + "memory_percent"] = 100.0 * mem.used / mem.total
        out[prefix + "memory_used_gb"] = mem.used / _GB
    except Exception:
        pass
    try:
        out[prefix + "power_watts"] = nv.nvmlDeviceGetPowerUsage(handle) / 1000.0
    except Exception:
        pass
    try:
        out[prefix + "temperature_c"] = float(nv.nvmlDeviceGetTemperature(handle, nv.NVML_TEMPERATURE_GPU))
    except Exception:
        pass
    return out
