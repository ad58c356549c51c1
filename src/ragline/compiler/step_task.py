"""A step as a Prefect task: options straight from the YAML, failures classified once.

Step options go straight to Prefect (retries, delays with jitter, tags, cache
policy); we add only what Prefect cannot know: which failures are worth
retrying, a step clock that times the step's own work, and the key that says
when a step's result is reusable. A partitioned step that stages its slices
(`index`) gets a second task, its commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prefect import Task, get_run_logger
from prefect.cache_policies import NO_CACHE, CachePolicy
from prefect.client.schemas.objects import State
from prefect.context import TaskRunContext
from prefect.utilities.timeout import timeout as step_clock

from ragline.compiler.cache_keys import slice_key, step_key
from ragline.compiler.fingerprint import content_digest, digest
from ragline.compiler.partitions import Part, joined, slice_config
from ragline.compiler.plan import PlannedStep
from ragline.compiler.records import StepResult
from ragline.compiler.run_context import RunContext
from ragline.compiler.step_facts import step_failed, step_finished
from ragline.errors import StepError
from ragline.errors.classify import as_step_error
from ragline.llm.redact import mask_secrets
from ragline.monitoring.events import scope
from ragline.sdk.context import StepContext
from ragline.spec.model import StepSpec, Workflow


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


def _retry_options(spec: StepSpec, workflow: Workflow) -> dict[str, Any]:
    defaults = workflow.defaults
    return {
        "retries": spec.retries if spec.retries is not None else defaults.retries,
        "retry_delay_seconds": spec.retry_delay_seconds
        if spec.retry_delay_seconds is not None
        else defaults.retry_delay_seconds,
        "retry_condition_fn": _retry_only_retryable,
    }


@dataclass
class _Attempt:
    """One attempt of a step task in progress: its context, clock and attempt number."""

    step_ctx: StepContext
    started: float
    attempt: int

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


@contextmanager
def _attempt(
    ctx: RunContext, spec: StepSpec, run_id: str, inputs: dict[str, Any]
) -> Iterator[_Attempt]:
    """Runs a step's work and records its outcome; anything it raises leaves as a StepError.

    Only Exception is turned into a StepError: Prefect enforces timeouts and
    cancellation by raising BaseExceptions into this thread, and must see them as
    they are. A StepTimeout is raised as it is too: Prefect records a TimedOut
    state and retries by our retry condition; the flow logs the located line once.
    """
    step_ctx = ctx.step_context(spec, run_id, inputs)
    logger = step_ctx.logger = get_run_logger()
    task_ctx = TaskRunContext.get()
    current = _Attempt(
        step_ctx, time.perf_counter(), task_ctx.task_run.run_count if task_ctx else 1
    )
    services = step_ctx.services
    with scope(run_id, spec.id, ctx.workflow.name):
        try:
            yield current
        except StepTimeout as exc:
            error = as_step_error(exc, spec.id)
            step_failed(
                services, spec.id, current.attempt, current.elapsed, step_ctx.metrics, error
            )
            raise
        except Exception as exc:
            error = as_step_error(exc, spec.id)
            log_failure(logger, error)
            step_failed(
                services, spec.id, current.attempt, current.elapsed, step_ctx.metrics, error
            )
            if error is exc:
                raise
            raise error from exc
        step_finished(services, spec.id, current.attempt, current.elapsed)


def make_step_task(ctx: RunContext, planned: PlannedStep) -> Task[..., StepResult]:
    spec = planned.spec
    step_type = ctx.registry.get(spec.uses)
    defaults = ctx.workflow.defaults
    cache_enabled = spec.cache if spec.cache is not None else (defaults.cache and step_type.cache)
    timeout_s = defaults.timeout_seconds if spec.timeout_seconds is None else spec.timeout_seconds
    needs_models = _uses_models(ctx.workflow, spec)

    def fingerprint_of(task_inputs: dict[str, Any]) -> str:
        """The cache key: computed by Prefect's cache policy from the resolved task inputs."""
        inputs = task_inputs["inputs"]
        upstream = {k: joined(v) for k, v in task_inputs["upstream"].items()}
        part: Part | None = task_inputs.get("part")
        if part is not None:
            return slice_key(ctx, planned, step_type, task_inputs["seed"], upstream, inputs, part)
        return step_key(
            ctx, planned, step_type, task_inputs["seed"], upstream, inputs, task_inputs["run_id"]
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
        with _attempt(ctx, spec, run_id, inputs) as current:
            if needs_models:
                _load_model_layer()
            # The step's timeout covers its own work only (Prefect's timer, started here
            # rather than around the whole task): not the imports above.
            with step_clock(seconds=timeout_s, timeout_exc_type=StepTimeout):
                config = ctx.step_config(spec, step_type, upstream, inputs)
                if part is not None:
                    config = slice_config(config, step_type, part)
                empty = part is not None and not getattr(config, str(step_type.partition))
                if part is not None and step_type.stage is not None:  # committed after
                    output = [step_type.stage(config, current.step_ctx)]
                else:
                    # A secret never leaves the step that read it (docs/security.md).
                    output = [] if empty else mask_secrets(step_type(config, current.step_ctx))
        if cache_enabled:
            fingerprint = fingerprint_of(
                {"upstream": upstream, "inputs": inputs, "seed": seed, "run_id": run_id}
                | ({"part": part} if part is not None else {})
            )
        else:
            fingerprint = digest(seed, content_digest(output))
        return StepResult(
            output, fingerprint, current.elapsed, dict(current.step_ctx.metrics), current.attempt
        )

    return Task(
        run_step,
        name=spec.id,
        task_run_name=spec.id,
        description=spec.description or step_type.summary,
        **_retry_options(spec, ctx.workflow),
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
        log_prints=False,
    )


def make_commit_task(ctx: RunContext, planned: PlannedStep) -> Task[..., StepResult]:
    """The one task after a partitioned step's slices that commits what they staged."""
    spec = planned.spec
    defaults = ctx.workflow.defaults
    commit: Callable[[list[Any], StepContext], Any] | None = ctx.registry.get(spec.uses).commit
    assert commit is not None

    def commit_step(parts: list[Any], inputs: dict[str, Any], run_id: str) -> StepResult:
        staged = joined(parts).output
        with _attempt(ctx, spec, run_id, inputs) as current:
            output = commit(staged, current.step_ctx)
        metrics = dict(current.step_ctx.metrics) | {"partitions": len(parts)}
        return StepResult(
            output, digest(content_digest(output)), current.elapsed, metrics, current.attempt
        )

    return Task(
        commit_step,
        name=f"{spec.id}.commit",
        task_run_name=f"{spec.id}.commit",
        **_retry_options(spec, ctx.workflow),
        timeout_seconds=spec.timeout_seconds
        if spec.timeout_seconds is not None
        else defaults.timeout_seconds,
        tags={*defaults.tags, *spec.tags},
        cache_policy=NO_CACHE,
        log_prints=False,
    )
