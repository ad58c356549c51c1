"""Compile a validated workflow into a Prefect flow: one task per step.

Step options go straight to Prefect (retries, delays with jitter, timeout,
tags, cache policy); we add only what Prefect cannot know: which failures are
worth retrying, and a fingerprint that says when a step's result is reusable.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import Flow, Task, get_run_logger
from prefect.cache_policies import NO_CACHE, CachePolicy
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext, TaskRunContext
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import opaque
from prefect.utilities.timeout import timeout as step_clock

from ragline.compiler.failures import as_step_error
from ragline.compiler.fingerprint import content_digest, digest
from ragline.compiler.partitions import (
    CommittedFuture,
    Part,
    PartitionedFuture,
    joined,
    part_count,
    partition_of,
)
from ragline.compiler.plan import PlannedStep, env_values, plan
from ragline.compiler.values import resolve_with, run_scope
from ragline.errors import ErrorCategory, ParameterError, StepError
from ragline.llm.redact import mask_secrets
from ragline.llm.secrets import register_workflow_secrets
from ragline.monitoring.events import scope
from ragline.monitoring.run import start_run_monitoring
from ragline.monitoring.steps import step_facts, step_failed, step_finished
from ragline.spec.expressions import resolve
from ragline.spec.inputs import PYTHON_TYPES, check_parameters, has_default
from ragline.spec.model import StepSpec, Workflow
from ragline.spec.validate import LoadedWorkflow
from ragline.steps.base import AliasOf, StepType
from ragline.steps.context import RunInfo, RunServices, StepContext
from ragline.steps.registry import Registry, default_registry


@dataclass
class StepResult:
    """What a step task returns: the output plus what downstream fingerprints need."""

    output: Any
    fingerprint: str
    duration_s: float
    metrics: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1


@dataclass
class StepRecord:
    """One step's outcome in a run, for summaries and artifacts."""

    step_id: str
    uses: str
    state: str
    duration_s: float | None
    cached: bool
    retries: int = 0
    metrics: dict[str, Any] = field(default_factory=dict)


# A worker process keeps the services of this many recent runs of a workflow; older
# ones are closed (the run's own process closes its services when the run ends).
_WORKER_RUNS_KEPT = 4


@dataclass
class _Ctx:
    """What the tasks of one compiled workflow share.

    A step task that travels to a Dask worker process is pickled, and this with
    it: it pickles as the validated workflow alone (a few KB) and becomes, in
    each process, one `_Ctx` per workflow that builds that process's services
    (model router, caches, store connections) on first use and reuses them for
    every task of the run there. In the process that compiled it, it stays
    itself, so thread workers share the run's services.
    """

    loaded: LoadedWorkflow
    registry: Registry
    services_by_run: dict[str, RunServices] = field(default_factory=dict)
    travelled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def workflow(self) -> Workflow:
        return self.loaded.workflow

    def services(self, run_id: str) -> RunServices:
        with self._lock:
            services = self.services_by_run.get(run_id)
            if services is None:
                services = self.services_by_run[run_id] = RunServices()
                stale = list(self.services_by_run)[:-_WORKER_RUNS_KEPT] if self.travelled else []
                for old in stale:
                    self.services_by_run.pop(old).close()
            return services

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ctx_in_this_process, (self.loaded,))


_CTX_BY_WORKFLOW: dict[str, _Ctx] = {}
_CTX_BY_WORKFLOW_LOCK = threading.Lock()


def _workflow_key(loaded: LoadedWorkflow) -> str:
    return digest(str(loaded.path), loaded.workflow.model_dump(mode="json", by_alias=True))


def _ctx_in_this_process(loaded: LoadedWorkflow) -> _Ctx:
    """The `_Ctx` of a workflow in this process: the compiler's own, or one built here."""
    key = _workflow_key(loaded)
    with _CTX_BY_WORKFLOW_LOCK:
        ctx = _CTX_BY_WORKFLOW.get(key)
        if ctx is None:
            ctx = _CTX_BY_WORKFLOW[key] = _Ctx(loaded, Registry(), travelled=True)
            # A worker process masks the secrets its own environment resolves, too.
            register_workflow_secrets(loaded.workflow)
        return ctx


def _seed(ctx: _Ctx, planned: PlannedStep, step_type: StepType, inputs: dict[str, Any]) -> str:
    """The part of a step's key known before the run: type, config, inputs it reads, workflow.

    The workflow file is part of it: two workflows of one folder with the same
    step do not share its cached result (each has its own models and stores).
    """
    spec = planned.spec
    return digest(
        step_type.name,
        step_type.version,
        str(ctx.loaded.path.resolve()),
        ctx.workflow.name,
        spec.with_,
        {k: inputs.get(k) for k in sorted(planned.input_refs)},
        env_values(planned.env_refs),
    )


def _key(
    ctx: _Ctx,
    planned: PlannedStep,
    step_type: StepType,
    seed: str,
    upstream: dict[str, StepResult],
    inputs: dict[str, Any],
    services: RunServices,
    run: RunInfo,
) -> str:
    """The step's cache key: its seed, what stands behind the model aliases it names, the
    fingerprints of the steps whose output it reads (`needs` only orders), and its own hook."""
    spec = planned.spec
    extra = ""
    if step_type.fingerprint is not None:
        config = _config(ctx, spec, step_type, upstream, inputs)
        extra = step_type.fingerprint(config, _context(ctx, spec, services, run))
    reads = {k: upstream[k].fingerprint for k in sorted(planned.reads)}
    return digest(seed, _model_identities(ctx, spec, step_type, upstream, inputs), reads, extra)


def _model_identities(
    ctx: _Ctx,
    spec: StepSpec,
    step_type: StepType,
    upstream: dict[str, StepResult],
    inputs: dict[str, Any],
) -> dict[str, str]:
    """field -> identity of the model alias it names, for every `ModelAlias` field of the config."""
    import os

    from ragline.llm.identity import alias_identity

    out: dict[str, str] = {}
    for name, info in step_type.config.model_fields.items():
        if not any(isinstance(m, AliasOf) and m.section == "models" for m in info.metadata):
            continue
        alias = spec.with_.get(info.alias or name)
        if isinstance(alias, str) and "${{" in alias:
            scope = {
                "inputs": inputs,
                "steps": {k: v.output for k, v in upstream.items()},
                "env": os.environ,
            }
            alias = resolve(alias, scope)
        if isinstance(alias, str):
            out[name] = alias_identity(ctx.workflow, alias)
    return out


def _config(
    ctx: _Ctx,
    spec: StepSpec,
    step_type: StepType,
    upstream: dict[str, StepResult],
    inputs: dict[str, Any],
) -> Any:
    outputs = {k: v.output for k, v in upstream.items()}
    scope = run_scope(inputs, outputs, ctx.workflow.secret_env)
    return step_type.config.model_validate(resolve_with(spec.with_, scope, step_type.config))


def _context(ctx: _Ctx, spec: StepSpec, services: RunServices, run: RunInfo) -> StepContext:
    return StepContext(
        step_id=spec.id,
        workflow=ctx.workflow,
        workflow_dir=ctx.loaded.directory,
        run=run,
        services=services,
    )


def log_failure(logger: Any, error: StepError) -> None:
    """One log line per failure, carrying the error id the CLI and the Prefect UI show."""
    f = error.failure
    logger.error(
        "step %s failed [%s, %s, retryable=%s]: %s",
        f.step_id,
        f.category,
        f.error_id,
        f.retryable,
        f.message,
    )


class StepTimeout(TimeoutError):
    """A step's own work outlived its timeout_seconds."""


def _uses_models(workflow: Workflow, spec: StepSpec) -> bool:
    """True when the step's `with:` names one of the workflow's model aliases."""
    aliases = set(workflow.models)

    def names_one(value: Any) -> bool:
        if isinstance(value, str):
            return value in aliases
        if isinstance(value, dict):
            return any(names_one(v) for v in value.values())
        if isinstance(value, list):
            return any(names_one(v) for v in value)
        return False

    return bool(aliases) and names_one(spec.with_)


def _load_model_layer() -> None:
    """LiteLLM's import takes seconds: done before the step's clock starts, not on it."""
    from ragline.llm._litellm import litellm

    litellm()


def _retry_only_retryable(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Prefect's retry condition: a bad input is never retried, a rate limit is."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            state.result(raise_on_failure=True)
        except BaseException as raised:  # the failure we are classifying
            exc = raised
        else:
            return False
    return as_step_error(exc, task.name).retryable


def _retry_delays(spec: StepSpec, workflow: Workflow) -> float | list[float]:
    delays = (
        spec.retry_delay_seconds
        if spec.retry_delay_seconds is not None
        else workflow.defaults.retry_delay_seconds
    )
    return delays


def _make_task(ctx: _Ctx, planned: PlannedStep) -> Task[..., StepResult]:
    spec = planned.spec
    step_type = ctx.registry.get(spec.uses)
    defaults = ctx.workflow.defaults
    cache_enabled = spec.cache if spec.cache is not None else (defaults.cache and step_type.cache)
    timeout_s = defaults.timeout_seconds if spec.timeout_seconds is None else spec.timeout_seconds
    needs_models = _uses_models(ctx.workflow, spec)

    def fingerprint_of(task_inputs: dict[str, Any]) -> str:
        """The cache key: computed by Prefect's cache policy from the resolved task inputs."""
        run_id = task_inputs["run_id"]
        inputs = task_inputs["inputs"]
        upstream = {k: joined(v) for k, v in task_inputs["upstream"].items()}
        part: Part | None = task_inputs.get("part")
        if part is not None:  # a slice is keyed on its own content, not the whole list's
            config = _slice(_config(ctx, spec, step_type, upstream, inputs), step_type, part)
            return digest(
                task_inputs["seed"],
                _model_identities(ctx, spec, step_type, upstream, inputs),
                content_digest(config.model_dump(mode="json")),
            )
        return _key(
            ctx,
            planned,
            step_type,
            task_inputs["seed"],
            upstream,
            inputs,
            ctx.services(run_id),
            RunInfo(run_id, ctx.workflow.name, inputs),
        )

    def cache_key_fn(task_ctx: TaskRunContext, task_inputs: dict[str, Any]) -> str | None:
        return fingerprint_of(task_inputs)

    def run_step(
        upstream: dict[str, Any],
        inputs: dict[str, Any],
        seed: str,
        run_id: str,
        part: Part | None = None,
    ) -> StepResult:
        upstream = {k: joined(v) for k, v in upstream.items()}
        logger = get_run_logger()
        started = time.perf_counter()
        services = ctx.services(run_id)
        run = RunInfo(run_id=run_id, flow_name=ctx.workflow.name, parameters=inputs)
        step_ctx = _context(ctx, spec, services, run)
        step_ctx.logger = logger
        task_ctx = TaskRunContext.get()
        attempt = task_ctx.task_run.run_count if task_ctx else 1
        with scope(run_id, spec.id, ctx.workflow.name):
            try:
                if needs_models:
                    _load_model_layer()
                # The step's timeout covers its own work only (Prefect's timer, started here
                # rather than around the whole task): not the imports above.
                with step_clock(seconds=timeout_s, timeout_exc_type=StepTimeout):
                    config = _config(ctx, spec, step_type, upstream, inputs)
                    if part is not None:
                        config = _slice(config, step_type, part)
                    empty = part is not None and not getattr(config, str(step_type.partition))
                    if part is not None and step_type.stage is not None:  # committed after
                        output = [step_type.stage(config, step_ctx)]
                    else:
                        # A secret never leaves the step that read it (docs/security.md).
                        output = [] if empty else mask_secrets(step_type(config, step_ctx))
            except StepTimeout as exc:
                # Raised as it is: Prefect records a TimedOut state and retries by our
                # retry condition; the flow logs the located line once (_failure_of).
                elapsed = time.perf_counter() - started
                step_failed(
                    services,
                    spec.id,
                    attempt,
                    elapsed,
                    step_ctx.metrics,
                    as_step_error(exc, spec.id),
                )
                raise
            except Exception as exc:
                # Only Exception: Prefect enforces timeouts and cancellation by raising
                # BaseExceptions into this thread, and must see them as they are.
                error = as_step_error(exc, spec.id)
                log_failure(logger, error)
                elapsed = time.perf_counter() - started
                step_failed(services, spec.id, attempt, elapsed, step_ctx.metrics, error)
                if error is exc:
                    raise
                raise error from exc
            step_finished(services, spec.id, attempt, time.perf_counter() - started)
        if cache_enabled:
            fingerprint = fingerprint_of(
                {"upstream": upstream, "inputs": inputs, "seed": seed, "run_id": run_id}
                | ({"part": part} if part is not None else {})
            )
        else:
            fingerprint = digest(seed, content_digest(output))
        return StepResult(
            output, fingerprint, time.perf_counter() - started, dict(step_ctx.metrics), attempt
        )

    return Task(
        run_step,
        name=spec.id,
        task_run_name=spec.id,
        description=spec.description or step_type.summary,
        retries=spec.retries if spec.retries is not None else defaults.retries,
        retry_delay_seconds=_retry_delays(spec, ctx.workflow),
        retry_jitter_factor=spec.retry_jitter_factor
        if spec.retry_jitter_factor is not None
        else defaults.retry_jitter_factor,
        timeout_seconds=None,  # run_step times the step's own work (see step_clock)
        # Only the tags a workflow sets: Prefect asks its server for a concurrency slot
        # per tag of every task run, and a SQLite-backed server answers that request
        # with 503 "database is locked" now and then, which its client waits 2 s on
        # (2-6 s of a 9 s unchanged re-ingestion). Tags are for limits and filters
        # that someone asked for.
        tags={*defaults.tags, *spec.tags},
        cache_policy=CachePolicy.from_cache_key_fn(cache_key_fn) if cache_enabled else NO_CACHE,
        persist_result=True if cache_enabled else None,
        retry_condition_fn=_retry_only_retryable,
        log_prints=False,
    )


def _make_commit_task(ctx: _Ctx, planned: PlannedStep) -> Task[..., StepResult]:
    """The one task after a partitioned step's slices that commits what they staged."""
    spec = planned.spec
    step_type = ctx.registry.get(spec.uses)
    defaults = ctx.workflow.defaults
    assert step_type.commit is not None
    commit = step_type.commit

    def commit_step(parts: list[Any], inputs: dict[str, Any], run_id: str) -> StepResult:
        staged = joined(parts).output
        logger = get_run_logger()
        started = time.perf_counter()
        services = ctx.services(run_id)
        run = RunInfo(run_id=run_id, flow_name=ctx.workflow.name, parameters=inputs)
        step_ctx = _context(ctx, spec, services, run)
        step_ctx.logger = logger
        task_ctx = TaskRunContext.get()
        attempt = task_ctx.task_run.run_count if task_ctx else 1
        with scope(run_id, spec.id, ctx.workflow.name):
            try:
                output = commit(staged, step_ctx)
            except Exception as exc:
                error = as_step_error(exc, spec.id)
                log_failure(logger, error)
                elapsed = time.perf_counter() - started
                step_failed(services, spec.id, attempt, elapsed, step_ctx.metrics, error)
                if error is exc:
                    raise
                raise error from exc
            step_finished(services, spec.id, attempt, time.perf_counter() - started)
        metrics = dict(step_ctx.metrics) | {"partitions": len(parts)}
        return StepResult(
            output,
            digest(content_digest(output)),
            time.perf_counter() - started,
            metrics,
            attempt,
        )

    return Task(
        commit_step,
        name=f"{spec.id}.commit",
        task_run_name=f"{spec.id}.commit",
        retries=spec.retries if spec.retries is not None else defaults.retries,
        retry_delay_seconds=_retry_delays(spec, ctx.workflow),
        timeout_seconds=spec.timeout_seconds
        if spec.timeout_seconds is not None
        else defaults.timeout_seconds,
        tags={*defaults.tags, *spec.tags},
        cache_policy=NO_CACHE,
        retry_condition_fn=_retry_only_retryable,
        log_prints=False,
    )


def _slice(config: Any, step_type: StepType, part: Part) -> Any:
    """The config of one partition: its share of the step's list field."""
    field_name = str(step_type.partition)
    items = list(getattr(config, field_name))
    lo, hi = part.bounds(len(items))
    return config.model_copy(update={field_name: items[lo:hi]})


def _submit(
    ctx: _Ctx,
    task: Task[..., StepResult],
    p: PlannedStep,
    futures: dict[str, Any],
    commit: Task[..., StepResult] | None = None,
    **arguments: Any,
) -> Any:
    """Submit a step as one task, or as one task per partition of its list input.

    A step type that stages its slices (`index`) gets one more task after them,
    `commit`, whose result is the step's output.
    """
    spec = p.spec
    step_type = ctx.registry.get(spec.uses)
    workflow = ctx.workflow
    partition = partition_of(spec, step_type, workflow)
    upstream = {dep: _handover(futures[dep], workflow) for dep in sorted(p.after)}
    if partition is None:
        return task.submit(upstream=upstream, **arguments)
    length = None
    if partition.size is not None:  # how many slices depends on the list: wait for it
        resolved = {dep: futures[dep].result() for dep in sorted(p.after)}
        config = _config(ctx, spec, step_type, resolved, arguments["inputs"])
        length = len(getattr(config, str(step_type.partition)))
    count = part_count(partition, length)
    parts = PartitionedFuture(
        [
            task.with_options(task_run_name=f"{spec.id}[{i}]").submit(
                upstream=upstream, part=Part(i, count), **arguments
            )
            for i in range(count)
        ]
    )
    if commit is None:
        return parts
    return CommittedFuture(
        parts.parts,
        commit.submit(
            parts=_handover(parts, workflow),
            inputs=arguments["inputs"],
            run_id=arguments["run_id"],
        ),
    )


def _task_runner(workflow: Workflow, step_count: int) -> Any:
    """Threads by default: steps spend their time waiting on models, stores and files.

    `execution.task_runner: dask` is chosen here too (see the operations docs).
    """
    if workflow.execution.task_runner == "dask":
        from ragline.compiler.dask import dask_task_runner

        return dask_task_runner(workflow.execution)
    return ThreadPoolTaskRunner(max_workers=max(4, step_count))


def _handover(future: Any, workflow: Workflow) -> Any:
    """An upstream future as a downstream task's input, resolved but never walked.

    Prefect walks every task input looking for futures to resolve and to record
    as dependencies; inside a step's output (thousands of chunks with their
    vectors) that walk cost seconds per step. `opaque` still waits for the
    future, resolves it and records the dependency, but does not look inside.
    Dask ships its own futures through the inputs, so its runner gets them bare.
    """
    if isinstance(future, CommittedFuture):  # downstream sees the commit's result
        return _handover(future.commit, workflow)
    if isinstance(future, PartitionedFuture):  # downstream joins the slices in order
        return [_handover(part, workflow) for part in future.parts]
    if workflow.execution.task_runner == "dask":
        return future
    return opaque(future)


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
    ctx = _Ctx(loaded, registry or default_registry())
    with _CTX_BY_WORKFLOW_LOCK:  # a task unpickled in this process finds this one
        _CTX_BY_WORKFLOW[_workflow_key(loaded)] = ctx
    steps = plan(ctx.workflow)
    tasks = {p.spec.id: _make_task(ctx, p) for p in steps}
    commits = {
        p.spec.id: _make_commit_task(ctx, p)
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
        try:
            for p in steps:
                spec = p.spec
                step_type = ctx.registry.get(spec.uses)
                seed = _seed(ctx, p, step_type, inputs)
                futures[spec.id] = _submit(
                    ctx,
                    tasks[spec.id],
                    p,
                    futures,
                    commits.get(spec.id),
                    inputs=inputs,
                    seed=seed,
                    run_id=run_id,
                )
            results: dict[str, StepResult] = {}
            failure: StepError | None = None
            for sid, future in futures.items():
                future.wait()
                state = future.state
                if state.is_completed():
                    results[sid] = future.result()
                elif failure is None:
                    failure = _failure_of(sid, future)
            records = [
                _record(p, futures[p.spec.id], results.get(p.spec.id), ctx.services(run_id))
                for p in steps
            ]
            outputs: dict[str, Any] = {}
            if failure is None:
                try:
                    outputs = _outputs(workflow, results, inputs)
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
            services = ctx.services_by_run.pop(run_id, None)
            if services is not None:
                services.close()

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
        task_runner=_task_runner(workflow, len(steps)),
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


def _failure_of(step_id: str, future: Any) -> StepError:
    """The StepError of a failed task run (a timeout or crash becomes one here, and is logged)."""
    try:
        future.result()
    except Exception as exc:
        error = as_step_error(exc, step_id)
        if error is not exc:
            log_failure(get_run_logger(), error)
        return error
    return StepError(
        f"the step ended in state {future.state.name}: {future.state.message}",
        category=ErrorCategory.INFRASTRUCTURE,
        step_id=step_id,
    )


def _record(
    p: PlannedStep, future: Any, result: StepResult | None, services: RunServices
) -> StepRecord:
    from ragline.llm.usage import with_earlier_attempts

    state = future.state
    cached = state.name == "Cached"
    facts = step_facts(services, p.spec.id)
    if result is not None:
        metrics = with_earlier_attempts(result.metrics, facts.failed_usage, p.spec.id)
    else:
        earlier = facts.failed_usage[: -len(facts.failed_metrics.get("model_usage", [])) or None]
        metrics = with_earlier_attempts(facts.failed_metrics, earlier, p.spec.id)
    return StepRecord(
        step_id=p.spec.id,
        uses=p.spec.uses,
        state=state.name,
        duration_s=None if cached or result is None else result.duration_s,
        cached=cached,
        # A step that ran on another process recorded its facts there; its result says.
        retries=max(0, (result.attempt if result and not cached else facts.attempts) - 1),
        metrics=metrics,
    )


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
    from ragline.spec.validate import load_workflow

    return compile_workflow(load_workflow(path, registry), registry)
