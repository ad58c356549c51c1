"""With OTEL_EXPORTER_OTLP_ENDPOINT set, a run exports one trace over OTLP/HTTP: the run's
span with a child span per step attempt (a failed attempt marked as an error)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from monitoring_helpers import write

WATCHED = """\
    apiVersion: ragline/v1
    name: traced
    defaults: {retry_delay_seconds: 0, cache: false}
    steps:
      - id: load
        uses: progress
        with: {items: 3}
      - id: shaky
        uses: flaky
        retries: 1
        with: {log: attempts.log, failures: 1}
    """


@pytest.fixture
def collector() -> Iterator[tuple[str, list[bytes]]]:
    """An OTLP/HTTP trace collector on loopback that keeps every request body."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            if self.path == "/v1/traces":
                bodies.append(self.rfile.read(length))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()


def spans(bodies: list[bytes]) -> list[Any]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    found = []
    for body in bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                found.extend(scope.spans)
    return found


def attributes(span: Any) -> dict[str, Any]:
    out = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value"))
    return out


def test_a_run_exports_a_trace_with_a_span_per_step_attempt(
    tmp_path: Path,
    prefect: str,
    cli: Any,
    plugin_env: dict[str, str],
    collector: tuple[str, list[bytes]],
) -> None:
    endpoint, bodies = collector
    env = {**plugin_env, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": "rag-test"}
    result = cli("run", str(write(tmp_path, WATCHED)), "--json", env=env)
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["flow_run_id"]
    assert '"event"' not in result.stderr  # text logs stay text; events went to the trace

    found = spans(bodies)
    by_name: dict[str, list[Any]] = {}
    for span in found:
        by_name.setdefault(span.name, []).append(span)
    assert set(by_name) == {"run traced", "step load", "step shaky"}
    [run] = by_name["run traced"]
    assert attributes(run)["ragline.run_id"] == run_id
    assert attributes(run)["ragline.retries"] == 1
    failed, succeeded = sorted(by_name["step shaky"], key=lambda s: s.start_time_unix_nano)
    assert failed.status.code == 2 and "attempt 1 failed on purpose" in failed.status.message
    assert attributes(succeeded)["ragline.attempt"] == 2
    for span in (*by_name["step load"], failed, succeeded):
        assert span.trace_id == run.trace_id and span.parent_span_id == run.span_id
        assert attributes(span)["ragline.run_id"] == run_id
        assert span.end_time_unix_nano >= span.start_time_unix_nano
