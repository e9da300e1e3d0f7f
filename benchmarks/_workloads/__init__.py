"""Workloads for benchmarks/core_compare.py: one adapter module per tool.

Each adapter (``<tool>_adapter.py``) exposes the same small interface, so the
child process in ``child.py`` runs an identical workload for every tool:

    NAME, MODULE, READ_API, STORE_DESC
    env(d)                -> dict of environment variables for a store in d
    empty_run_code(d)     -> source of a `python -c` program: import, init, finish
    init(project, d, config) -> run
    log_fn(run)           -> callable(metrics_dict, step=i)
    finish(run)
    run_id(run)           -> str
    count_points(d, project, run_id, keys) -> int   (full read via the tool's reader)
    read_metric(d, project, run_id, key)   -> int   (points of one metric)
    disk(d)               -> {"store": bytes, ..., "total": bytes}
    settle(d, timeout)    wait for background work that outlives the process; -> seconds
    teardown()            (stop helper processes; may be a no-op)

Adapters import their tool lazily (inside functions) so the orchestrator can
load them without importing any tracker.
"""

TOOLS = ("tracklet", "wandb", "mlflow", "trackio")


def load(tool):
    import importlib

    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r}; known: {', '.join(TOOLS)}")
    return importlib.import_module(f"_workloads.{tool}_adapter")
