"""`schedule:` -> Prefect deployment schedules (cron + timezone, interval, rrule).

The spec checks the shape (exactly one kind, parameters that are inputs) and,
without importing Prefect, whether a cron expression, an rrule or a timezone
means anything (`ragline.spec.schedules`, with Prefect's own croniter), so
`ragline validate` finds them. Prefect still has the last word here: each
error it raises is reported at the key it names.
"""

from __future__ import annotations

import datetime
from typing import Any

from ragline.errors import Diagnostic, WorkflowError
from ragline.spec.loader import JsonPath
from ragline.spec.model import Schedule
from ragline.spec.schedules import schedule_problems
from ragline.validation.workflow import LoadedWorkflow


def _kind(schedule: Schedule) -> str:
    return next(k for k in ("cron", "interval", "rrule") if getattr(schedule, k) is not None)


def _prefect_schedule(schedule: Schedule) -> Any:
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule

    if schedule.cron is not None:
        return CronSchedule(cron=schedule.cron, timezone=schedule.timezone or "UTC")
    if schedule.interval is not None:
        # A fixed anchor keeps the run times (and the deployment's hash) stable across deploys.
        anchor = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
        return IntervalSchedule(
            interval=datetime.timedelta(seconds=schedule.interval),
            anchor_date=anchor,
            timezone=schedule.timezone or "UTC",
        )
    return RRuleSchedule(rrule=str(schedule.rrule), timezone=schedule.timezone or "UTC")


def _reasons(err: Exception, kind: str) -> list[tuple[str, str]]:
    """(key, message) per error Prefect raised: each at its own key, else at the kind's."""
    errors = getattr(err, "errors", None)
    if not callable(errors):
        return [(kind, str(err))]
    out = []
    for e in errors():
        loc = e.get("loc") or ()
        key = str(loc[0]) if loc and loc[0] in ("cron", "interval", "rrule", "timezone") else kind
        out.append((key, str(e.get("msg", "")).removeprefix("Value error, ") or str(err)))
    return out or [(kind, str(err))]


def schedule_path(loaded: LoadedWorkflow, index: int, key: str | None = None) -> JsonPath:
    base: JsonPath = (
        ("schedule", index) if isinstance(loaded.workflow.schedule, list) else ("schedule",)
    )
    return (*base, key) if key else base


def deployment_schedules(loaded: LoadedWorkflow) -> list[Any]:
    """Prefect `DeploymentScheduleCreate`s, one per schedule; WorkflowError for bad values."""
    from prefect.client.schemas.actions import DeploymentScheduleCreate

    out: list[Any] = []
    problems: list[Diagnostic] = []
    for i, schedule in enumerate(loaded.workflow.schedules):
        kind = _kind(schedule)
        light = schedule_problems(schedule.model_dump())
        problems += [
            loaded.source.diagnostic(schedule_path(loaded, i, key), message)
            for key, message in light
        ]
        if light:
            continue
        try:
            prefect_schedule = _prefect_schedule(schedule)
        except (ValueError, TypeError) as err:
            problems += [
                loaded.source.diagnostic(
                    schedule_path(loaded, i, key), f"Prefect does not accept this {key}: {reason}"
                )
                for key, reason in _reasons(err, kind)
            ]
            continue
        out.append(
            DeploymentScheduleCreate(
                schedule=prefect_schedule,
                active=schedule.active,
                parameters=dict(schedule.parameters),
                slug=f"{kind}-{i}",
            )
        )
    if problems:
        raise WorkflowError(problems)
    return out


def describe(schedule: Schedule) -> str:
    """One line per schedule for the CLI: `cron 0 6 * * * (Europe/Paris)`."""
    kind = _kind(schedule)
    value = getattr(schedule, kind)
    text = f"every {value:g} s" if kind == "interval" else f"{kind} {value}"
    if schedule.timezone:
        text += f" ({schedule.timezone})"
    if schedule.parameters:
        text += f" with {schedule.parameters}"
    if not schedule.active:
        text += " [inactive]"
    return text
