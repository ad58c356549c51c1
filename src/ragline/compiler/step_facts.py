"""Per-step facts the compiler records while a run goes: attempts, duration, failures.

Prefect knows a task run's attempt number but not ragline's metrics of a
failed attempt (an evaluation whose gate failed still computed its scores);
both are kept in the run's services so the summary and artifacts can show them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.monitoring.events import emit

if TYPE_CHECKING:
    from ragline.errors import StepError
    from ragline.sdk.context import RunServices

_KEY = "ragline.compiler.step_facts"


@dataclass
class StepFacts:
    attempts: int = 0
    failed_metrics: dict[str, Any] = field(default_factory=dict)
    # Model usage of every failed attempt: the calls were made (and billed) all the same.
    failed_usage: list[dict[str, Any]] = field(default_factory=list)


def _facts(services: RunServices, step_id: str) -> StepFacts:
    table: dict[str, StepFacts] = services.get_or_create(_KEY, dict)
    return table.setdefault(step_id, StepFacts())


def step_finished(services: RunServices, step_id: str, attempt: int, duration_s: float) -> None:
    _facts(services, step_id).attempts = attempt
    emit(
        "step.finished",
        f"step {step_id} finished in {duration_s:.3f}s (attempt {attempt})",
        step_id=step_id,
        duration_s=round(duration_s, 4),
        attempt=attempt,
        retries=attempt - 1,
        cached=False,
    )


def step_failed(
    services: RunServices,
    step_id: str,
    attempt: int,
    duration_s: float,
    metrics: dict[str, Any],
    error: StepError,
) -> None:
    facts = _facts(services, step_id)
    facts.attempts = attempt
    facts.failed_metrics = dict(metrics)
    facts.failed_usage.extend(metrics.get("model_usage", []))
    f = error.failure
    emit(
        "step.failed",
        f"step {step_id} failed on attempt {attempt}: {f.message}",
        step_id=step_id,
        duration_s=round(duration_s, 4),
        attempt=attempt,
        error_id=f.error_id,
        category=str(f.category),
        retryable=f.retryable,
    )


def step_facts(services: RunServices, step_id: str) -> StepFacts:
    return _facts(services, step_id)
