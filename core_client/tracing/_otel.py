"""OpenTelemetry spans as calls: OTLP (protobuf or JSON) decoded without the OpenTelemetry packages, and
the GenAI semantic conventions mapped to a call's fields.

What maps (OpenTelemetry GenAI conventions, and what OpenLLMetry and OpenInference emit):

    call            span
    id, trace_id    span id, trace id (hex)
    parent_id       parent span id
    op_name         span name
    started/ended   start/end time
    status          status code 2 -> error (exception from the span's ``exception`` event, else the status message)
    inputs          gen_ai.input.messages, gen_ai.prompt.N.{role,content}, input.value, llm.input_messages...
    output          gen_ai.output.messages, gen_ai.completion.N.{role,content}, output.value, llm.output_messages...
    usage by model  gen_ai.response.model (else gen_ai.request.model, llm.model_name) with
                    gen_ai.usage.input_tokens / prompt_tokens / llm.token_count.prompt and
                    gen_ai.usage.output_tokens / completion_tokens / llm.token_count.completion
    attributes      every span attribute, and the resource's under ``resource``

A span's usage is summed into its parent's when the child arrives first (spans end before their parents):
in one batch, and across batches for the local exporter; a server's store also sums what came in other
requests, in either order (``store.sql._calls.put_calls``). Cost comes from the price table.
"""

from __future__ import annotations

import json
import struct

from ._usage import add_usage, cost_of, merge_usage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

__all__ = ["calls_from_otlp_json", "calls_from_otlp_protobuf", "calls_from_spans"]

_CARRY_MAX = 100_000  # children's usage kept for parents not yet seen


# -- protobuf wire format: just what ExportTraceServiceRequest uses ----------------------------------
def _varint(buf: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, i
        shift += 7
        if shift > 63:
            raise ValueError("a protobuf varint longer than 10 bytes")


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of a message: ints for varints and fixed, bytes for length-delimited."""
    i, end = 0, len(buf)
    while i < end:
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(buf, i)
        elif wire == 1:
            v, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wire == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"protobuf wire type {wire} is not used by OTLP")
        if i > end:
            raise ValueError("a protobuf message ends inside a field")
        yield num, wire, v


def _any_value(buf: bytes) -> Any:
    for num, wire, v in _fields(buf):
        if num == 1:
            return v.decode("utf-8", "replace")
        if num == 2:
            return bool(v)
        if num == 3:
            return v - (1 << 64) if v >= 1 << 63 else v
        if num == 4:
            return struct.unpack("<d", v)[0]
        if num == 5:
            return [_any_value(x) for n, _, x in _fields(v) if n == 1]
        if num == 6:
            return dict(_key_value(x) for n, _, x in _fields(v) if n == 1)
        if num == 7:
            return v.hex()
    return None


def _key_value(buf: bytes) -> tuple[str, Any]:
    key, value = "", None
    for num, _, v in _fields(buf):
        if num == 1:
            key = v.decode("utf-8", "replace")
        elif num == 2:
            value = _any_value(v)
    return key, value


def _span_pb(buf: bytes) -> dict[str, Any]:
    span: dict[str, Any] = {"attributes": {}, "events": [], "status": {}}
    for num, _, v in _fields(buf):
        if num == 1:
            span["trace_id"] = v.hex()
        elif num == 2:
            span["span_id"] = v.hex()
        elif num == 4:
            span["parent_span_id"] = v.hex() or None
        elif num == 5:
            span["name"] = v.decode("utf-8", "replace")
        elif num == 7:
            span["start"] = struct.unpack("<Q", v)[0]
        elif num == 8:
            span["end"] = struct.unpack("<Q", v)[0]
        elif num == 9:
            k, val = _key_value(v)
            span["attributes"][k] = val
        elif num == 11:
            event: dict[str, Any] = {"attributes": {}}
            for n, _, x in _fields(v):
                if n == 2:
                    event["name"] = x.decode("utf-8", "replace")
                elif n == 3:
                    k, val = _key_value(x)
                    event["attributes"][k] = val
            span["events"].append(event)
        elif num == 15:
            for n, _, x in _fields(v):
                if n == 2:
                    span["status"]["message"] = x.decode("utf-8", "replace")
                elif n == 3:
                    span["status"]["code"] = x
    return span


def calls_from_otlp_protobuf(body: bytes) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """An OTLP/HTTP protobuf body (ExportTraceServiceRequest) as ``[(resource attributes, spans), ...]``."""
    out = []
    for num, _, rs in _fields(body):
        if num != 1:
            continue
        resource: dict[str, Any] = {}
        spans: list[dict[str, Any]] = []
        for n, _, v in _fields(rs):
            if n == 1:
                resource.update(_key_value(x) for m, _, x in _fields(v) if m == 1)
            elif n == 2:
                spans.extend(_span_pb(x) for m, _, x in _fields(v) if m == 2)
        out.append((resource, spans))
    return out


# -- OTLP JSON ------------------------------------------------------------------------------------
def _json_value(v: dict[str, Any]) -> Any:
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return bool(v["boolValue"])
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return float(v["doubleValue"])
    if "arrayValue" in v:
        return [_json_value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: _json_value(kv.get("value", {})) for kv in v["kvlistValue"].get("values", [])}
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def _json_attrs(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {kv["key"]: _json_value(kv.get("value") or {}) for kv in items or []}


def _json_id(value: Any, size: int) -> str | None:
    """An id of ``size`` bytes: OTLP JSON writes it in hex, the protobuf JSON mapping in base64; both read as hex."""
    if not value:
        return None
    value = str(value)
    if len(value) == 2 * size and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    import base64
    import binascii

    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{value[:40]!r} is not a span or trace id (hex or base64)") from None
    return raw.hex()


_STATUS = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


def _status_code(value: Any) -> int:
    return _STATUS.get(value, 0) if isinstance(value, str) and not value.isdigit() else int(value or 0)


def calls_from_otlp_json(body: bytes) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """An OTLP/HTTP JSON body as ``[(resource attributes, spans), ...]``."""
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("an OTLP JSON body is an object with resourceSpans")
    out = []
    for rs in doc.get("resourceSpans") or []:
        resource = _json_attrs((rs.get("resource") or {}).get("attributes"))
        spans = []
        for ss in rs.get("scopeSpans") or []:
            for s in ss.get("spans") or []:
                spans.append({
                    "trace_id": _json_id(s.get("traceId"), 16), "span_id": _json_id(s.get("spanId"), 8),
                    "parent_span_id": _json_id(s.get("parentSpanId"), 8), "name": s.get("name") or "span",
                    "start": int(s.get("startTimeUnixNano") or 0), "end": int(s.get("endTimeUnixNano") or 0),
                    "attributes": _json_attrs(s.get("attributes")),
                    "events": [{"name": e.get("name"), "attributes": _json_attrs(e.get("attributes"))} for e in s.get("events") or []],
                    "status": {"code": _status_code((s.get("status") or {}).get("code")), "message": (s.get("status") or {}).get("message")},
                })
        out.append((resource, spans))
    return out


# -- spans -> calls --------------------------------------------------------------------------------
def _first(attrs: dict[str, Any], *names: str) -> Any:
    for n in names:
        if attrs.get(n) is not None:
            return attrs[n]
    return None


def _indexed(attrs: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``prefix.0.role``, ``prefix.0.content``, ... (OpenLLMetry) as a list of dicts."""
    found: dict[int, dict[str, Any]] = {}
    for k, v in attrs.items():
        if k.startswith(prefix + "."):
            idx, _, field = k[len(prefix) + 1:].partition(".")
            if idx.isdigit() and field:
                found.setdefault(int(idx), {})[field] = v
    return [found[i] for i in sorted(found)]


def _maybe_json(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def _io(attrs: dict[str, Any], side: str) -> Any:
    semconv = "gen_ai.input.messages" if side == "input" else "gen_ai.output.messages"
    old = "gen_ai.prompt" if side == "input" else "gen_ai.completion"
    if attrs.get(semconv) is not None:
        return {"messages": _maybe_json(attrs[semconv])}
    listed = _indexed(attrs, old) or _indexed(attrs, f"llm.{side}_messages")
    if listed:
        return {"messages": listed}
    if attrs.get(old) is not None:
        return {"messages": _maybe_json(attrs[old])}
    value = attrs.get(f"{side}.value")
    return None if value is None else {"value": _maybe_json(value)}


def calls_from_spans(
    resource: dict[str, Any], spans: list[dict[str, Any]], carry: dict[str, dict[str, dict[str, int]]] | None = None,
) -> list[dict[str, Any]]:
    """Each span as ``{"start": CALL_START payload, "end": CALL_END payload}`` (the trace log's shapes).

    A span's usage is its own plus its children's: spans end before their parents, so children met
    first (in this batch, or in an earlier one when ``carry`` is kept between batches) add theirs.
    """
    carry = {} if carry is None else carry
    rolled: dict[str, dict[str, dict[str, int]]] = {}
    for s in sorted(spans, key=lambda s: s.get("end") or s.get("start") or 0):
        if not s.get("span_id") or not s.get("trace_id"):
            raise ValueError("a span without a trace id or span id")
        a = s["attributes"]
        model = _first(a, "gen_ai.response.model", "gen_ai.request.model", "llm.model_name")
        prompt = _first(a, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
        completion = _first(a, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion")
        usage = carry.pop(s["span_id"], None) or {}
        if model is not None and (prompt is not None or completion is not None):
            add_usage(usage, str(model), int(prompt or 0), int(completion or 0))
        rolled[s["span_id"]] = usage
        parent = s.get("parent_span_id")
        if usage and parent:
            if len(carry) > _CARRY_MAX:  # parents that never came: forget the oldest
                carry.pop(next(iter(carry)))
            merge_usage(carry.setdefault(parent, {}), usage)
    out = []
    for s in spans:
        a = s["attributes"]
        error = s.get("status", {}).get("code") == 2
        start = {
            "id": s["span_id"], "trace": s["trace_id"], "parent": s.get("parent_span_id"), "op": s.get("name") or "span",
            "v": "otel", "t": s.get("start", 0) / 1e9, "run": None, "in": _io(a, "input") or {},
            "attrs": {**a, **({"resource": resource} if resource else {})},
        }
        end: dict[str, Any] = {"id": s["span_id"], "t": (s.get("end") or s.get("start", 0)) / 1e9, "status": "error" if error else "ok"}
        output = _io(a, "output")
        if output is not None:
            end["out"] = output
        if error:
            exc = next((e["attributes"] for e in s.get("events", []) if e.get("name") == "exception"), {})
            end["exc"] = {
                "type": exc.get("exception.type") or "Error", "message": exc.get("exception.message") or s["status"].get("message") or "",
                "traceback": exc.get("exception.stacktrace") or "",
            }
        u = rolled[s["span_id"]]
        if u:
            end["usage"], end["cost"] = u, cost_of(u)
        out.append({"start": start, "end": end})
    return out
