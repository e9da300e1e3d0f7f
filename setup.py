"""Build step that pyproject.toml cannot declare: put ``tracklet-autoload.pth`` in site-packages.

The file's one line comes from ``integrations/_startup.py`` (see there); it is written beside the
packages for a regular wheel, and into the editable wheel for ``pip install -e``. Everything else
about the distribution is in pyproject.toml.
"""

import importlib.util
import os

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HERE = os.path.dirname(os.path.abspath(__file__))


def _startup():
    path = os.path.join(HERE, "integrations", "_startup.py")
    spec = importlib.util.spec_from_file_location("_tracklet_startup_source", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports only sys and typing
    return module


class BuildPyWithPth(build_py):
    """``build_py``, plus the start-up hook at the top of the build folder (the wheel's root)."""

    def run(self):
        super().run()
        startup = _startup()
        target = os.path.join(self.build_lib, startup.PTH_NAME)
        os.makedirs(self.build_lib, exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write(startup.pth_line())

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), os.path.join(self.build_lib, _startup().PTH_NAME)]


class _WithPth:
    """Wraps an editable-install strategy so that the editable wheel carries the hook too."""

    def __init__(self, strategy):
        self.strategy = strategy

    def __call__(self, wheel, files, mapping):
        startup = _startup()
        wheel.writestr(startup.PTH_NAME, startup.pth_line().encode("utf-8"))
        return self.strategy(wheel, files, mapping)

    def __enter__(self):
        self.strategy.__enter__()
        return self

    def __exit__(self, *exc):
        return self.strategy.__exit__(*exc)


class EditableWheelWithPth(editable_wheel):
    def _select_strategy(self, name, tag, build_lib):
        return _WithPth(super()._select_strategy(name, tag, build_lib))


setup(cmdclass={"build_py": BuildPyWithPth, "editable_wheel": EditableWheelWithPth})
