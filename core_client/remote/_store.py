"""``RemoteStore``: the store interface over a tracklet server's HTTP API, one method per route (docs/http-api.md).

Errors come back as the interface says: ``UsageError`` for what does not exist or was asked wrongly
(the server's message), ``StoreError`` when the server cannot be reached or refuses the key,
``SyncError`` for a log the server will not take. Reads are retried a few times on transient
failures (connection, 408/429/5xx); writes are not, except ``append_log`` which is idempotent.
"""

from __future__ import annotations

import json
import time
import zlib
from urllib.parse import quote

from .._errors import StoreError, SyncError, UsageError
from ..store._interface import CALL_FILTERS, Store, run_fields
from ._http import Client, RemoteError, backoff_delay
from ._wire import CURVES_TYPE, decode_curves

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

__all__ = ["RemoteStore"]

READ_TRIES = 3


def _q(part: Any) -> str:
    return quote(str(part), safe="")  # a name with "/" or ".." stays one path segment


def _whole(curves: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
    """Curves as the store gives them: the server leaves out ``min``/``max`` where they are ``y`` (full resolution)."""
    for c in curves.values():
        if isinstance(c, dict) and "y" in c and "min" not in c:
            c["min"] = c["max"] = c["y"]
    return curves


def _curves_of(r: Any, run_id: str | None = None) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """Curves from a response: float64 arrays when the server sends them (``_wire``), else its JSON
    (one run's: key -> curve, when ``run_id`` is given; else run id -> key -> curve)."""
    if r.headers.get("Content-Type", "").startswith(CURVES_TYPE):
        return decode_curves(r.content)
    found = r.json()
    if run_id is not None:
        return {run_id: _whole(found)}
    return {i: _whole(c) if isinstance(c, dict) else c for i, c in found.items()}


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class RemoteStore(Store):
    """The store of a tracklet server: ``RemoteStore("http://server:8080", api_key)``."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self._client = Client(base_url, api_key)
        self.location = self._client.base_url

    # -- plumbing ----------------------------------------------------------------------------------
    def _request(self, method: str, path: str, none_if_missing: bool = False, **kwargs: Any) -> Any:
        tries = READ_TRIES if method == "GET" else 1
        for attempt in range(tries):
            try:
                return self._client.request(method, path, **kwargs)
            except RemoteError as e:
                if e.transient and attempt + 1 < tries:
                    time.sleep(backoff_delay(attempt, hint=e.retry_after))
                    continue
                if e.status == 404 and none_if_missing:
                    return None
                raise self._error(e) from None
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, none_if_missing: bool = False, **kwargs: Any) -> Any:
        r = self._request(method, path, none_if_missing, **kwargs)
        return None if r is None else r.json()

    @staticmethod
    def _error(e: RemoteError) -> Exception:
        if e.status is None or e.transient or e.status in (401, 403):
            return StoreError(str(e))
        if e.status == 409:
            return SyncError(str(e))
        return UsageError(str(e))

    # -- projects and runs ---------------------------------------------------------------------------
    def projects(self, entity: str | None = None) -> list[dict[str, Any]]:
        return self._json("GET", "/projects", params=_params(entity=entity))

    def runs(self, project: str | None = None, entity: str | None = None,
             fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        params = _params(project=project, entity=entity)
        if fields is not None:
            params["fields"] = list(run_fields(fields))
        return self._json("GET", "/runs", params=params)

    def run(self, run_id: str) -> dict[str, Any] | None:
        return self._json("GET", f"/runs/{_q(run_id)}", none_if_missing=True)

    def edit_run(self, run_id: str, records: list[tuple[int, dict[str, Any]]]) -> None:
        self._request("POST", f"/runs/{_q(run_id)}/edits", json={"records": [[int(t), p] for t, p in records]})

    def delete_run(self, run_id: str) -> list[str]:
        self._request("DELETE", f"/runs/{_q(run_id)}")
        return []  # the server removes the blobs it may; none of its blobs are this client's to remove

    def problems(self, run_id: str | None = None) -> list[dict[str, Any]]:
        return self._json("GET", "/problems", params=_params(run_id=run_id))

    # -- history ---------------------------------------------------------------------------------------
    def keys(self, run_id: str) -> list[str]:
        return self._json("GET", f"/runs/{_q(run_id)}/keys")

    def history(
        self, run_id: str, keys: Sequence[str] | None = None, min_step: int | None = None, max_step: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Rows as the server streams them (NDJSON): memory stays flat however long the history."""
        if keys is not None and not list(keys):
            return  # no key asked for: no row (as SqlStore answers), not the route's "every key"
        params = _params(keys=list(keys) if keys else None, min_step=min_step, max_step=max_step)
        r = self._request("GET", f"/runs/{_q(run_id)}/history", params=params, stream=True)
        try:
            for line in r.iter_lines(chunk_size=1 << 16):
                if line:
                    yield json.loads(line)  # NaN / Infinity tokens read back as floats
        finally:
            r.close()

    def curves(
        self,
        run_id: str,
        keys: Sequence[str],
        min_step: int | None = None,
        max_step: int | None = None,
        points: int | None = None,
        x: str = "_step",
        min_x: float | None = None,
        max_x: float | None = None,
    ) -> dict[str, dict[str, list[Any]]]:
        params = _params(keys=list(keys), min_step=min_step, max_step=max_step, points=points, x=x, min_x=min_x, max_x=max_x)
        r = self._request("GET", f"/runs/{_q(run_id)}/curves", params=params, headers={"Accept": CURVES_TYPE})
        return _curves_of(r, run_id).get(run_id, {})

    def curves_of_runs(
        self,
        run_ids: Sequence[str],
        keys: Sequence[str],
        min_step: int | None = None,
        max_step: int | None = None,
        points: int | None = None,
        x: str = "_step",
        min_x: float | None = None,
        max_x: float | None = None,
    ) -> dict[str, dict[str, dict[str, list[Any]]]]:
        """One request for a chart of many runs (``POST /curves``: the ids in the body, not the URL)."""
        body = {"runs": list(run_ids), "keys": list(keys), "min_step": min_step, "max_step": max_step, "points": points, "x": x,
                "min_x": min_x, "max_x": max_x}
        r = self._request("POST", "/curves", json={k: v for k, v in body.items() if v is not None}, headers={"Accept": CURVES_TYPE})
        return _curves_of(r)

    def system_metrics(self, run_id: str, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        return self._json("GET", f"/runs/{_q(run_id)}/system", params=_params(keys=list(keys) if keys else None))

    def logs(self, run_id: str, after: int = 0) -> list[dict[str, Any]]:
        return self._json("GET", f"/runs/{_q(run_id)}/logs", params={"after": after})

    # -- rich values ---------------------------------------------------------------------------------------
    def media(self, run_id: str, key: str | None = None, step: int | None = None) -> list[dict[str, Any]]:
        return self._json("GET", f"/runs/{_q(run_id)}/media", params=_params(key=key, step=step))

    def media_steps(self, run_ids: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
        return self._json("POST", "/media/steps", json={"runs": list(run_ids)})

    def table_rows(
        self, run_id: str, key: str, step: int | None = None, idx: int = 0, offset: int = 0, limit: int = 100,
        sort: str | None = None, filter: str | None = None, search: str | None = None,
    ) -> dict[str, Any]:
        return self._json("GET", f"/runs/{_q(run_id)}/table", params=_params(
            key=key, step=step, idx=idx, offset=offset, limit=limit, sort=sort, filter=filter, q=search))

    # -- the write path ----------------------------------------------------------------------------------
    def log_position(self, run_id: str) -> dict[str, Any]:
        answer = self._json("GET", f"/runs/{_q(run_id)}/log")
        return {"offset": int(answer.get("offset") or 0), "log_id": answer.get("log_id")}

    def append_log(self, run_id: str, offset: int, data: bytes, log_id: str | None = None) -> int:
        return self._post_log(f"/runs/{_q(run_id)}/log", offset, data, log_id)

    def _post_log(self, path: str, offset: int, data: bytes, log_id: str | None = None) -> int:
        """POST log bytes from ``offset`` (gzipped), retrying what is transient; the offset the server holds after."""
        headers = {"X-Tracklet-Offset": str(offset), "Content-Encoding": "gzip", "Content-Type": "application/octet-stream"}
        if log_id:
            headers["X-Tracklet-Log-Id"] = log_id
        body = zlib.compress(data, 1, wbits=31)
        for attempt in range(READ_TRIES):  # idempotent by offset: a retry never doubles a record
            try:
                answer = self._client.json("POST", path, data=body, headers=headers)
                return int(answer["offset"])
            except RemoteError as e:
                if e.transient and attempt + 1 < READ_TRIES:
                    time.sleep(backoff_delay(attempt, hint=e.retry_after))
                    continue
                raise self._error(e) from None
        raise AssertionError("unreachable")

    # -- tracing ------------------------------------------------------------------------------------------
    def calls(
        self, project: str, entity: str | None = None, filters: dict[str, Any] | None = None,
        order: str = "started_at", limit: int | None = None, offset: int = 0,
    ) -> list[dict[str, Any]]:
        params = {k: ("true" if v is True else v) for k, v in (filters or {}).items() if v is not None and v is not False}
        unknown = set(params) - set(CALL_FILTERS)
        if unknown:
            raise UsageError(f"calls(): unknown filter {sorted(unknown)[0]!r}; filters are {', '.join(sorted(CALL_FILTERS))}")
        params.update(_params(project=project, entity=entity, order=order, limit=limit, offset=offset or None))
        return self._json("GET", "/calls", params=params)

    def call(self, call_id: str) -> dict[str, Any] | None:
        return self._json("GET", f"/calls/{_q(call_id)}", none_if_missing=True)

    def add_feedback(self, call_id: str, kind: str, value: Any, name: str | None = None, creator: str | None = None) -> dict[str, Any]:
        body = {"kind": kind, "value": value, **_params(name=name, creator=creator)}
        return self._json("POST", f"/calls/{_q(call_id)}/feedback", json=body)

    def feedback(self, call_id: str) -> list[dict[str, Any]]:
        return self._json("GET", f"/calls/{_q(call_id)}/feedback")

    def put_calls(self, project: str, entity: str | None, calls: list[dict[str, Any]]) -> int:
        body = {"project": project, "calls": calls, **_params(entity=entity)}
        return int(self._json("POST", "/calls", json=body)["stored"])

    def trace_log_position(self, log_id: str) -> dict[str, Any]:
        answer = self._json("GET", f"/traces/{_q(log_id)}/log")
        return {"offset": int(answer.get("offset") or 0), "project": None, "entity": None}

    def append_trace_log(self, log_id: str, offset: int, data: bytes) -> int:
        return self._post_log(f"/traces/{_q(log_id)}/log", offset, data)

    # -- artifacts, lineage and the registry ----------------------------------------------------------------
    def artifact(self, project: str, entity: str | None, name: str, alias: str) -> dict[str, Any] | None:
        return self._json("GET", f"/artifacts/{_q(project)}/{_q(name)}/{_q(alias)}", True, params=_params(entity=entity))

    def artifact_by_digest(self, project: str, entity: str | None, name: str, digest: str) -> dict[str, Any] | None:
        path = f"/artifacts/{_q(project)}/{_q(name)}/digest/{_q(digest)}"
        return self._json("GET", path, True, params=_params(entity=entity))

    def artifact_versions(self, project: str, entity: str | None, name: str) -> list[dict[str, Any]]:
        return self._json("GET", f"/artifacts/{_q(project)}/{_q(name)}", params=_params(entity=entity))

    def artifact_collections(self, project: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        return self._json("GET", "/artifact-collections", params=_params(project=project, type=type))

    def artifact_runs(self, version_id: int, kind: str) -> list[str]:
        return self._json("GET", f"/artifact-versions/{int(version_id)}/runs", params={"kind": kind})

    def run_artifacts(self, run_id: str, kind: str) -> list[dict[str, Any]]:
        return self._json("GET", f"/runs/{_q(run_id)}/artifacts", params={"kind": kind})

    def registered_models(self) -> list[dict[str, Any]]:
        return self._json("GET", "/registry")

    def registry_version(self, model: str, alias: str) -> dict[str, Any] | None:
        return self._json("GET", f"/registry/{_q(model)}/versions/{_q(alias)}", True)

    def registry_links(self, model: str) -> list[tuple[int, dict[str, Any]]]:
        return [(int(index), version) for index, version in self._json("GET", f"/registry/{_q(model)}/links")]

    def registry_aliases(self, model: str) -> dict[str, int]:
        return {k: int(v) for k, v in self._json("GET", f"/registry/{_q(model)}/aliases").items()}

    def registry_audit(self, model: str) -> list[dict[str, Any]]:
        return self._json("GET", f"/registry/{_q(model)}/audit")

    def link_artifact(self, version_id: int, model: str, aliases: list[str], actor: str) -> None:
        body = {"version_id": int(version_id), "aliases": list(aliases), "actor": actor}
        self._request("POST", f"/registry/{_q(model)}/links", json=body)

    def unlink_artifact(self, version_id: int, model: str, actor: str) -> None:
        self._request("DELETE", f"/registry/{_q(model)}/links/{int(version_id)}", params={"actor": actor})

    def delete_artifact(self, version_id: int, delete_aliases: bool) -> list[str]:
        params = {"delete_aliases": "true" if delete_aliases else "false"}
        return self._json("DELETE", f"/artifact-versions/{int(version_id)}", params=params)

    # -- sweeps ----------------------------------------------------------------------------------------------
    def create_sweep(
        self, sweep_id: str, project: str, entity: str | None, config: dict[str, Any], name: str | None = None
    ) -> dict[str, Any]:
        body = _params(id=sweep_id, project=project, entity=entity, config=config, name=name)
        return self._json("POST", "/sweeps", json=body)

    def sweeps(self, project: str | None = None, entity: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        return self._json("GET", "/sweeps", params=_params(project=project, entity=entity, run_id=run_id))

    def sweep(self, sweep_id: str) -> dict[str, Any] | None:
        return self._json("GET", f"/sweeps/{_q(sweep_id)}", none_if_missing=True)

    def set_sweep_state(self, sweep_id: str, state: str, only_from: list[str] | None = None) -> str:
        body = _params(state=state, only_from=only_from)
        return self._json("POST", f"/sweeps/{_q(sweep_id)}/state", json=body)["state"]

    def claim_trial(self, sweep_id: str, trial: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", f"/sweeps/{_q(sweep_id)}/trials", json=trial)

    def update_trial(self, sweep_id: str, number: int, rungs: dict[str, float]) -> None:
        self._request("POST", f"/sweeps/{_q(sweep_id)}/trials/{int(number)}/rungs", json={"rungs": rungs})

    # -- blobs (artifact files) ------------------------------------------------------------------------------
    def has_blob(self, digest: str) -> bool:
        return self._request("HEAD", f"/blobs/{_q(digest)}", none_if_missing=True) is not None

    def put_blob(self, digest: str, data: Any) -> None:
        self._request("PUT", f"/blobs/{_q(digest)}", data=data, headers={"Content-Type": "application/octet-stream"})

    def get_blob(self, digest: str) -> bytes:
        from ..artifacts.storage import CorruptBlobError, hash_bytes

        data = self._request("GET", f"/blobs/{_q(digest)}").content
        if len(digest) == 64 and hash_bytes(data) != digest:  # a BLAKE3 digest: checked here, as a local read checks it
            raise CorruptBlobError(f"blob {digest} from {self.location} does not match its digest")
        return data

    def blob_store(self) -> Any:
        """The server's blobs for downloads (presigned GETs where offered, else ``GET /blobs/{digest}``)."""
        from ._blobs import RemoteBlobStore

        return RemoteBlobStore(self._client)

    def presign(self, digests: Sequence[str], method: str) -> dict[str, str] | None:
        """Presigned URLs for ``digests`` where the blob store offers them (S3), else None."""
        answer = self._json("POST", "/blobs/presign", True, json={"digests": list(digests), "method": method})
        return None if answer is None else dict(answer.get("urls") or {})

    def close(self) -> None:
        self._client.close()
