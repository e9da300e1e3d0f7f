"""The start-up hook: ``report_to="tracklet"`` and ``log_with="tracklet"`` with no ``import tracklet``.

Installing tracklet puts ``tracklet-autoload.pth`` in site-packages: one line, made by
``pth_line()`` from ``FINDER`` below, that Python runs at start-up. It puts a tiny finder at the
front of ``sys.meta_path`` and imports nothing (its cost, measured by benchmarks/startup_hook.py,
is in benchmarks/RESULTS.md). The finder ignores every import but the two in ``HOOKS``. When
transformers loads ``transformers.integrations.integration_utils`` (or accelerate loads
``accelerate.tracking``), it calls ``find_spec`` here: the framework module loads with its own
loader, then the tracklet module that registers with it is imported.

The hook never imports a framework itself, and nothing in it may break another package's import:
every step is guarded. tracklet broken or half removed, or ``find_spec`` failing, answers None and
Python finds the module as if tracklet were not installed; a registration that fails is one line on
stderr, even when warnings are errors (``-W error``, pytest's ``filterwarnings = error``).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["FINDER", "HOOKS", "PTH_NAME", "find_spec", "pth_line"]

PTH_NAME = "tracklet-autoload.pth"

# framework module -> the tracklet module that registers with it once the framework module has run
HOOKS = {
    "transformers.integrations.integration_utils": "tracklet.integrations.transformers",
    "accelerate.tracking": "tracklet.integrations.accelerate",
}

# The code the .pth file runs. Kept small: it is compiled at every interpreter start. Whatever goes
# wrong inside it (tracklet missing or broken, the hook raising) answers None: Python then asks the
# finders after this one, exactly as if tracklet were not installed.
FINDER = """\
import sys
class TrackletAutoload:
    names = {NAMES}
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name in cls.names:
            try:
                from tracklet.integrations._startup import find_spec
                return find_spec(cls, name, path, target)
            except Exception:
                return None
if not any(getattr(f, "__name__", "") == "TrackletAutoload" for f in sys.meta_path):
    sys.meta_path.insert(0, TrackletAutoload)
""".replace("{NAMES}", "{" + ", ".join(repr(name) for name in sorted(HOOKS)) + "}")


def pth_line() -> str:
    """The one line of ``tracklet-autoload.pth``: runs ``FINDER``, and stays silent if that fails."""
    guarded = f"try:\n exec({FINDER!r}, {{'__name__': 'tracklet_autoload'}})\nexcept Exception:\n pass"
    return f"import sys; exec({guarded!r})\n"


def find_spec(finder: Any, name: str, path: Any = None, target: Any = None) -> Any:
    """Find ``name`` with the finders after ``finder`` and make its loader import tracklet's hook after it.

    Called once per hooked name. Never raises: on any failure it says so and answers None, and Python
    goes on to the finders after ``finder`` itself.
    """
    finder.names.discard(name)
    try:
        spec = _find_after(finder, name, path, target)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ThenImport(spec.loader, HOOKS[name])
    except Exception as e:  # noqa: BLE001 - the framework must load whatever happens here
        then = HOOKS.get(name, "tracklet.integrations")
        _say(f"tracklet: the start-up hook could not watch for {name} ({type(e).__name__}: {e}); {_needs(then)}")
        return None
    if spec is not None and not finder.names and finder in sys.meta_path:
        # only with a spec in hand: Python is iterating sys.meta_path, and a removal before a None would skip a finder
        sys.meta_path.remove(finder)
    return spec


def _find_after(finder: Any, name: str, path: Any, target: Any) -> Any:
    """What the finders after ``finder`` in ``sys.meta_path`` answer, the way Python would ask them."""
    finders = list(sys.meta_path)
    after = finders[finders.index(finder) + 1 :] if finder in finders else finders
    for other in after:
        find = getattr(other, "find_spec", None)
        if other is finder or find is None:
            continue
        spec = find(name, path, target)
        if spec is not None:
            return spec
    return None


def _needs(then: str) -> str:
    return f"report_to / log_with 'tracklet' needs `import {then}` in the script."


def _say(message: str) -> None:
    """Warn, and never raise: with warnings as errors (``-W error``, pytest's ``filterwarnings = error``)
    the warning would become an exception in the middle of a framework's import, so it goes to stderr."""
    import warnings

    try:
        warnings.warn(message, stacklevel=3)
    except Exception:  # noqa: BLE001
        try:
            sys.stderr.write(message + "\n")
        except Exception:  # noqa: BLE001
            pass


class _ThenImport:
    """A loader that runs the framework module with its own loader, then imports ``then``."""

    def __init__(self, loader: Any, then: str) -> None:
        self.loader = loader
        self.then = then

    def create_module(self, spec: Any) -> Any:
        create = getattr(self.loader, "create_module", None)  # optional for a loader before Python 3.6's rule
        return None if create is None else create(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)  # the framework's own errors are its own: they propagate
        try:
            module.__loader__ = module.__spec__.loader = self.loader  # leave no trace on the module
            __import__(self.then)
        except Exception as e:  # noqa: BLE001 - the framework must load whatever happens to tracklet
            _say(f"tracklet: {self.then} could not register itself ({type(e).__name__}: {e}); {_needs(self.then)}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)
