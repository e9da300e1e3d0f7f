"""The .pth start-up hook: installed and current, imports nothing, and nothing that goes wrong in it
(tracklet broken or half removed, the hook raising, another finder raising, warnings as errors)
ever breaks Python start-up or a framework's import."""

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


def test_hook_imports_nothing():
    """What it costs is measured by benchmarks/startup_hook.py (a timing is not a test's to assert)."""
    probe = f"""
        import sys, json
        with open({str(installed_pth())!r}, encoding="utf-8") as f:
            line = f.read()
        before = set(sys.modules)
        exec(line)
        print(json.dumps({{"new": sorted(set(sys.modules) - before),
                          "finders": [getattr(f, "__name__", "") for f in sys.meta_path].count("TrackletAutoload")}}))
    """
    result = json.loads(run_python(probe).stdout)
    # python -c runs after site: the finder is already there from start-up, which this exec must not duplicate
    assert result == {"new": [], "finders": 1}


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


# -- every way of breaking it: the framework still loads, Python still starts ------------------------------
def shadow(tmp_path, files: dict[str, str]) -> str:
    """A ``tracklet`` package made of ``files`` that shadows the installed one (a broken or half-removed install)."""
    root = tmp_path / "shadow"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root)


# files of a tracklet package that shadows the installed one, or modules made unimportable
# (sys.modules[name] = None: an editable install's finder would otherwise find the real ones)
BROKEN_INSTALLS = {
    "package gone": {"block": ["tracklet"]},
    "package raises on import": {"files": {"tracklet/__init__.py": "raise RuntimeError('half-removed install')\n"}},
    "hook module raises on import": {
        "files": {
            "tracklet/__init__.py": "",
            "tracklet/integrations/__init__.py": "",
            "tracklet/integrations/_startup.py": "raise RuntimeError('hook is broken')\n",
        }
    },
    "hook module has no find_spec": {
        "files": {"tracklet/__init__.py": "", "tracklet/integrations/__init__.py": "", "tracklet/integrations/_startup.py": ""}
    },
    "hook module gone": {"block": ["tracklet.integrations._startup"]},
    "integrations gone": {"block": ["tracklet.integrations"]},
}


@pytest.mark.parametrize("warnings_as", ["default", "error"])
@pytest.mark.parametrize("install", BROKEN_INSTALLS)
def test_a_broken_install_never_breaks_start_up_or_the_framework(fakefw, tmp_path, install, warnings_as):
    case = BROKEN_INSTALLS[install]
    path = [shadow(tmp_path, case["files"])] if "files" in case else []
    env = {"PYTHONPATH": ":".join([*path, fakefw["PYTHONPATH"]]), "PYTHONWARNINGS": warnings_as}
    started = run_python("pass", env=env)
    assert (started.returncode, started.stderr) == (0, "")
    block = "".join(f"sys.modules[{name!r}] = None\n" for name in case.get("block", ()))
    loaded = run_python(FAKE + block + "import fakefw.tracking as t\nprint(t.REGISTRY)", env=env)
    assert (loaded.returncode, loaded.stdout.strip(), loaded.stderr) == (0, "{}", "")


@pytest.mark.parametrize("warnings_as", ["default", "error"])
def test_the_hook_raising_leaves_the_framework_alone(fakefw, warnings_as):
    """find_spec itself raising (a bug in it): the finder answers None and Python finds the module as usual."""
    out = run_python(
        FAKE
        + """
from tracklet.integrations import _startup
_startup.HOOKS["fakefw.tracking"] = "fakefw_hook"
def find_spec(*args):
    raise RuntimeError("find_spec is broken")
_startup.find_spec = find_spec
import fakefw.tracking as t
print(t.REGISTRY, type(t.__loader__).__name__)
""",
        env={**fakefw, "PYTHONWARNINGS": warnings_as},
    )
    assert (out.returncode, out.stdout.strip(), out.stderr) == (0, "{} SourceFileLoader", "")


@pytest.mark.parametrize("warnings_as", ["default", "error"])
def test_the_hooks_inner_failure_is_said_and_the_framework_loads(fakefw, warnings_as):
    """A failure inside the hook (here: what it asks of the other finders) is one line on stderr, never an exception."""
    out = run_python(
        FAKE
        + """
from tracklet.integrations import _startup
_startup.HOOKS["fakefw.tracking"] = "fakefw_hook"
def broken(*args):
    raise RuntimeError("lookup is broken")
_startup._find_after = broken
import fakefw.tracking as t
print(t.REGISTRY, type(t.__loader__).__name__)
""",
        env={**fakefw, "PYTHONWARNINGS": warnings_as},
    )
    assert (out.returncode, out.stdout.strip()) == (0, "{} SourceFileLoader")
    assert "the start-up hook could not watch for fakefw.tracking (RuntimeError: lookup is broken)" in out.stderr
    assert "Traceback" not in out.stderr


ANOTHER_FINDER = FAKE + """
class Raising:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "fakefw.tracking":
            raise LookupError("another finder is broken")
sys.meta_path.insert(1, Raising)  # after tracklet's
{remove}
try:
    import fakefw.tracking
except Exception as e:
    print(type(e).__name__, e)
import json  # later imports are unaffected
print("ok")
"""


def test_another_finder_raising_fails_the_import_as_it_would_without_tracklet(fakefw):
    with_hook = run_python(ANOTHER_FINDER.replace("{remove}", ""), env=fakefw)
    without = run_python(ANOTHER_FINDER.replace("{remove}", "sys.meta_path.remove(finder)"), env=fakefw)
    assert with_hook.returncode == without.returncode == 0
    assert with_hook.stdout == without.stdout == "LookupError another finder is broken\nok\n"


@pytest.mark.parametrize("warnings_as", ["default", "error"])
def test_a_failing_registration_never_raises_even_with_warnings_as_errors(fakefw, warnings_as):
    """The tracklet module that registers raising on import: one line on stderr, the framework loaded."""
    out = run_python(
        FAKE
        + """
from tracklet.integrations import _startup
_startup.HOOKS["fakefw.tracking"] = "fakefw_broken_hook"
import fakefw.tracking as t
print(t.REGISTRY)
""",
        env={**fakefw, "PYTHONWARNINGS": warnings_as},
    )
    assert (out.returncode, out.stdout.strip()) == (0, "{}")
    assert "fakefw_broken_hook could not register itself (RuntimeError: hook is broken)" in out.stderr
    assert "Traceback" not in out.stderr


def test_transformers_trainer_imports_when_the_hook_raises():
    """The issue's case, with the real framework and warnings as errors: ``from transformers import Trainer``."""
    pytest.importorskip("transformers")
    out = run_python(
        """
        import sys
        from tracklet.integrations import _startup
        def find_spec(*args):
            raise RuntimeError("find_spec is broken")
        _startup.find_spec = find_spec
        from transformers import Trainer
        print(Trainer.__name__, "tracklet.integrations.transformers" in sys.modules)
        """,
        env={"PYTHONWARNINGS": "error"},
        timeout=180,
    )
    assert (out.returncode, out.stdout.strip()) == (0, "Trainer False"), out.stderr


def test_accelerate_imports_when_registration_fails_with_warnings_as_errors():
    pytest.importorskip("accelerate")
    out = run_python(
        """
        from tracklet.integrations import _startup
        _startup.HOOKS["accelerate.tracking"] = "tracklet.integrations.no_such_module"
        from accelerate import Accelerator
        print(Accelerator.__name__)
        """,
        env={"PYTHONWARNINGS": "error"},
        timeout=180,
    )
    assert (out.returncode, out.stdout.strip()) == (0, "Accelerator"), out.stderr
    assert "tracklet.integrations.no_such_module could not register itself (ModuleNotFoundError" in out.stderr
