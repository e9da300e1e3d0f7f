"""Reading traced calls: filters, the slowest of an op, one trace's calls, feedback (SQL of ``SqlStore``)."""

from __future__ import annotations

import json

from ..._errors import UsageError
from .._interface import CALL_FILTERS as _NAMES
from .._interface import CALL_ORDERS as _ORDER_NAMES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._reader import Reader

__all__ = ["CALL_FILTERS", "ORDERS", "call_docs", "feedback_docs"]

_COLUMNS = (
    "c.id, c.trace_id, c.parent_id, p.name, p.entity, c.op_name, c.op_version, c.kind, c.run_id, c.status, c.started_at, "
    "c.ended_at, c.latency_ms, c.thread, c.task, c.inputs, c.output, c.exception, c.attributes, c.usage, c.summary, "
    "c.prompt_tokens, c.completion_tokens, c.total_tokens, c.cost"
)
_FIELDS = (
    "id", "trace_id", "parent_id", "project", "entity", "op_name", "op_version", "kind", "run_id", "status", "started_at",
    "ended_at", "latency_ms", "thread", "task", "inputs", "output", "exception", "attributes", "usage", "summary",
    "prompt_tokens", "completion_tokens", "total_tokens", "cost",
)
_JSON = ("inputs", "output", "exception", "attributes", "usage", "summary")

# ``calls()`` filter -> SQL condition (parameters named as the filter)
CALL_FILTERS = {
    "op": "c.op_name = :op",
    "trace_id": "c.trace_id = :trace_id",
    "parent_id": "c.parent_id = :parent_id",
    "run_id": "c.run_id = :run_id",
    "status": "c.status = :status",
    "kind": "c.kind = :kind",
    "since": "c.started_at >= :since",
    "until": "c.started_at < :until",
    "min_latency_ms": "c.latency_ms >= :min_latency_ms",
    "max_latency_ms": "c.latency_ms <= :max_latency_ms",
    "min_tokens": "c.total_tokens >= :min_tokens",
    "min_cost": "c.cost >= :min_cost",
    "roots": None,  # True: only calls without a parent
    "feedback": "EXISTS (SELECT 1 FROM call_feedback f WHERE f.call_id = c.id AND f.kind = :feedback)",
    # a prompt version in the summary's "prompts" (JSON text: the quoted "name:vN"); "name" alone: any version
    "prompt": "c.summary LIKE :prompt ESCAPE '!'",
}
ORDERS = {
    "started_at": "c.started_at, c.id", "-started_at": "c.started_at DESC, c.id DESC",
    "latency_ms": "c.latency_ms, c.id", "-latency_ms": "c.latency_ms DESC, c.id",
    "total_tokens": "c.total_tokens, c.id", "-total_tokens": "c.total_tokens DESC, c.id",
    "cost": "c.cost, c.id", "-cost": "c.cost DESC, c.id",
    "op_name": "c.op_name, c.started_at, c.id", "-op_name": "c.op_name DESC, c.started_at, c.id",
    "status": "c.status, c.started_at, c.id", "-status": "c.status DESC, c.started_at, c.id",
}


assert tuple(CALL_FILTERS) == _NAMES and tuple(ORDERS) == _ORDER_NAMES, "the store interface names each filter and order"


def _doc(row: tuple[Any, ...], decoded: bool) -> dict[str, Any]:
    doc = dict(zip(_FIELDS, row))
    for k in _JSON:
        v = doc[k]
        if isinstance(v, str):
            doc[k] = json.loads(v)
    return doc


def _prompt_pattern(uri: Any) -> str:
    """The LIKE pattern of the ``prompt`` filter: ``"qa:v1"`` quoted as JSON holds it, ``qa`` any ``"qa:v...``."""
    if not isinstance(uri, str) or not uri or '"' in uri or "\\" in uri:
        raise UsageError(f"calls(): the prompt filter is a published prompt's 'name:vN' (or 'name'), got {uri!r}")
    text = uri.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f'%"{text}"%' if ":" in uri else f'%"{text}:v%'


def call_docs(
    q: Reader, project: str | None, entity: str | None, filters: dict[str, Any], order: str = "started_at",
    limit: int | None = None, offset: int = 0, call_id: str | None = None,
) -> list[dict[str, Any]]:
    """Calls as documents (the store interface's call shape), filtered and ordered."""
    where, params = [], {}
    if call_id is not None:
        where.append("c.id = :call_id")
        params["call_id"] = call_id
    if project is not None:
        where.append("p.name = :project AND p.entity = :entity")
        params["project"], params["entity"] = project, entity or ""
    for name, value in filters.items():
        if name not in CALL_FILTERS:
            raise UsageError(f"calls(): unknown filter {name!r}; filters are {', '.join(sorted(CALL_FILTERS))}")
        if value is None:
            continue
        if name == "roots":
            if value:
                where.append("c.parent_id IS NULL")
            continue
        if name == "prompt":
            value = _prompt_pattern(value)
        where.append(CALL_FILTERS[name])
        params[name] = value
    if order not in ORDERS:
        raise UsageError(f"calls(): order={order!r} is not one of {', '.join(ORDERS)}")
    sql = f"SELECT {_COLUMNS} FROM calls c JOIN projects p ON p.id = c.project_id"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if order.startswith("-") and order != "-started_at":
        sql += f" AND c.{order[1:]} IS NOT NULL" if where else f" WHERE c.{order[1:]} IS NOT NULL"
    sql += f" ORDER BY {ORDERS[order]}"
    if limit is not None:
        sql += " LIMIT :limit OFFSET :offset"
        params["limit"], params["offset"] = int(limit), int(offset)
    return [_doc(r, q.json_decoded) for r in q.all(sql, **params)]


def feedback_docs(q: Reader, call_id: str) -> list[dict[str, Any]]:
    rows = q.all(
        "SELECT id, call_id, kind, name, value, creator, created_at FROM call_feedback WHERE call_id = :call_id ORDER BY id", call_id=call_id
    )
    return [
        {"id": r[0], "call_id": r[1], "kind": r[2], "name": r[3], "value": json.loads(r[4]), "creator": r[5], "created_at": r[6]}
        for r in rows
    ]
