"""The public namespace and the import budget."""

import json
import subprocess
import sys

import pytest

import tracklet

PUBLIC = {
    "Api", "ApiRun", "Artifact", "ArtifactEntry", "Config", "Run", "StoreError", "Summary", "SyncError", "TrackletError",
    "TrackletWarning", "UsageError", "__version__", "config", "define_metric", "finish", "init",
    "log", "run", "summary", "unwatch", "watch",
    # wandb's names a script calls (import tracklet as wandb)
    "AlertLevel", "Settings", "alert", "errors", "link_model", "log_artifact", "log_model", "login", "mark_preempting",
    "save", "use_artifact", "use_model", "Error", "require", "setup", "teardown", "termerror", "termlog", "termwarn",
    # sweeps (tracklet.sweeps)
    "agent", "sweep",
    # rich values for log() (tracklet.media)
    "Audio", "Histogram", "Html", "Image", "Table", "Video", "plot",
    # tracing (tracklet.tracing)
    "ContextExecutor", "Evaluation", "Prompt", "Scorer", "attributes", "publish", "ref", "get_current_call", "init_tracing", "op", "set_price",
}


def test_all_is_sorted_and_exactly_the_public_names():
    assert tracklet.__all__ == sorted(tracklet.__all__)
    assert set(tracklet.__all__) == PUBLIC
    for name in tracklet.__all__:
        assert hasattr(tracklet, name)


def test_usage_error_is_a_value_error():
    assert issubclass(tracklet.UsageError, ValueError)
    assert issubclass(tracklet.UsageError, tracklet.TrackletError)


HEAVY = ("torch", "transformers", "lightning", "pytorch_lightning", "accelerate", "numpy", "pandas",
         "sqlalchemy", "fastapi", "requests", "psutil", "subprocess", "platform")


def test_import_loads_only_the_standard_library_and_tracklet():
    code = (
        "import sys, json; before = set(sys.modules); import tracklet; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)
    stdlib = set(sys.stdlib_module_names)
    foreign = [m for m in loaded if m.split(".")[0] not in stdlib and m.split(".")[0] != "tracklet"]
    assert foreign == []
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []


def test_import_time_is_within_budget():
    # -X importtime reports microseconds per module, cumulative in the second column
    best = None
    for _ in range(3):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import tracklet"],
                             capture_output=True, text=True, check=True).stderr
        line = [l for l in err.splitlines() if l.rstrip().endswith("| tracklet")][-1]
        us = int(line.split("|")[1])
        best = us if best is None else min(best, us)
    assert best < 100_000, f"import tracklet took {best / 1000:.1f} ms (budget 100 ms)"


def test_util_is_what_the_integrations_use_and_never_raises_on_framework_configs():
    import enum

    from tracklet import util
    from tracklet.integrations import _common

    assert util.__all__ == ["generate_id", "to_jsonable", "warn_once"]
    assert len(util.generate_id()) == 8 and len(util.generate_id(12)) == 12 and util.generate_id() != util.generate_id()
    with pytest.raises(tracklet.UsageError):
        util.generate_id(0)
    assert _common.warn_once is util.warn_once  # one home for each (issue 10, carried over)

    class Mode(enum.Enum):
        FAST = "fast"

    class Unprintable:
        def __str__(self):
            raise RuntimeError("no")

    loop = []
    loop.append(loop)
    config = {"dtype": int, "mode": Mode.FAST, "huge": 10**400, "text": "a\ud800", "bad": Unprintable(),
              "loop": loop, 3: {"b", "a"}}
    got = _common.jsonable(config)
    assert got["dtype"] == "builtins.int" and got["mode"] == "fast" and got["3"] == ["a", "b"]
    assert got["huge"] == str(10**400) and got["text"] == "a\\ud800" and got["bad"].endswith("Unprintable>")
    assert isinstance(got["loop"], list)
    with pytest.raises(tracklet.UsageError), pytest.warns(tracklet.TrackletWarning, match="no JSON form"):
        util.to_jsonable(config, "config")  # strict for what a user's own code hands over
