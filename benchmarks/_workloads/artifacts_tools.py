"""Artifact workloads for benchmarks/artifact_compare.py: the same three operations
for every tool, each run in a fresh process by artifacts_child.py.

    log(src, d, o)        log folder ``src`` as artifact "data" (type "dataset") in a new run
                          of project "bench" whose store is ``d``; returns timings
    download(d, root, o)  fetch the latest version of "data" from the store ``d`` into the
                          empty folder ``root``; returns timings

Every timing is taken with time.perf_counter() inside the process, after the tool was
imported and (where the tool needs one) a run was started; those are untimed, because
the core benchmark measures them. Each function documents exactly which calls its
``stored_s`` (the headline) covers. The keys of the returned dicts:

    add_s          Artifact(...) + add_dir(src)  (0 where the tool has no such step)
    log_return_s   the log_artifact(...) call alone, until it returns
    wait_s         artifact.wait() (tracklet; Trackio's is a no-op)
    finish_s       finishing the run (finish / end_run)
    stored_s       HEADLINE: from the first artifact call until the tool guarantees the
                   files are in its store (see each function)
    through_finish_s  from the first artifact call until finish() has returned
    numbered_s     from the first artifact call until the version number is known (tracklet:
                   art.wait() after finish(); Trackio: its synchronous log_artifact)

Tools are imported lazily so that the orchestrator can import this module without
importing any tracker.
"""

from __future__ import annotations

import glob
import os
import time

PROJECT = "bench"
NAME = "data"
TYPE = "dataset"

pc = time.perf_counter


# ---------------------------------------------------------------- tracklet


def _phases(t0, t1, t2, t3, t4):
    """Build, log, wait, finish: the timings of a tool whose headline ends at its artifact's wait()."""
    return {
        "add_s": t1 - t0,
        "log_return_s": t2 - t1,
        "wait_s": t3 - t2,
        "stored_s": t3 - t0,
        "finish_s": t4 - t3,
        "through_finish_s": t4 - t0,
    }


def tracklet_log(src, d, o):
    """tracklet: Artifact + add_dir + run.log_artifact (returns at once; hashing and
    storing run on a background thread) + run.finish(), which returns once every blob is
    in <d>/blobs and the version's record is fsynced in the run's log: the end point of
    wandb offline's finish(). stored_s ends there. Then art.wait() returns once the store's
    worker has numbered the version: numbered_s, reported beside the headline."""
    import tracklet

    run = tracklet.init(project=PROJECT, dir=d, console="off", silent=True)
    t0 = pc()
    art = tracklet.Artifact(NAME, type=TYPE)
    art.add_dir(src)
    t1 = pc()
    run.log_artifact(art)
    t2 = pc()
    run.finish()
    t3 = pc()
    art.wait()
    t4 = pc()
    return {
        "add_s": t1 - t0,
        "log_return_s": t2 - t1,
        "wait_s": None,
        "finish_s": t3 - t2,
        "stored_s": t3 - t0,
        "through_finish_s": t3 - t0,
        "numbered_s": t4 - t0,
        "version": art.version,
        "state": art.state,
        "digest": art.digest,
        "stored_def": "Artifact() + add_dir() + run.log_artifact() + run.finish()",
    }


def tracklet_download(d, root, o):
    """tracklet: Api(dir=d).artifact('bench/data:latest') + .download(root)."""
    import tracklet

    t0 = pc()
    a = tracklet.Api(dir=d).artifact(f"{PROJECT}/{NAME}:latest")
    t1 = pc()
    a.download(root)
    t2 = pc()
    return {"resolve_s": t1 - t0, "download_s": t2 - t1, "total_s": t2 - t0, "version": a.version,
            "timed": "Api(dir=STORE).artifact('bench/data:latest') + .download(ROOT)"}


# ---------------------------------------------------------------- wandb


def _safe(fn):
    try:
        return fn()
    except Exception as e:  # noqa: BLE001
        return f"({type(e).__name__})"


def wandb_log(src, d, o):
    """wandb offline: wandb.Artifact + add_dir (default policy "mutable": every file is
    copied into the staging folder <WANDB_DATA_DIR>/artifacts/staging and its MD5
    computed, synchronously, 8 threads) + run.log_artifact (offline: finalize() and
    publish the artifact record to wandb-core, which appends it to the run's .wandb
    transaction log; no save handle exists offline) + run.finish() (the only call that
    guarantees the record is written: art.wait() raises offline). stored_s ends when
    finish() returns; the files themselves are on disk when add_dir returns."""
    import wandb

    run = wandb.init(project=PROJECT, dir=d)
    t0 = pc()
    art = wandb.Artifact(NAME, type=TYPE)
    art.add_dir(src)
    t1 = pc()
    run.log_artifact(art)
    t2 = pc()
    run.finish()
    t3 = pc()
    wait_error = None
    try:
        art.wait()
    except Exception as e:  # noqa: BLE001 - recorded: offline artifacts cannot be waited on
        wait_error = f"{type(e).__name__}: {e}"
    staged = glob.glob(os.path.join(os.environ.get("WANDB_DATA_DIR", d), "artifacts", "staging", "*"))
    wandb.teardown()
    return {
        "add_s": t1 - t0,
        "log_return_s": t2 - t1,
        "wait_s": None,
        "staged_s": t1 - t0,
        "log_no_finish_s": t2 - t0,
        "stored_s": t3 - t0,
        "finish_s": t3 - t2,
        "through_finish_s": t3 - t0,
        "version": _safe(lambda: art.version),
        "staged_files": len(staged),
        "wait_error": wait_error,
        "stored_def": "wandb.Artifact() + add_dir() (copies + MD5s into staging) + run.log_artifact() + run.finish()",
    }


def wandb_download(d, root, o):
    """wandb offline has no local read path for artifacts: run.use_artifact raises in
    offline mode and wandb.Api() talks to a server only. The attempt is made (and
    fails) so that the report carries wandb's own error."""
    import wandb

    run = wandb.init(project=PROJECT, dir=d)
    try:
        t0 = pc()
        a = run.use_artifact(f"{NAME}:latest")
        a.download(root)
        t1 = pc()
    finally:
        run.finish()
        wandb.teardown()
    return {"total_s": t1 - t0, "timed": "run.use_artifact('data:latest').download(ROOT)"}


# ---------------------------------------------------------------- MLflow


def _mlflow_uri(d):
    return "sqlite:///" + os.path.join(d, "mlflow.db")


def mlflow_log(src, d, o):
    """MLflow: mlflow.log_artifacts(src) in an active run: copies every file into the
    run's artifact folder (local artifact store under <d>); synchronous. stored_s ends
    when log_artifacts returns. MLflow has no artifact versions or deduplication: a
    second log is a second full copy under the new run."""
    import mlflow

    mlflow.set_tracking_uri(_mlflow_uri(d))
    if mlflow.get_experiment_by_name(PROJECT) is None:
        mlflow.create_experiment(PROJECT, artifact_location="file://" + os.path.join(d, "mlartifacts"))
    mlflow.set_experiment(PROJECT)
    run = mlflow.start_run()
    t0 = pc()
    mlflow.log_artifacts(src)
    t1 = pc()
    mlflow.end_run()
    t2 = pc()
    return {
        "add_s": None,  # MLflow has no artifact object: log_artifacts is the whole operation
        "log_return_s": t1 - t0,
        "wait_s": None,
        "stored_s": t1 - t0,
        "finish_s": t2 - t1,
        "through_finish_s": t2 - t0,
        "version": run.info.run_id,
        "run_id": run.info.run_id,
        "artifact_uri": run.info.artifact_uri,
        "stored_def": "mlflow.log_artifacts(SRC) (synchronous copy)",
    }


def mlflow_download(d, root, o):
    """MLflow: mlflow.artifacts.download_artifacts(run_id=<the second run>, dst_path=root)
    (a copy from the local artifact store: MLflow has no separate cache)."""
    import mlflow

    mlflow.set_tracking_uri(_mlflow_uri(d))
    t0 = pc()
    mlflow.artifacts.download_artifacts(run_id=o["run_id"], artifact_path="", dst_path=root)
    t1 = pc()
    return {"total_s": t1 - t0, "timed": "mlflow.artifacts.download_artifacts(run_id=RUN, dst_path=ROOT)"}


# ---------------------------------------------------------------- Trackio


def trackio_log(src, d, o):
    """Trackio (local): trackio.Artifact + add_dir (only lists the files) +
    trackio.log_artifact (synchronous: reads each file once, SHA-256 while copying it
    into <TRACKIO_DIR>/artifacts/bench/blobs/sha256/, dropping the copy when the blob
    already exists, then commits the version to SQLite) + art.wait() (a documented
    no-op). stored_s ends when wait() returns."""
    import trackio

    trackio.init(project=PROJECT)
    t0 = pc()
    art = trackio.Artifact(NAME, type=TYPE)
    art.add_dir(src)
    t1 = pc()
    trackio.log_artifact(art)
    t2 = pc()
    art.wait()
    t3 = pc()
    trackio.finish()
    t4 = pc()
    return {
        **_phases(t0, t1, t2, t3, t4),
        "numbered_s": t3 - t0,  # log_artifact commits the version before it returns
        "version": art.version,
        "stored_def": "trackio.Artifact() + add_dir() + trackio.log_artifact() + art.wait() (no-op)",
    }


def trackio_download(d, root, o):
    """Trackio: trackio.use_artifact('data:latest') + .download(root) (copies from its
    local content-addressed store). Trackio has no reader without a run, so
    trackio.init(project) comes first, untimed, and trackio.finish() after."""
    import trackio

    trackio.init(project=PROJECT)
    try:
        t0 = pc()
        a = trackio.use_artifact(f"{NAME}:latest")
        t1 = pc()
        a.download(root)
        t2 = pc()
    finally:
        trackio.finish()
    return {"resolve_s": t1 - t0, "download_s": t2 - t1, "total_s": t2 - t0, "version": a.version,
            "timed": "trackio.use_artifact('data:latest') + .download(ROOT) (after an untimed trackio.init)"}


OPS = {
    "tracklet": (tracklet_log, tracklet_download),
    "wandb": (wandb_log, wandb_download),
    "mlflow": (mlflow_log, mlflow_download),
    "trackio": (trackio_log, trackio_download),
}


def hash_tracklet(paths):
    """tracklet's hashing alone: tracklet.artifacts.storage.hash_files(paths), no digest cache."""
    from tracklet.artifacts.storage import hash_files

    c0, t0 = time.process_time(), pc()
    digests = hash_files(paths)
    t1, c1 = pc(), time.process_time()
    return {"hash_s": t1 - t0, "cpu_s": c1 - c0, "files": len(digests)}
