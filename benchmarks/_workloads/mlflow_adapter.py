"""MLflow with its default local backend (SQLite, sqlite:///<dir>/mlflow.db).

Fluent API as users write it: set_experiment + start_run + log_params for init,
log_metrics(dict, step=i) per step (synchronous, the default), end_run to finish.
Read back through MlflowClient().get_metric_history(run_id, key).
"""

import os

from ._disk import sqlite_parts, tree_size

NAME = "mlflow"
MODULE = "mlflow"
READ_API = "mlflow.MlflowClient().get_metric_history(run_id, key)"
STORE_DESC = "SQLite via SQLAlchemy: one row per (run, key, step) in `metrics`, plus `latest_metrics`"

NOTES = (
    "Default (synchronous) logging: every log_metrics() call is a database transaction through SQLAlchemy, "
    "so the per-call cost is milliseconds and the long runs are cut short by their time budget.",
    "The first run in a new store creates the schema (Alembic migrations): see the 'new store' rows.",
    "MLflow 3 refuses the old ./mlruns file store unless MLFLOW_ALLOW_FILE_STORE=true; SQLite is its default.",
)

_mlflow = None


def _mod():
    global _mlflow
    if _mlflow is None:
        import mlflow

        _mlflow = mlflow
    return _mlflow


def _uri(d):
    return "sqlite:///" + os.path.join(d, "mlflow.db")


def env(d):
    return {
        "MLFLOW_TRACKING_URI": _uri(d),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    }


def empty_run_code(d):
    return (
        "import mlflow\n"
        f"mlflow.set_tracking_uri({_uri(d)!r})\n"
        "mlflow.set_experiment('bench')\n"
        "mlflow.start_run()\n"
        "mlflow.end_run()\n"
    )


def init(project, d, config):
    mlflow = _mod()
    mlflow.set_tracking_uri(_uri(d))
    mlflow.set_experiment(project)
    run = mlflow.start_run()
    if config:
        mlflow.log_params(config)
    return run


def log_fn(run):
    return _mod().log_metrics


def finish(run):
    _mod().end_run()


def run_id(run):
    return run.info.run_id


def _client(d):
    return _mod().MlflowClient(tracking_uri=_uri(d))


def count_points(d, project, rid, keys):
    c = _client(d)
    return sum(len(c.get_metric_history(rid, k)) for k in keys)


def read_metric(d, project, rid, key):
    return len(_client(d).get_metric_history(rid, key))


def disk(d):
    return dict(sqlite_parts(os.path.join(d, "mlflow.db")), total=tree_size(d))


def settle(d, timeout=120.0):
    return 0.0  # no background work outlives the process


def teardown():
    pass
