"""What `ragline deploy` and `ragline serve` share: load every workflow, plan every
deployment, and only then touch the server, so a bad file deploys nothing."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ragline.errors import RaglineError, WorkflowError
from ragline.ops.deployments import DeploymentPlan, plan_deployment
from ragline.ops.schedules import describe


class PlanningFailed(RaglineError):
    """Some workflow could not be planned; its problems were already printed."""


def plan_all(
    paths: Sequence[str], *, name: str, work_pool: str | None, debug: bool = False
) -> list[DeploymentPlan]:
    """Every workflow validated and planned, or PlanningFailed after printing each problem."""
    from ragline.validation.workflow import load_workflow

    plans: list[DeploymentPlan] = []
    failed = False
    for path in paths:
        try:
            plans.append(plan_deployment(load_workflow(path), name=name, work_pool=work_pool))
        except WorkflowError as err:
            if debug:
                raise
            failed = True
            print(err.render(), file=sys.stderr)
    if failed:
        raise PlanningFailed("nothing was deployed: fix the workflow files above")
    names = [p.full_name for p in plans]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise PlanningFailed(
            f"two files deploy the same workflow name as {', '.join(duplicates)}; "
            "nothing was deployed (rename one workflow or deploy them with different --name)"
        )
    return plans


def schedule_summary(plan: DeploymentPlan) -> str:
    schedules = plan.loaded.workflow.schedules
    if not schedules:
        return "no schedule (runs start from the UI, the API or `prefect deployment run`)"
    return "; ".join(describe(s) for s in schedules)


def server_error(url: str, err: Exception) -> RaglineError:
    """A failure while talking to the server, said in terms of what was (not) changed."""
    from ragline.errors import ConfigError

    return ConfigError(
        f"the Prefect API at {url} failed while deploying ({type(err).__name__}: {err}); "
        "deployments listed above were applied, the others were not",
        hint="re-run the same command once the server answers: unchanged ones are skipped",
    )
