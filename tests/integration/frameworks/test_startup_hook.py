"""The .pth start-up hook: installed and current, under 1 ms, imports nothing, and a broken or
half-removed tracklet never breaks Python start-up or the frameworks."""

from __future__ import annotations

import json
from importlib.metadata import distribution

import pytest
from helpers import run_python

from tracklet.integrations import _startup


def installed_pth():
    dist = distribution("tracklet")
    found = [f for f in dist.files or () if f.name == _startup.PTH_NAME]
    assert found, f"{_startup.PTH_NAME} is not installed; reinstall tracklet (pip install -e .)"
    return dist.locate_file(found[0])


def test_installed_hook_is_the_current_one():
    text = installed_pth().read_text(encoding="utf-8")
    assert text == _startup.pth_line(), "the installed start-up hook is stale: reinstall tracklet (pip install -e .)"
    assert text.count("\n") == 1 and text.startswith("import sys; ")


def test_hook_costs_under_a_millisecond_and_imports_nothing():
    probe = f"""
        import sys, time, json
        with open({str(installed_pth())!r}, encoding="utf-8") as f:
            line = f.read()
        before = set(sys.modules)
        t = time.perf_counter()
        exec(line)
        took = time.perf_counter() - t
        print(json.dumps({{"ms": took * 1e3, "new": sorted(set(sys.modules) - before),
                          "finder": [getattr(f, "__name__", "") for f in sys.meta_path][:1]}}))
    """
    results = [json.loads(run_python("import sys; sys.argv = ['x']\n" + probe.replace("\n        ", "\n")).stdout) for _ in range(5)]
    # python -c runs after site: the finder is already there from start-up, which this exec must not duplicate
    assert all(r["new"] == [] for r in results)
    assert min(r["ms"] for r in results) < 1.0, results


def test_fresh_interpreter_has_the_finder_and_no_framework_or_tracklet():
    out = run_python(
        """
        import sys
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tracklet", "transformers", "accelerate", "torch"))
        finders = [getattr(f, "__name__", "") for f in sys.meta_path].count("TrackletAutoload")
        print(heavy, finders)
        """
    )
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout.strip() == "[] 1"


# A stand-in framework module hooked the same way as transformers' and accelerate's, so that these
# checks of the mechanism cost a fraction of a second (the real frameworks are hooked for real in
# test_transformers.py's zero-code test and in test_distributed.py).
FAKE = """
import sys
finder = next(f for f in sys.meta_path if getattr(f, "__name__", "") == "TrackletAutoload")
finder.names.add("fakefw.tracking")
"""


@pytest.fixture
def fakefw(tmp_path):
    pkg = tmp_path / "fake" / "fakefw"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tracking.py").write_text("REGISTRY = {}\n")
    (tmp_path / "fake" / "fakefw_hook.py").write_text("import fakefw.tracking as t\nt.REGISTRY['tracklet'] = True\n")
    (tmp_path / "fake" / "fakefw_broken_hook.py").write_text("raise RuntimeError('hook is broken')\n")
    return {"PYTHONPATH": str(tmp_path / "fake")}


def test_hooked_module_loads_with_its_own_loader_then_registers(fakefw):
    out = run_python(
        FAKE
        + """
from tracklet.integrations import _startup
_startup.HOOKS["fakefw.tracking"] = "fakefw_hook"
import fakefw.tracking as t
print(type(t.__loader__).__name__, type(t.__spec__.loader).__name__, t.REGISTRY, finder in sys.meta_path)
""",
        env=fakefw,
    )
    assert out.stderr == ""
    # the finder stays for the hooks that have not fired yet (transformers, accelerate)
    assert out.stdout.split() == ["SourceFileLoader", "SourceFileLoader", "{'tracklet':", "True}", "True"]


def test_a_failing_registration_warns_and_the_framework_still_loads(fakefw):
    out = run_python(
        FAKE
        + """
from tracklet.integrations import _startup
_startup.HOOKS["fakefw.tracking"] = "fakefw_broken_hook"
import fakefw.tracking as t
print(t.REGISTRY)
""",
        env=fakefw,
    )
    assert out.stdout.strip() == "{}"
    assert "fakefw_broken_hook could not register itself (RuntimeError: hook is broken)" in out.stderr


def test_removed_or_broken_tracklet_leaves_python_and_frameworks_alone(fakefw, tmp_path):
    # removed: the .pth is still there, the package is gone
    removed = run_python(FAKE + 'sys.modules["tracklet"] = None\nimport fakefw.tracking as t\nprint(t.REGISTRY)', env=fakefw)
    assert (removed.returncode, removed.stdout.strip(), removed.stderr) == (0, "{}", "")

    # broken: a tracklet that fails to import shadows the real one
    broken = tmp_path / "shadow" / "tracklet"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise RuntimeError('half-removed install')\n")
    env = {"PYTHONPATH": f"{tmp_path / 'shadow'}:{fakefw['PYTHONPATH']}"}
    started = run_python("pass", env=env)
    assert (started.returncode, started.stderr) == (0, "")
    loaded = run_python(FAKE + "import fakefw.tracking as t\nprint(t.REGISTRY)", env=env)
    assert (loaded.returncode, loaded.stdout.strip(), loaded.stderr) == (0, "{}", "")
