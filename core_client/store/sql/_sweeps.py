"""Sweeps in the SQL store: the sweep rows and the trials agents claim, each claim one transaction.

Coordination is written directly, not through a run's log: a claim must see every other claim, so
it runs in a write transaction (SQLite's ``BEGIN IMMEDIATE``, which serialises processes on one
file; PostgreSQL writers of one sweep take turns on an advisory lock). A run's outcome (state,
summary) still arrives through its log as every run's does; reads join it to its trial by run id.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from ..._errors import UsageError
from . import _schema as S
from ._engine import write_transaction
from ._reader import Reader, from_json
from ._sql import project_id_for

__all__ = ["SWEEP_STATES", "claim_trial", "create_sweep", "list_sweeps", "read_sweep", "set_sweep_state", "update_trial"]

SWEEP_STATES = ("running", "paused", "finished", "stopped", "cancelled")

_SWEEP_SQL = (
    "SELECT s.id, p.name, p.entity, s.name, s.config, s.state, s.created_at, s.updated_at, "
    "(SELECT COUNT(*) FROM sweep_trials t WHERE t.sweep_id = s.id AND t.status = 'active') "
    "FROM sweeps s JOIN projects p ON p.id = s.project_id"
)
_TRIAL_SQL = (
    "SELECT t.number, t.run_id, t.params, t.point, t.status, t.agent, t.host, t.pid, t.claimed_at, t.rungs, "
    "r.state, r.summary, r.heartbeat_at, r.pid, r.host "
    "FROM sweep_trials t LEFT JOIN runs r ON r.run_id = t.run_id WHERE t.sweep_id = :sid ORDER BY t.number"
)


def _sweep_doc(row: tuple[Any, ...]) -> dict[str, Any]:
    sid, project, entity, name, config, state, created, updated, trials = row
    return {"id": sid, "project": project, "entity": entity or "", "name": name, "config": from_json(config),
            "state": state, "created_at": created, "updated_at": updated, "trial_count": trials}


def _trial_doc(row: tuple[Any, ...]) -> dict[str, Any]:
    number, run_id, params, point, status, agent, host, pid, claimed, rungs, rstate, summary, beat, rpid, rhost = row
    return {
        "number": number, "run_id": run_id, "params": from_json(params), "point": point, "status": status,
        "agent": agent, "host": host, "pid": pid, "claimed_at": claimed, "rungs": from_json(rungs) or {},
        "run_state": rstate, "summary": from_json(summary) or {}, "heartbeat_at": beat, "run_pid": rpid, "run_host": rhost,
    }


def create_sweep(engine: Engine, sweep_id: str, project: str, entity: str | None, config: dict[str, Any], name: str | None) -> None:
    """Store a new sweep in state ``running``; ``UsageError`` when the id is taken."""
    now = time.time()
    with write_transaction(engine) as conn:
        if conn.execute(select(S.sweeps.c.id).where(S.sweeps.c.id == sweep_id)).first() is not None:
            raise UsageError(f"a sweep with id {sweep_id!r} already exists")
        pid = project_id_for(conn, entity, project)
        conn.execute(S.sweeps.insert().values(
            id=sweep_id, project_id=pid, name=name, config=config, state="running", created_at=now, updated_at=now,
        ))


def list_sweeps(q: Reader, project: str | None, entity: str | None, run_id: str | None = None) -> list[dict[str, Any]]:
    sql = _SWEEP_SQL + " WHERE 1 = 1"
    if project is not None:
        sql += " AND p.name = :project"
    if entity is not None:
        sql += " AND p.entity = :entity"
    if run_id is not None:
        sql += " AND EXISTS (SELECT 1 FROM sweep_trials r WHERE r.sweep_id = s.id AND r.run_id = :run_id)"
    found = q.all(sql + " ORDER BY s.created_at, s.id", project=project, entity=entity or "", run_id=run_id)
    return [_sweep_doc(r) for r in found]


def read_sweep(q: Reader, sweep_id: str) -> dict[str, Any] | None:
    """The sweep with its trials (each joined to its run's state and summary once the run is stored)."""
    row = q.one(_SWEEP_SQL + " WHERE s.id = :sid", sid=sweep_id)
    if row is None:
        return None
    doc = _sweep_doc(row)
    doc["trials"] = [_trial_doc(r) for r in q.all(_TRIAL_SQL, sid=sweep_id)]
    return doc


def _state_of(conn: Connection, sweep_id: str) -> tuple[str, dict[str, Any]]:
    row = conn.execute(select(S.sweeps.c.state, S.sweeps.c.config).where(S.sweeps.c.id == sweep_id)).first()
    if row is None:
        raise UsageError(f"no sweep {sweep_id!r} in this store; `tracklet sweep ls` lists them")
    return row[0], from_json(row[1])


def set_sweep_state(engine: Engine, sweep_id: str, state: str, only_from: list[str] | None = None) -> str:
    """Set the sweep's state (when it is one of ``only_from``, if given); returns the state it now has."""
    if state not in SWEEP_STATES:
        raise UsageError(f"a sweep's state is one of {', '.join(SWEEP_STATES)}; got {state!r}")
    with write_transaction(engine, lock=f"sweep:{sweep_id}") as conn:
        was, _ = _state_of(conn, sweep_id)
        if only_from is not None and was not in only_from:
            return was
        conn.execute(S.sweeps.update().where(S.sweeps.c.id == sweep_id).values(state=state, updated_at=time.time()))
    return state


def claim_trial(engine: Engine, sweep_id: str, trial: dict[str, Any]) -> dict[str, Any]:
    """Hand one point to an agent, atomically: ``{"claimed": True, "number": n}``, or ``claimed`` False with a ``reason``.

    Refused (``reason``): ``state`` (the sweep is not running: ``state`` says what it is), ``run_cap``
    (that many trials are alive), ``taken`` (a live trial holds this grid point, or the dead trial
    named by ``replaces`` was already handed out again): the caller reads the sweep again and retries.
    """
    t = S.sweep_trials.c
    with write_transaction(engine, lock=f"sweep:{sweep_id}") as conn:
        state, config = _state_of(conn, sweep_id)
        if state != "running":
            return {"claimed": False, "reason": "state", "state": state}
        if conn.execute(select(t.number).where(t.run_id == trial["run_id"])).first() is not None:
            raise UsageError(f"run id {trial['run_id']!r} is already a trial's: each claim names a new run id")
        replaces = trial.get("replaces")
        point = trial.get("point")
        if point is not None:
            holders = conn.execute(
                select(t.number).where(t.sweep_id == sweep_id, t.point == point, t.status == "active")
            ).scalars().all()
            if any(n != replaces for n in holders):
                return {"claimed": False, "reason": "taken"}
        if replaces is not None and conn.execute(
            select(t.number).where(t.sweep_id == sweep_id, t.number == replaces, t.status == "active")
        ).first() is None:
            return {"claimed": False, "reason": "taken"}
        alive = conn.execute(select(func.count()).where(t.sweep_id == sweep_id, t.status == "active")).scalar() or 0
        cap = config.get("run_cap")
        if cap is not None and alive - (replaces is not None) >= cap:
            return {"claimed": False, "reason": "run_cap"}
        if replaces is not None:
            conn.execute(S.sweep_trials.update().where(t.sweep_id == sweep_id, t.number == replaces).values(status="dead"))
        number = (conn.execute(select(func.max(t.number)).where(t.sweep_id == sweep_id)).scalar() or 0) + 1
        conn.execute(S.sweep_trials.insert().values(
            sweep_id=sweep_id, number=number, run_id=trial["run_id"], params=trial["params"], point=point,
            status="active", agent=trial.get("agent"), host=trial.get("host"), pid=trial.get("pid"),
            claimed_at=time.time(), rungs={},
        ))
    return {"claimed": True, "number": number}


def update_trial(engine: Engine, sweep_id: str, number: int, rungs: dict[str, float]) -> None:
    """Add hyperband rung values (rung -> value) to a trial."""
    t = S.sweep_trials.c
    with write_transaction(engine, lock=f"sweep:{sweep_id}") as conn:
        found = conn.execute(select(t.rungs).where(t.sweep_id == sweep_id, t.number == number)).first()
        if found is None:
            raise UsageError(f"sweep {sweep_id!r} has no trial {number}")
        merged = {**(from_json(found[0]) or {}), **{str(k): float(v) for k, v in rungs.items()}}
        conn.execute(S.sweep_trials.update().where(t.sweep_id == sweep_id, t.number == number).values(rungs=merged))
