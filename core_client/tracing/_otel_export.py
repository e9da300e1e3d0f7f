"""``SpanExporter``: OpenTelemetry spans into the local store, through the trace log like an op's calls.

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(tracklet.tracing.SpanExporter("my-llm-project")))

Works with the OpenTelemetry SDK's ``ReadableSpan`` (``opentelemetry-sdk``, which tracklet does not
require); the GenAI attributes map to calls as ``_otel`` says. For a server, point an OTLP/HTTP
exporter at it instead (``/v1/traces``).
"""

from __future__ import annotations

import json
import os

from ..wal._wal import RecordType
from ._otel import calls_from_spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

__all__ = ["SpanExporter"]


def _span_dict(span: Any) -> dict[str, Any]:
    ctx = span.context
    parent = getattr(span, "parent", None)
    status = getattr(span, "status", None)
    code = getattr(getattr(status, "status_code", None), "value", 0)
    return {
        "trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}",
        "parent_span_id": f"{parent.span_id:016x}" if parent is not None else None,
        "name": span.name, "start": span.start_time or 0, "end": span.end_time or span.start_time or 0,
        "attributes": dict(span.attributes or {}),
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in getattr(span, "events", ()) or ()],
        "status": {"code": code, "message": getattr(status, "description", None)},
    }


class SpanExporter:
    """An OpenTelemetry ``SpanExporter`` writing spans as calls of ``project`` (``init_tracing``'s store and settings)."""

    def __init__(self, project: str, dir: str | None = None) -> None:
        from ._setup import TRACER

        if TRACER is not None and TRACER.project == project and (dir is None or TRACER.root == dir):
            self._log = TRACER
        else:
            from .._settings import resolve_settings
            from ._log import TraceLog

            settings = resolve_settings({"project": project, "dir": dir})
            self._log = TraceLog(os.path.abspath(settings.dir), project, entity=settings.entity)
        self._carry: dict[str, Any] = {}  # children's usage waiting for their parent span

    def export(self, spans: Sequence[Any]) -> Any:
        """Write the spans' calls; returns the SDK's ``SpanExportResult.SUCCESS`` (or FAILURE for spans it cannot read)."""
        try:
            from opentelemetry.sdk.trace.export import SpanExportResult
        except ImportError:  # duck-typed spans without the SDK
            SpanExportResult = None
        try:
            resource = dict(getattr(getattr(spans[0], "resource", None), "attributes", {}) or {}) if spans else {}
            calls = calls_from_spans(resource, [_span_dict(s) for s in spans], self._carry)
        except Exception:
            return SpanExportResult.FAILURE if SpanExportResult else False
        for c in calls:
            self._log.write(RecordType.CALL_START, json.dumps(c["start"], default=str))
            self._log.write(RecordType.CALL_END, json.dumps(c["end"], default=str))
        return SpanExportResult.SUCCESS if SpanExportResult else True

    def shutdown(self) -> None:
        self._log.flush()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self._log.flush()
        return True
