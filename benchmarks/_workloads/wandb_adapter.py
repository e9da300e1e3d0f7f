"""wandb in offline mode: every run is one .wandb transaction log (protobuf records)
written by the wandb-core helper process under <dir>/wandb/offline-run-*/.

wandb.Api() reads from a W&B server only, so an offline run has no Python read API.
The one local reader wandb ships is `wandb leet inspect --json <file>` (it prints
every record of the log as a JSON line); that is what is timed here.
"""

import glob
import json
import os
import shutil
import subprocess
import sys

from ._disk import file_size, tree_size

NAME = "wandb"
MODULE = "wandb"
READ_API = "`wandb leet inspect --json <run>.wandb` (offline runs have no Python read API)"
STORE_DESC = "one append-only .wandb transaction log per run (protobuf records, written by wandb-core)"

NOTES = (
    "Offline, log() serialises each step to protobuf and hands it to wandb-core; wandb-core "
    "(a Go helper process) appends it to the .wandb file, so finish() has little left to do.",
    "The .wandb file also holds summary records alongside the history records (`wandb leet inspect` shows "
    "about two summary records per logged step), which is part of its bytes per point.",
    "wandb.Api() reads from a W&B server only: an offline run is readable locally only through "
    "`wandb leet inspect --json` (every record as JSON, parsed here) or after `wandb sync` to a server.",
)

_wandb = None


def _mod():
    global _wandb
    if _wandb is None:
        import wandb

        _wandb = wandb
    return _wandb


def env(d):
    return {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "WANDB_ERROR_REPORTING": "false",
        "WANDB_DIR": d,
        "WANDB_CONFIG_DIR": os.path.join(d, ".wandb-config"),
        "WANDB_CACHE_DIR": os.path.join(d, ".wandb-cache"),
        "WANDB_DATA_DIR": os.path.join(d, ".wandb-data"),
        "WANDB_ARTIFACT_DIR": os.path.join(d, ".wandb-artifacts"),
    }


def empty_run_code(d):
    return (
        "import wandb\n"
        f"run = wandb.init(project='bench', dir={d!r})\n"
        "run.finish()\n"
    )


def init(project, d, config):
    return _mod().init(project=project, dir=d, config=config)


def log_fn(run):
    return run.log


def finish(run):
    run.finish()


def run_id(run):
    return run.id


def _run_file(d, rid):
    hits = glob.glob(os.path.join(d, "wandb", f"*-{rid}", f"run-{rid}.wandb"))
    if not hits:
        raise FileNotFoundError(f"no .wandb file for run {rid} under {d}/wandb")
    return hits[0]


def _wandb_cli():
    exe = os.path.join(os.path.dirname(sys.executable), "wandb")
    return exe if os.path.exists(exe) else shutil.which("wandb") or "wandb"


def _history(d, rid):
    """Yield the `item` dict of every history record, via the wandb CLI reader."""
    env = dict(os.environ)
    env.update(WANDB_MODE="offline", WANDB_ERROR_REPORTING="false")  # -> --no-observability
    proc = subprocess.Popen(
        [_wandb_cli(), "leet", "inspect", "--json", _run_file(d, rid)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        bufsize=1 << 20,
    )
    try:
        for line in proc.stdout:
            if '"type":"history"' not in line:
                continue
            yield json.loads(line)["history"].get("item", {})
    finally:
        proc.stdout.close()
        err = proc.stderr.read()
        rc = proc.wait()
    if rc != 0:
        raise RuntimeError(f"wandb leet inspect exited {rc}: {err.strip()[-500:]}")


def count_points(d, project, rid, keys):
    n = 0
    for item in _history(d, rid):
        for k in keys:
            if k in item:
                n += 1
    return n


def read_metric(d, project, rid, key):
    return sum(1 for item in _history(d, rid) if key in item)


def disk(d):
    store = sum(file_size(p) for p in glob.glob(os.path.join(d, "wandb", "*run-*", "run-*.wandb")))
    return {"store": store, "total": tree_size(d)}


def settle(d, timeout=120.0):
    return 0.0  # no background work outlives the process


def teardown():
    if _wandb is not None:
        _wandb.teardown()
