"""OpenTelemetry traces of runs, steps and model calls, when an OTLP endpoint is configured.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set and the
`otel` extra is installed (`pip install 'ragline[otel]'`); the exporter reads the
standard OTEL_* variables (headers, protocol, service name). Spans are made from
the run events (`run.started`, `step.finished`, `step.failed`, `model.call`,
`run.finished`), so the compiler and the steps know nothing about tracing: one
trace per run, a child span per step attempt and per model call.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from ragline.monitoring.events import EVENTS_LOGGER

ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_lock = threading.Lock()
_handler: SpanHandler | None = None


def otel_configured() -> bool:
    return any(os.environ.get(name) for name in ENDPOINT_ENVS)


def install_otel() -> bool:
    """Start exporting spans (once per process); False when not configured or not installed."""
    global _handler
    if not otel_configured():
        return False
    with _lock:
        if _handler is not None:
            return True
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
        except ImportError:
            logging.getLogger("ragline").warning(
                "an OTLP endpoint is set but the OpenTelemetry SDK is not installed: "
                "pip install 'ragline[otel]' to export traces"
            )
            return False
        service = os.environ.get("OTEL_SERVICE_NAME", "ragline")
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _handler = SpanHandler(provider)
        events = logging.getLogger(EVENTS_LOGGER)
        events.addHandler(_handler)
        if not events.isEnabledFor(logging.INFO):
            events.setLevel(logging.INFO)
            events.propagate = False  # text logs stay as they were: events go to traces only
        return True


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


class SpanHandler(logging.Handler):
    """Turns run events into spans: the run's span is the parent of its steps and calls."""

    def __init__(self, provider: Any) -> None:
        super().__init__(logging.INFO)
        self.provider = provider
        self.tracer = provider.get_tracer("ragline")
        self.runs: dict[str, Any] = {}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit(record)
        except Exception:  # tracing must never break a run
            self.handleError(record)

    def _emit(self, record: logging.LogRecord) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        event = getattr(record, "event", "")
        run_id = getattr(record, "run_id", None) or ""
        fields: dict[str, Any] = dict(getattr(record, "fields", {}) or {})
        attributes = {
            f"ragline.{k}": v for k, v in fields.items() if isinstance(v, (str, bool, int, float))
        }
        attributes["ragline.run_id"] = run_id
        if step_id := getattr(record, "step_id", None):
            attributes["ragline.step_id"] = step_id
        end = _ns(record.created)
        if event == "run.started":
            self.runs[run_id] = self.tracer.start_span(
                f"run {fields.get('flow', '')}".strip(), start_time=end, attributes=attributes
            )
            return
        parent = self.runs.get(run_id)
        context = trace.set_span_in_context(parent) if parent is not None else None
        if event in ("step.finished", "step.failed"):
            start = end - _ns(float(fields.get("duration_s") or 0.0))
            span = self.tracer.start_span(
                f"step {step_id}", context=context, start_time=start, attributes=attributes
            )
            if event == "step.failed":
                span.set_status(Status(StatusCode.ERROR, record.getMessage()))
            span.end(end_time=end)
        elif event == "model.call":
            start = end - _ns(float(fields.get("latency_ms") or 0.0) / 1000)
            attributes.update(
                {
                    "gen_ai.request.model": str(fields.get("model") or ""),
                    "gen_ai.usage.input_tokens": int(fields.get("prompt_tokens") or 0),
                    "gen_ai.usage.output_tokens": int(fields.get("completion_tokens") or 0),
                }
            )
            span = self.tracer.start_span(
                f"model {fields.get('model') or ''}".strip(),
                context=context,
                start_time=start,
                attributes=attributes,
            )
            if fields.get("status") == "error":
                span.set_status(Status(StatusCode.ERROR, str(fields.get("error") or "")))
            span.end(end_time=end)
        elif event == "run.finished" and parent is not None:
            parent.set_attributes(attributes)
            if fields.get("failed"):
                parent.set_status(Status(StatusCode.ERROR, record.getMessage()))
            parent.end(end_time=end)
            del self.runs[run_id]
            self.provider.force_flush()
