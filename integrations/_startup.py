"""The start-up hook: ``report_to="tracklet"`` and ``log_with="tracklet"`` with no ``import tracklet``.

Installing tracklet puts ``tracklet-autoload.pth`` in site-packages: one line, made by
``pth_line()`` from ``FINDER`` below, that Python runs at start-up. It puts a tiny finder at the
front of ``sys.meta_path`` and imports nothing (about 0.3 ms). The finder ignores every import
but the two in ``HOOKS``. When transformers loads ``transformers.integrations.integration_utils``
(or accelerate loads ``accelerate.tracking``), it calls ``find_spec`` here: the framework module
loads with its own loader, then the tracklet module that registers with it is imported.

The hook never imports a framework itself. If tracklet is broken or half removed, importing this
module fails inside the finder's ``try`` and the framework loads as if tracklet were not installed.
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

# The code the .pth file runs. Kept small: it is compiled at every interpreter start.
FINDER = """\
import sys
class TrackletAutoload:
    names = {NAMES}
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name in cls.names:
            try:
                from tracklet.integrations._startup import find_spec
            except Exception:
                return None
            return find_spec(cls, name, path, target)
if not any(getattr(f, "__name__", "") == "TrackletAutoload" for f in sys.meta_path):
    sys.meta_path.insert(0, TrackletAutoload)
""".replace("{NAMES}", "{" + ", ".join(repr(name) for name in sorted(HOOKS)) + "}")


def pth_line() -> str:
    """The one line of ``tracklet-autoload.pth``: runs ``FINDER``, and stays silent if that fails."""
    guarded = f"try:\n exec({FINDER!r}, {{'__name__': 'tracklet_autoload'}})\nexcept Exception:\n pass"
    return f"import sys; exec({guarded!r})\n"


def find_spec(finder: Any, name: str, path: Any = None, target: Any = None) -> Any:
    """Find ``name`` with the other finders and make its loader import tracklet's hook after it."""
    finder.names.discard(name)
    if not finder.names and finder in sys.meta_path:
        sys.meta_path.remove(finder)
    for other in list(sys.meta_path):
        find = getattr(other, "find_spec", None)
        if other is finder or find is None:
            continue
        spec = find(name, path, target)
        if spec is not None:
            break
    else:
        return None
    if spec.loader is not None and hasattr(spec.loader, "exec_module"):
        spec.loader = _ThenImport(spec.loader, HOOKS[name])
    return spec


class _ThenImport:
    """A loader that runs the framework module with its own loader, then imports ``then``."""

    def __init__(self, loader: Any, then: str) -> None:
        self.loader = loader
        self.then = then

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        module.__loader__ = module.__spec__.loader = self.loader  # leave no trace on the module
        try:
            __import__(self.then)
        except Exception as e:  # noqa: BLE001 - the framework must load whatever happens to tracklet
            import warnings

            warnings.warn(
                f"tracklet: {self.then} could not register itself ({type(e).__name__}: {e}); "
                f"report_to / log_with 'tracklet' needs `import {self.then}` in the script.",
                stacklevel=2,
            )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)
