"""Run every case of a suite against every target, `concurrency` at a time.

The whole command is one Prefect flow run (named after the suite) and each
case's workflow is a subflow of it, so the Prefect UI shows the suite, its
cases and their steps together, and the results table is an artifact on the
suite's run. One API connection serves the command (the caller chooses the API:
`ragline test` uses the local server like `ragline run`).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ragline.suites.assertions import Facts, evaluate
from ragline.suites.judges import Models
from ragline.suites.load import Suite
from ragline.suites.model import Case, RunFails
from ragline.suites.results import CaseResult, SuiteResult
from ragline.suites.targets import Target

Hook = Any  # a Prefect flow-state hook: (flow, flow_run, state) -> None


def jsonable(value: Any) -> Any:
    """Outputs as `ragline run --json` prints them: models dumped, arrays as lists."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def pick_output(outputs: dict[str, Any], wanted: str | None) -> Any:
    """The output assertions check: `output:` if named, else `answer`, else the only one."""
    if wanted is not None:
        return outputs.get(wanted)
    if "answer" in outputs:
        return outputs["answer"]
    if len(outputs) == 1:
        return next(iter(outputs.values()))
    return outputs


def _cost(records: list[Any]) -> float:
    from ragline.llm.usage import run_totals

    rows = run_totals([r.metrics for r in records if not r.cached])
    return float(rows[-1]["cost_usd"]) if rows else 0.0


def run_case(
    target: Target, case: Case, models: Models, on_running: list[Hook] | None = None
) -> CaseResult:
    """One case; a crash of ours fails the case (with its message), not the whole suite."""
    try:
        return _run_case(target, case, models, on_running or [])
    except Exception as exc:  # reported on the case, the other cases still run
        return CaseResult(
            target.name, case.name, False, 0.0, 0.0, error=f"{type(exc).__name__}: {exc}"
        )


def _run_case(target: Target, case: Case, models: Models, on_running: list[Hook]) -> CaseResult:
    """Compile and run the target for one case, then check every assertion."""
    from ragline.compiler.flow import StepRecord, compile_workflow
    from ragline.errors.classify import as_step_error

    finished: dict[str, Any] = {}

    def on_finish(records: list[StepRecord], outputs: dict[str, Any]) -> None:
        finished["records"] = records

    flow = compile_workflow(target.loaded, on_finish=on_finish)
    flow = flow.with_options(
        flow_run_name=f"{target.name} | {case.name}"[:200], on_running=on_running or None
    )
    started = time.perf_counter()
    state: Any = flow(**case.inputs, return_state=True)
    latency_ms = (time.perf_counter() - started) * 1000
    cost = _cost(finished.get("records", []))
    details = state.state_details
    run_id = str(details.flow_run_id) if details.flow_run_id else None
    if not state.is_completed():
        try:
            state.result(raise_on_failure=True)
            message = state.message or f"the run ended in state {state.name}"
        except Exception as exc:  # reported as the case's error
            message = str(as_step_error(exc, "(flow)"))
        if not any(isinstance(a, RunFails) for a in case.assertions):
            return CaseResult(
                target.name, case.name, False, latency_ms, cost, error=message, flow_run_id=run_id
            )
        facts = Facts(output=None, latency_ms=latency_ms, cost_usd=cost, error=message)
        verdicts = [evaluate(a, facts, models) for a in case.assertions]
        return CaseResult(
            target.name,
            case.name,
            all(v.passed for v in verdicts),
            latency_ms,
            cost,
            error=message,
            flow_run_id=run_id,
            assertions=verdicts,
            expected_failure=True,
        )
    outputs = jsonable(state.result())  # assertions see what `ragline run --json` prints
    output = pick_output(outputs, case.output)
    facts = Facts(output=output, latency_ms=latency_ms, cost_usd=cost)
    verdicts = [evaluate(a, facts, models) for a in case.assertions]
    return CaseResult(
        target.name,
        case.name,
        all(v.passed for v in verdicts),
        latency_ms,
        cost,
        output=output,
        flow_run_id=run_id,
        assertions=verdicts,
    )


def run_suite(
    suite: Suite,
    *,
    concurrency: int | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
    on_running: list[Hook] | None = None,
) -> SuiteResult:
    """Every (target, case) pair inside one parent Prefect flow run; results in suite order.

    `on_running`: Prefect hooks for the parent run and every case's run (`ragline test`
    records them, so a killed command's runs end CRASHED).
    """
    from prefect import Flow

    from ragline.suites.report import publish_artifacts

    models = Models(suite.spec, suite.directory)
    limit = concurrency or suite.spec.concurrency
    pairs = [(t, c) for t in suite.targets for c in suite.cases]

    run_ids: list[str] = []

    def body() -> list[CaseResult]:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        if ctx is not None and ctx.flow_run is not None:
            run_ids.append(str(ctx.flow_run.id))
        with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="ragline-test") as pool:
            # Copying the context makes each case's flow a subflow of this one.
            futures = [
                pool.submit(contextvars.copy_context().run, run_case, t, c, models, on_running)
                for t, c in pairs
            ]
            results = []
            for future in futures:
                result = future.result()
                if on_result is not None:
                    on_result(result)
                results.append(result)
        publish_artifacts(suite, results)
        return results

    parent: Flow[[], list[CaseResult]] = Flow(
        body,
        name=f"ragline-test-{suite.name}",
        description=f"ragline test {suite.path}",
        persist_result=False,
        log_prints=False,
        validate_parameters=False,
        on_running=on_running or None,
    )
    started = time.perf_counter()
    results = parent()
    elapsed = time.perf_counter() - started
    return SuiteResult(
        suite.name, str(suite.path), results, elapsed, run_ids[0] if run_ids else None
    )
