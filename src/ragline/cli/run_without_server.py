"""A run whose Prefect server went away: keep the local result, say what was lost.

Prefect 3 sends task-run states as events, so steps keep running when the
API disappears; what fails is what must reach the server at the end: the
run-summary and model-usage artifacts and the flow run's final state. The
compiler hands the outputs to `on_finish` before publishing anything, so the
CLI still has them when the engine gives up, and prints them with an error
that lists what the server does not have.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

NOT_RECORDED = (
    "the run's final state, its artifacts (run summary, model usage) and the task-run "
    "states and log lines sent after the server went away"
)


@dataclass
class RunCapture:
    """`on_finish` callback of compile_workflow: what the run computed, kept locally."""

    finished: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)
    failed_steps: list[str] = field(default_factory=list)
    flow_run_id: str | None = None

    def __call__(self, records: list[Any], outputs: dict[str, Any]) -> None:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        if ctx is not None and ctx.flow_run is not None:
            self.flow_run_id = str(ctx.flow_run.id)
        self.finished = True
        self.outputs = outputs
        self.failed_steps = [r.step_id for r in records if r.state not in ("Completed", "Cached")]


def api_lost(exc: BaseException) -> bool:
    """True when the exception (or one it came from) is a failed connection to the API."""
    import httpx

    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, (httpx.TransportError, ConnectionError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def report_unrecorded(
    capture: RunCapture, exc: BaseException, url: str | None, *, as_json: bool, jsonable: Any
) -> int:
    """Print the local outputs (when the run got that far) and what the server lacks; exit 1."""
    where = f"the Prefect API at {url}" if url else "the Prefect API"
    if capture.finished and not capture.failed_steps:
        message = (
            f"{where} stopped answering during the run ({type(exc).__name__}: {exc}); every "
            f"step finished and the outputs were computed locally, but {NOT_RECORDED} were "
            "not recorded"
        )
    elif capture.finished:
        message = (
            f"{where} stopped answering during the run ({type(exc).__name__}: {exc}); steps "
            f"{', '.join(capture.failed_steps)} failed, and {NOT_RECORDED} were not recorded"
        )
    else:
        message = (
            f"{where} stopped answering before the run finished ({type(exc).__name__}: "
            f"{exc}); no outputs, and {NOT_RECORDED} were not recorded"
        )
    outputs = jsonable(capture.outputs)
    if as_json:
        print(
            json.dumps(
                {
                    "status": "unrecorded",
                    "flow_run_id": capture.flow_run_id,
                    "outputs": outputs if capture.finished else None,
                    "error": message,
                },
                indent=2,
            )
        )
    else:
        for key, value in outputs.items():
            print(f"{key}: {value if isinstance(value, str) else json.dumps(value, indent=2)}")
        print(f"error: {message}", file=sys.stderr)
        if capture.flow_run_id:
            print(
                f"  flow run: {capture.flow_run_id} (its state on the server is stale)",
                file=sys.stderr,
            )
    return 1
