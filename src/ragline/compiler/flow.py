"""Compile a validated workflow into a Prefect flow: one task per step.

The flow body submits every step (`step_task`, `scheduling`), waits for them,
records what each did (`records`, `report`) and resolves the workflow's
`outputs:`; of a step nothing returns it learns only a summary (`outcomes`).
The step tasks themselves hold what Prefect cannot know: which
failures are worth retrying and when a result is reusable (`cache_keys`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prefect import Flow, get_run_logger
from prefect.context import FlowRunContext

from ragline.compiler.cache_keys import seed
from ragline.compiler.outcomes import Outcome, outcome
from ragline.compiler.placement import Placement
from ragline.compiler.plan import PlannedStep, plan, references
from ragline.compiler.records import StepRecord, StepResult
from ragline.compiler.run_context import compiled_context
from ragline.compiler.run_monitoring import start_run_monitoring
from ragline.compiler.scheduling import submit_step, task_runner
from ragline.compiler.step_facts import step_facts
from ragline.compiler.step_task import log_failure, make_commit_task, make_step_task
from ragline.compiler.values import run_scope
from ragline.errors import ErrorCategory, ParameterError, StepError
from ragline.errors.classify import as_step_error
from ragline.llm.redact import mask_secrets
from ragline.llm.secrets import register_workflow_secrets
from ragline.sdk.context import RunServices
from ragline.sdk.registry import Registry, default_registry
from ragline.spec.expressions import resolve
from ragline.spec.inputs import PYTHON_TYPES, check_parameters, has_default
from ragline.spec.model import Workflow
from ragline.validation.workflow import LoadedWorkflow

__all__ = ["StepRecord", "StepResult", "compile_workflow", "load_and_compile"]


def _signature(workflow: Workflow) -> inspect.Signature:
    params = []
    for name, spec in workflow.inputs.items():
        annotation = PYTHON_TYPES[spec.type]
        default = spec.default if has_default(spec) else inspect.Parameter.empty
        params.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
            )
        )
    return inspect.Signature(params, return_annotation=dict)


def compile_workflow(
    loaded: LoadedWorkflow,
    registry: Registry | None = None,
    *,
    on_finish: Callable[[list[StepRecord], dict[str, Any]], None] | None = None,
) -> Flow[..., dict[str, Any]]:
    """A Prefect flow named after the workflow, its inputs as parameters."""
    ctx = compiled_context(loaded, registry or default_registry())
    steps = plan(ctx.workflow)
    tasks = {p.spec.id: make_step_task(ctx, p) for p in steps}
    commits = {
        p.spec.id: make_commit_task(ctx, p)
        for p in steps
        if ctx.registry.get(p.spec.uses).commit is not None
    }
    workflow = ctx.workflow

    def body(**params: Any) -> dict[str, Any]:
        try:
            inputs = check_parameters(workflow, params)
        except ParameterError as err:
            raise StepError(
                str(err), category=ErrorCategory.INPUT, retryable=False, step_id="(inputs)"
            ) from None
        flow_ctx = FlowRunContext.get()
        run_id = str(flow_ctx.flow_run.id) if flow_ctx and flow_ctx.flow_run else "local"
        start_run_monitoring(workflow, run_id)
        register_workflow_secrets(workflow)
        futures: dict[str, Any] = {}
        placement = Placement.of(flow_ctx.task_runner if flow_ctx else None)
        try:
            for p in steps:
                spec = p.spec
                step_type = ctx.registry.get(spec.uses)
                futures[spec.id] = submit_step(
                    ctx,
                    tasks[spec.id],
                    p,
                    futures,
                    commits.get(spec.id),
                    placement,
                    inputs=inputs,
                    seed=seed(ctx, p, step_type, inputs),
                    run_id=run_id,
                )
            # The driver holds futures and small summaries: only the outputs `outputs:`
            # reads come back to it (see `outcomes`), never the vectors in between.
            read = read_by_outputs(workflow)
            outcomes = {sid: outcome(f, full=sid in read) for sid, f in futures.items()}
            results: dict[str, StepResult] = {}
            failure: StepError | None = None
            for sid, done in outcomes.items():
                if done.completed and done.result is not None:
                    results[sid] = done.result
                elif not done.completed and failure is None:
                    failure = _failure_of(sid, done)
            records = [_record(p, outcomes[p.spec.id], ctx.services(run_id)) for p in steps]
            outputs: dict[str, Any] = {}
            if failure is None:
                try:
                    outputs = _outputs(
                        workflow, {k: v for k, v in results.items() if k in read}, inputs
                    )
                except Exception as exc:
                    failure = as_step_error(exc, "(outputs)")
                    log_failure(get_run_logger(), failure)
            if on_finish is not None:
                on_finish(records, outputs)
            _publish(workflow, records, run_id)
            if failure is not None:
                raise failure
            return outputs
        finally:
            ctx.close_run(run_id)

    body.__signature__ = _signature(workflow)  # type: ignore[attr-defined]
    body.__annotations__ = {n: PYTHON_TYPES[s.type] for n, s in workflow.inputs.items()} | {
        "return": dict
    }
    body.__name__ = workflow.name.replace("-", "_").replace(".", "_")
    body.__doc__ = workflow.description or f"ragline workflow {workflow.name}"

    return Flow(
        body,
        name=workflow.name,
        flow_run_name=_run_name(workflow.name),
        description=workflow.description,
        task_runner=task_runner(workflow, len(steps)),
        validate_parameters=False,
        persist_result=False,
        log_prints=False,
    )


def _run_name(workflow_name: str) -> Callable[[], str]:
    """Runs named after their workflow and start time (UTC), readable in the UI's run list."""

    def name() -> str:
        from datetime import UTC, datetime

        return f"{workflow_name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"

    return name


def _failure_of(step_id: str, done: Outcome) -> StepError:
    """The StepError of a failed task run (a timeout or crash becomes one here, and is logged)."""
    if isinstance(done.error, Exception):
        error = as_step_error(done.error, step_id)
        if error is not done.error:
            log_failure(get_run_logger(), error)
        return error
    return StepError(
        f"the step ended in state {done.state}: {done.message}",
        category=ErrorCategory.INFRASTRUCTURE,
        step_id=step_id,
    )


def _record(p: PlannedStep, done: Outcome, services: RunServices) -> StepRecord:
    from ragline.llm.usage import with_earlier_attempts

    result = done.result
    facts = step_facts(services, p.spec.id)
    if result is not None:
        metrics = with_earlier_attempts(result.metrics, facts.failed_usage, p.spec.id)
    else:
        earlier = facts.failed_usage[: -len(facts.failed_metrics.get("model_usage", [])) or None]
        metrics = with_earlier_attempts(facts.failed_metrics, earlier, p.spec.id)
    return StepRecord(
        step_id=p.spec.id,
        uses=p.spec.uses,
        state=done.state,
        duration_s=None if done.cached or result is None else result.duration_s,
        cached=done.cached,
        # A step that ran on another process recorded its facts there; its result says.
        retries=max(0, (result.attempt if result and not done.cached else facts.attempts) - 1),
        metrics=metrics,
    )


def read_by_outputs(workflow: Workflow) -> set[str]:
    """The steps whose output the run returns: those `outputs:` reads, else the last ones."""
    if workflow.outputs:
        return {r.name for r in references(workflow.outputs) if r.kind == "steps"}
    downstream = {d for s in plan(workflow) for d in s.after}
    return {s.id for s in workflow.steps if s.id not in downstream}


def _outputs(
    workflow: Workflow, results: dict[str, StepResult], inputs: dict[str, Any]
) -> dict[str, Any]:
    """`outputs:` resolved like a step's `with:`; without it, the outputs of the last steps."""
    outputs = {k: v.output for k, v in results.items()}
    scope = run_scope(inputs, outputs, workflow.secret_env)
    if workflow.outputs:
        return {k: mask_secrets(resolve(v, scope)) for k, v in workflow.outputs.items()}
    downstream = {d for s in plan(workflow) for d in s.after}
    return {sid: r.output for sid, r in results.items() if sid not in downstream}


def _publish(workflow: Workflow, records: list[StepRecord], run_id: str) -> None:
    from ragline.compiler.report import publish_run_summary

    publish_run_summary(workflow, records, run_id=run_id)


def load_and_compile(
    path: str | Path, registry: Registry | None = None
) -> Flow[..., dict[str, Any]]:
    from ragline.validation.workflow import load_workflow

    return compile_workflow(load_workflow(path, registry), registry)
